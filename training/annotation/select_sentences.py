"""Choose corpus documents likely to hold rare PLOVER types, as annotation sheets (candidate search only).

    python -m training.annotation.select_sentences --corpus ../shared/data/anercorp_camellab/ANERCorp_CamelLab_train.txt \
        --types CONCEDE COOPERATE SANCTION RETREAT --first-fraction 0.9 --per-type 60 --output outputs/annot/anercorp.jsonl

A document is a candidate for a type when the trigger lexicon or one of the type's keywords
(normalized) matches it. Annotators then label every sentence against the definitions, all 16
types, whatever the candidate search suggested. `--first-fraction` keeps to the first part of
the corpus (ANERcorp: the last 10% of train is the NER dev split). Seeded, so reproducible.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from nlp.data import iter_corpus
from nlp.labels import EVENT_TYPES
from nlp.lexicon import Lexicon
from nlp.preprocess import normalize, split_sentences

REPO = Path(__file__).resolve().parents[2]

#: Extra search words (normalized forms) for the types the trigger lexicon covers thinly.
KEYWORDS = {
    "CONCEDE": ["عفو", "اعتذر", "هدنه", "وقف اطلاق النار", "تنازل", "تخفيف", "رفع الحظر", "افرج"],
    "COOPERATE": ["تعاون", "مشترك", "شراكه", "تنسيق", "تبادل", "مناورات مشتركه"],
    "SANCTION": ["عقوبات", "حظر", "طرد", "قطع العلاقات", "تجميد", "مقاطعه", "حكم بالسجن", "غرامه"],
    "RETREAT": ["انسحب", "انسحاب", "اطلق سراح", "الافراج عن", "استقال", "استقاله", "سحب"],
}


def candidates(docs: list[dict[str, str]], types: list[str], lexicon: Lexicon) -> dict[str, list[str]]:
    """Ids of the documents that the lexicon or the keywords link to each requested type."""
    found: dict[str, list[str]] = {t: [] for t in types}
    for doc in docs:
        hits = set(lexicon.events(doc["text"]))
        norm = normalize(doc["text"]).text
        for t in types:
            if t in hits or any(k in norm for k in KEYWORDS.get(t, [])):
                found[t].append(doc["id"])
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--types", nargs="+", required=True, choices=EVENT_TYPES)
    parser.add_argument("--lexicon", default=str(REPO / "data" / "lexicon" / "plover_ar.yaml"))
    parser.add_argument("--per-type", type=int, default=60)
    parser.add_argument("--first-fraction", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True, help="annotation sheets (JSONL: id and numbered sentences; git-ignored)")
    args = parser.parse_args(argv)
    docs = list(iter_corpus(args.corpus))
    docs = docs[: int(len(docs) * args.first_fraction)]
    found = candidates(docs, args.types, Lexicon.from_yaml(args.lexicon))
    rng = random.Random(args.seed)
    chosen: list[str] = []
    for t in args.types:
        pool = [d for d in found[t] if d not in chosen]
        chosen += rng.sample(pool, min(args.per_type, len(pool)))
    texts = {d["id"]: d["text"] for d in docs}
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        for doc_id in chosen:
            text = texts[doc_id]
            sentences = [{"i": i, "text": text[a:b]} for i, (a, b) in enumerate(split_sentences(text))]
            handle.write(json.dumps({"id": doc_id, "sentences": sentences}, ensure_ascii=False) + "\n")
    print(json.dumps({"candidates": {t: len(v) for t, v in found.items()}, "chosen": len(chosen)}))


if __name__ == "__main__":
    main()
