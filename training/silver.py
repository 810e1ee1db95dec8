"""Silver event labels from the trigger lexicon: measure it on gold, then label a corpus (standoff).

    python -m training.silver --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz \
        --gold data/annotations/snn_dev.jsonl --output outputs/silver/snn_silver.jsonl

Prints the lexicon's precision/recall/F1 per type on the gold articles. Corpus documents that
have gold annotations (any split, found in data/annotations) are skipped, so no test article
ever gets silver labels.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from tqdm.auto import tqdm

from nlp.articles import iter_json_lines
from nlp.data import iter_corpus, read_standoff
from nlp.evaluation import format_report
from nlp.labels import EVENT_TYPES
from nlp.lexicon import Lexicon
from nlp.metrics import event_scores
from nlp.preprocess import split_sentences

REPO = Path(__file__).resolve().parent.parent


def lexicon_report(lexicon: Lexicon, articles) -> dict:
    """Event scores of the lexicon alone on gold articles (their sentence spans)."""
    gold, predicted = [], []
    for article in articles:
        for s in article.sentences or []:
            gold.append(set(s.events))
            predicted.append(set(lexicon.events(article.text[s.start : s.end])))
    return {"events": event_scores(gold, predicted, EVENT_TYPES), "n_documents": len(articles), "n_sentences": len(gold)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lexicon", default=str(REPO / "data" / "lexicon" / "plover_ar.yaml"))
    parser.add_argument("--corpus", required=True, help="corpus JSONL(.gz) with id and text")
    parser.add_argument("--gold", nargs="*", default=[], help="standoff gold files to score the lexicon on")
    parser.add_argument("--output", default=None, help="write silver standoff labels here")
    parser.add_argument("--exclude", nargs="*", default=None, help="standoff files whose documents get no silver labels (default: data/annotations/*.jsonl)")
    parser.add_argument("--json", action="store_true", help="print the gold report as JSON")
    parser.add_argument("--max-documents", type=int, default=0, help="label a seeded random sample of this many documents (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lexicon = Lexicon.from_yaml(args.lexicon)
    for gold in args.gold:
        report = lexicon_report(lexicon, read_standoff(gold, args.corpus))
        print(f"lexicon on {gold}")
        print(json.dumps(report, indent=2) if args.json else format_report(report))
    if args.output:
        excluded_files = args.exclude if args.exclude is not None else sorted(str(p) for p in (REPO / "data" / "annotations").glob("*.jsonl"))
        excluded = set()
        for path in excluded_files:
            excluded.update(record["id"] for _, record in iter_json_lines(path))
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        n_docs = n_sentences = n_positive = 0
        chosen = None
        if args.max_documents:
            ids = [d["id"] for d in iter_corpus(args.corpus) if d["id"] not in excluded and d["text"].strip()]
            chosen = set(random.Random(args.seed).sample(ids, min(args.max_documents, len(ids))))
        with open(out, "w", encoding="utf-8") as handle:
            for doc in tqdm(iter_corpus(args.corpus), desc="silver", unit="doc"):
                if doc["id"] in excluded or not doc["text"].strip() or (chosen is not None and doc["id"] not in chosen):
                    continue
                sentences = [
                    {"start": a, "end": b, "events": lexicon.events(doc["text"][a:b])} for a, b in split_sentences(doc["text"])
                ]
                n_docs += 1
                n_sentences += len(sentences)
                n_positive += sum(1 for s in sentences if s["events"])
                handle.write(json.dumps({"id": doc["id"], "source": "silver:lexicon", "sentences": sentences}) + "\n")
        print(f"wrote {out}: {n_docs} documents, {n_sentences} sentences, {n_positive} with a silver event")


if __name__ == "__main__":
    main()
