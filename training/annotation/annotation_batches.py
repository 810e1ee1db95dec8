"""Annotation batches for annotators, and the checker they run on their sheets before handing them in.

    python -m training.annotation.annotation_batches make CHOSEN.json --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz \
        --out-dir outputs/annot/round2 --batches 8 --entities 12
    python -m training.annotation.annotation_batches check outputs/annot/round2/batch_1.jsonl outputs/annot/round2/sheet_1.jsonl

A batch line is {"id", "title", "tag_entities", "sentences": [{"i", "text"}]} with the sentences of
`nlp.preprocess.split_sentences`; batches hold corpus text, so they stay in git-ignored folders. A sheet
is what `training.annotation.import_annotations` reads (see data/annotations/GUIDELINES.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nlp.articles import iter_json_lines
from nlp.data import iter_corpus
from nlp.labels import ENTITY_LABELS, EVENT_TYPES
from nlp.preprocess import split_sentences
from training.annotation.import_annotations import locate_entities


def make_batches(chosen: list[str], corpus: str, out_dir: Path, n_batches: int, entities: int) -> list[Path]:
    """Write the chosen articles as `n_batches` batch files; the first `entities` of each get entity tagging."""
    wanted = set(chosen)
    docs = {doc["id"]: doc for doc in iter_corpus(corpus) if doc["id"] in wanted}
    missing = sorted(wanted - set(docs))
    if missing:
        raise ValueError(f"ids not found in {corpus}: {missing[:5]}")
    if n_batches < 1:
        raise ValueError(f"n_batches must be at least 1, got {n_batches}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in range(n_batches):
        path = out_dir / f"batch_{b + 1}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for k, doc_id in enumerate(chosen[b::n_batches]):
                text = docs[doc_id]["text"]
                line = {
                    "id": doc_id,
                    "title": docs[doc_id].get("title", ""),
                    "tag_entities": k < entities,
                    "sentences": [{"i": i, "text": text[a:e]} for i, (a, e) in enumerate(split_sentences(text))],
                }
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


def check_sheet(batch_path: str, sheet_path: str) -> list[str]:
    """Problems of a sheet against its batch (empty when the sheet can be imported)."""
    batch = [record for _, record in iter_json_lines(batch_path)]
    try:
        sheet = [record for _, record in iter_json_lines(sheet_path)]
    except ValueError as err:
        return [str(err)]
    if [r.get("id") if isinstance(r, dict) else None for r in sheet] != [r["id"] for r in batch]:
        return [f"the sheet must list the batch's {len(batch)} article ids in the same order, one object per line"]
    problems = []
    for article, record in zip(batch, sheet):
        where = f"{sheet_path}: article {article['id']}"
        sentences, mentions = record.get("sentences", []), record.get("entities", [])
        if not isinstance(sentences, list) or not isinstance(mentions, list) or not all(isinstance(x, dict) for x in sentences + mentions):
            problems.append(f"{where}: sentences and entities must be lists of objects")
            continue
        indices = [s.get("i") for s in sentences]
        if indices != list(range(len(article["sentences"]))):
            problems.append(f"{where}: sentences must be i = 0..{len(article['sentences']) - 1} in order, got {indices}")
            continue
        for s in record["sentences"]:
            events = s.get("events")
            if not isinstance(events, list) or any(e not in EVENT_TYPES for e in events):
                problems.append(f"{where}, sentence {s['i']}: events must be a list of PLOVER types, got {events!r}")
        if article["tag_entities"] != ("entities" in record):
            problems.append(f"{where}: " + ("entities are required" if article["tag_entities"] else "no entities for this article"))
            continue
        bad = [m for m in mentions if m.get("label") not in ENTITY_LABELS or not isinstance(m.get("i"), int)
               or not 0 <= m["i"] < len(indices) or not isinstance(m.get("text"), str) or not m["text"].strip()]
        if bad:
            problems.append(f"{where}: bad entity entries {bad[:3]}")
            continue
        text = " ".join(s["text"] for s in article["sentences"])  # offsets only matter within a sentence here
        spans, start = [], 0
        for s in article["sentences"]:
            spans.append((start, start + len(s["text"])))
            start += len(s["text"]) + 1
        try:
            locate_entities(text, spans, sorted(mentions, key=lambda m: m["i"]), where)
        except ValueError as err:
            problems.append(str(err))
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write batch files from a select_articles output")
    make.add_argument("chosen", help="JSON list of [id, reason] pairs (training.annotation.select_articles)")
    make.add_argument("--corpus", required=True)
    make.add_argument("--out-dir", required=True)
    make.add_argument("--batches", type=int, default=8)
    make.add_argument("--entities", type=int, default=0, help="articles per batch (the first ones) that get entity tagging")
    check = sub.add_parser("check", help="check a sheet against its batch")
    check.add_argument("batch")
    check.add_argument("sheet")
    args = parser.parse_args(argv)
    if args.command == "make":
        chosen = [doc_id for doc_id, _ in json.loads(Path(args.chosen).read_text(encoding="utf-8"))]
        for path in make_batches(chosen, args.corpus, Path(args.out_dir), args.batches, args.entities):
            print(path)
        return
    problems = check_sheet(args.batch, args.sheet)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
