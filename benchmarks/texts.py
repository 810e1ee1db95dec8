"""The texts every speed benchmark runs on: the seed articles (or the example article), repeated."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def benchmark_articles(seeds: str | Path, min_sentences: int) -> tuple[list[str], list[str], int]:
    """(articles, documents, sentences per copy of the articles): the .txt files of `seeds` (else
    data/examples/article.txt), and the articles repeated until they hold at least `min_sentences` sentences."""
    from nlp.preprocess import split_sentences

    files = sorted(Path(seeds).glob("*.txt")) if Path(seeds).is_dir() else []
    articles = [p.read_bytes().decode("utf-8") for p in files] or [(REPO / "data" / "examples" / "article.txt").read_text(encoding="utf-8")]
    per_round = sum(len(split_sentences(a)) for a in articles)
    return articles, articles * -(-min_sentences // per_round), per_round
