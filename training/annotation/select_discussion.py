"""Sentences of writing that discusses events (opinion, analysis, interviews) for annotation, and their import.

    python -m training.annotation.select_discussion select ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz outputs/discussion \
        --sentences 1700 --per-article 3 --seed 2026 --exclude data/annotations/*.jsonl data/annotations/agreement/*.jsonl
    python -m training.annotation.select_discussion import outputs/discussion --sheets outputs/discussion/sheet_*.jsonl \
        --prefix data/annotations/discussion
    python -m training.annotation.select_discussion second-pass outputs/discussion --share 0.10      # a blind batch for a second annotator
    python -m training.annotation.select_discussion second-pass outputs/discussion --sheets SHEET --output data/annotations/agreement/discussion_second_pass.jsonl

Non-news articles are recognised by their section in the URL (opinion columns, readers' discussion pages) or an
interview/analysis title; sentences are chosen because the trigger lexicon finds event words in them, so the model
learns what event vocabulary looks like when no event is reported. A fifth of the articles (by a hash of the id)
is held aside for evaluation; the rest trains. The import writes standoff files with only the chosen sentences.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from nlp.articles import iter_json_lines
from nlp.lexicon import Lexicon
from nlp.preprocess import split_sentences
from training.annotation.sentence_sheets import blind_item, read_sheets, standoff_records, write_jsonl

# URL sections and title cues of SaudiNewsNet articles that are not news reports.
NON_NEWS_URL = re.compile(
    r"alwatan\.com\.sa/(?:Articles|Discussion)/|al-jazirah\.com/\d+/\d+/(?:ar|rj)\d|3alyoum\.com/opinion/"
)
NON_NEWS_TITLE = re.compile(r"حوار|في\s+حديث|تحليل|قراءة\s+في|رأي|مقال")
# Conflict vocabulary weighs more: the hardest false events are ASSAULT and PROTEST in columns about wars and uprisings.
PREFERRED = {"ASSAULT", "PROTEST", "COERCE", "THREATEN", "MOBILIZE", "ACCUSE"}
# Words of uprisings and wars that the trigger lexicon does not list as triggers (they name events, they are not acts).
WAR_AND_UPRISING = re.compile(r"ثور[ةاتي]|الربيع\s+العربي|انتفاض|احتجاج|مظاهر[ةا]|تظاهر|اعتصام|[إا]ضراب|الحرب|حروب|غزو|احتلال|[إا]رهاب")


def is_non_news(record: dict[str, Any]) -> bool:
    """True for opinion columns, discussion pages, interviews and analyses."""
    return bool(NON_NEWS_URL.search(record.get("url") or "") or NON_NEWS_TITLE.search(record.get("title") or ""))


def held_aside(doc_id: str) -> bool:
    """The fixed fifth of articles kept for evaluation (SHA-1 of the id)."""
    return int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF < 0.20


def select(corpus: str, lexicon: Lexicon, n_sentences: int, per_article: int, exclude: set[str], seed: int) -> list[dict[str, Any]]:
    """Up to `per_article` event-word sentences from each non-news article, `n_sentences` in all (seeded)."""
    rng = random.Random(seed)
    pool = []
    for _, record in iter_json_lines(corpus):
        doc_id = str(record.get("id"))
        if doc_id in exclude or not is_non_news(record):
            continue
        text = record["text"]
        spans = split_sentences(text)
        found = []
        for i, (a, b) in enumerate(spans):
            if not 25 <= b - a <= 600:
                continue
            types = lexicon.events(text[a:b])
            war = bool(WAR_AND_UPRISING.search(text[a:b]))
            if types or war:
                found.append((3.0 if war or "PROTEST" in types else 2.0 if PREFERRED & set(types) else 1.0, i, a, b, types))
        rng.shuffle(found)
        found.sort(key=lambda f: -f[0])
        for weight, i, a, b, types in sorted(found[:per_article], key=lambda f: f[1]):
            pool.append({
                "key": f"{doc_id}#{a}", "id": doc_id, "start": a, "end": b, "title": record.get("title") or "",
                "before": text[spans[i - 1][0]:spans[i - 1][1]] if i else "", "text": text[a:b],
                "after": text[spans[i + 1][0]:spans[i + 1][1]] if i + 1 < len(spans) else "",
                "lexicon": types, "held_aside": held_aside(doc_id), "source": f"SaudiNewsNet/{record.get('source', '').split('/')[-1]}",
            })
    rng.shuffle(pool)
    return pool[:n_sentences]


def import_sheets(out_dir: Path, sheets: Sequence[str], prefix: str) -> dict[str, int]:
    """Standoff files PREFIX_train.jsonl and PREFIX_heldout.jsonl (only the chosen sentences) from the sheets."""
    chosen = _read_chosen(out_dir)
    verdicts = _chosen_verdicts(chosen, sheets)
    missing = sorted(set(chosen) - set(verdicts))
    if missing:
        raise ValueError(f"{len(missing)} chosen sentences have no verdict, e.g. {missing[:3]}")
    records = standoff_records(
        (r["id"], r["source"], {"start": r["start"], "end": r["end"], "events": verdicts[key]}) for key, r in chosen.items()
    )
    parts = {"train": [r for r in records if not held_aside(r["id"])], "heldout": [r for r in records if held_aside(r["id"])]}
    for part, rows in parts.items():
        write_jsonl(f"{prefix}_{part}.jsonl", rows)
    return {part: sum(len(r["sentences"]) for r in rows) for part, rows in parts.items()}


def _read_chosen(out_dir: Path) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in map(json.loads, open(out_dir / "chosen.jsonl", encoding="utf-8"))}


def _chosen_verdicts(chosen: dict[str, dict[str, Any]], sheets: Sequence[str]) -> dict[str, list[str]]:
    """The sheets' verdicts; every key must be a chosen sentence."""
    verdicts = read_sheets(sheets)
    unknown = sorted(set(verdicts) - set(chosen))
    if unknown:
        raise ValueError(f"{len(unknown)} sheet keys are not chosen sentences, e.g. {unknown[:3]}")
    return verdicts


def second_pass_batch(out_dir: Path, share: float, seed: int) -> int:
    """A fresh random share of the chosen sentences, blind, for an independent second annotator."""
    chosen = [json.loads(line) for line in open(out_dir / "chosen.jsonl", encoding="utf-8")]
    sample = random.Random(seed).sample(chosen, round(share * len(chosen)))
    write_jsonl(out_dir / "second_pass_batch.jsonl", (blind_item(r, r["key"]) for r in sample))
    return len(sample)


def write_second_pass(out_dir: Path, sheets: Sequence[str], path: Path) -> int:
    """The second annotator's sheet as a standoff file for `training.annotation.agreement` (sentences matched by id and offsets)."""
    chosen = _read_chosen(out_dir)
    verdicts = _chosen_verdicts(chosen, sheets)
    write_jsonl(path, standoff_records(
        (chosen[key]["id"], "second pass", {"start": chosen[key]["start"], "end": chosen[key]["end"], "events": events})
        for key, events in verdicts.items()
    ))
    return len(verdicts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.annotation.select_discussion", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("select", help="choose the sentences and write annotation batches")
    s.add_argument("corpus")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--lexicon", default="data/lexicon/plover_ar.yaml")
    s.add_argument("--sentences", type=int, default=1700)
    s.add_argument("--per-article", type=int, default=3)
    s.add_argument("--batches", type=int, default=4)
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--exclude", nargs="*", default=[], help="annotation files whose articles are skipped")
    i = sub.add_parser("import", help="write the standoff files from the annotators' sheets")
    i.add_argument("out_dir", type=Path)
    i.add_argument("--sheets", nargs="+", required=True)
    i.add_argument("--prefix", default="data/annotations/discussion")
    q = sub.add_parser("second-pass", help="a random share of the chosen sentences for a second annotator")
    q.add_argument("out_dir", type=Path)
    q.add_argument("--share", type=float, default=0.10)
    q.add_argument("--seed", type=int, default=2027)
    q.add_argument("--sheets", nargs="*", default=[], help="with --output: write the second pass's sheets as a standoff file")
    q.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "second-pass" and args.output is not None:
            print(f"{write_second_pass(args.out_dir, args.sheets, args.output)} sentences -> {args.output}")
            return 0
        if args.command == "second-pass":
            print(f"{second_pass_batch(args.out_dir, args.share, args.seed)} sentences -> {args.out_dir / 'second_pass_batch.jsonl'}")
            return 0
        if args.command == "select":
            exclude = {str(r.get("id")) for path in args.exclude for _, r in iter_json_lines(path)}
            chosen = select(args.corpus, Lexicon.from_yaml(args.lexicon), args.sentences, args.per_article, exclude, args.seed)
            args.out_dir.mkdir(parents=True, exist_ok=True)
            write_jsonl(args.out_dir / "chosen.jsonl", chosen)
            blind = [blind_item(r, r["key"]) for r in chosen]
            for b in range(args.batches):
                write_jsonl(args.out_dir / f"batch_{b + 1}.jsonl", blind[b :: args.batches])
            aside = sum(r["held_aside"] for r in chosen)
            print(f"{len(chosen)} sentences from {len({r['id'] for r in chosen})} articles ({aside} held aside) in {args.batches} batches")
        else:
            print(json.dumps(import_sheets(args.out_dir, args.sheets, args.prefix)))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
