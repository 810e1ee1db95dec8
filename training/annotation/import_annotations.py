"""Turn annotation sheets (sentence-indexed labels written by annotators) into standoff article records.

    python -m training.annotation.import_annotations --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz \
        --sheets /path/to/sheets/*.jsonl --output-dir data/annotations --prefix snn

A sheet line is {"id", "sentences": [{"i", "events"}], "entities": [{"i", "text", "label"}]?}, where
`i` indexes the sentences that `nlp.preprocess.split_sentences` finds in the corpus text and entity
mentions are listed in order of appearance. Output records hold ids and offsets only (no corpus
text), split by article into train/dev/test with a fixed hash of the id.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from nlp.articles import Article, iter_json_lines
from nlp.data import iter_corpus
from nlp.preprocess import split_sentences, split_words

SPLITS = (("test", 0.2), ("dev", 0.15), ("train", 0.65))


def split_of(doc_id: str) -> str:
    """Fixed split of an article, from the SHA-1 of its id (stable across runs and machines)."""
    x = int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for name, share in SPLITS:
        edge += share
        if x < edge:
            return name
    return SPLITS[-1][0]


def locate_entities(text: str, spans: list[tuple[int, int]], mentions: list[dict], where: str) -> list[dict]:
    """Offsets of entity mentions given as (sentence index, surface text), in order within each sentence."""
    out = []
    cursor: dict[int, int] = {}
    for m in mentions:
        i, surface = m["i"], m["text"]
        start, end = spans[i]
        words = [(a + start, b + start) for a, b in split_words(text[start:end])]
        found = None
        for k, (a, _) in enumerate(words):
            if a < cursor.get(i, start) or not text.startswith(surface, a):
                continue
            stop = a + len(surface)
            if any(b == stop for _, b in words[k:]) or (stop < len(text) and not text[stop].isalnum()):
                found = (a, stop)
                break
        if found is None:
            raise ValueError(f"{where}: entity {surface!r} not found in sentence {i} after offset {cursor.get(i, start)}")
        cursor[i] = found[1]
        out.append({"start": found[0], "end": found[1], "label": m["label"]})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--sheets", nargs="+", required=True)
    parser.add_argument("--output-dir", default="data/annotations")
    parser.add_argument("--prefix", default="snn")
    parser.add_argument("--source", default="SaudiNewsNet", help="the records' source field")
    parser.add_argument(
        "--train-only", action="store_true",
        help="write every record to PREFIX_train.jsonl (sources that supplement training only, e.g. ANERcorp sentences)",
    )
    args = parser.parse_args(argv)
    sheets = {}
    for path in args.sheets:
        for where, record in iter_json_lines(path):
            sheets[record["id"]] = (record, where.rstrip(": "))
    records = {}
    for doc in iter_corpus(args.corpus):
        if doc["id"] not in sheets:
            continue
        sheet, where = sheets[doc["id"]]
        text = doc["text"]
        spans = split_sentences(text)
        labels = {s["i"]: s["events"] for s in sheet["sentences"]}
        if sorted(labels) != list(range(len(spans))):
            raise ValueError(f"{where}: sheet has {len(labels)} sentences, the text has {len(spans)}")
        record = {
            "id": doc["id"],
            "source": args.source,
            "sentences": [{"start": a, "end": b, "events": sorted(set(labels[i]))} for i, (a, b) in enumerate(spans)],
        }
        if "entities" in sheet:
            record["entities"] = locate_entities(text, spans, sheet["entities"], where)
        Article.from_dict({**record, "text": text}, where + ": ")  # validate against the real text
        records[doc["id"]] = record
    missing = sorted(set(sheets) - set(records))
    if missing:
        raise ValueError(f"ids not found in the corpus: {missing[:5]}")
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, _ in SPLITS:
        if args.train_only and name != "train":
            continue
        chosen = [records[k] for k in sorted(records) if args.train_only or split_of(k) == name]
        counts[name] = (len(chosen), sum(len(r["sentences"]) for r in chosen))
        with open(out_dir / f"{args.prefix}_{name}.jsonl", "w", encoding="utf-8") as handle:
            for r in chosen:
                handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
