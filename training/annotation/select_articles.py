"""Choose SaudiNewsNet articles for PLOVER annotation: 17 per type by trigger density, plus 28 at random.

    python -m training.annotation.select_articles CORPUS.jsonl.gz OUT.json
    # a later round: only unannotated articles of the train split, more for chosen types
    python -m training.annotation.select_articles CORPUS.jsonl.gz OUT.json --seed 2027 --exclude data/annotations/snn_*.jsonl \
        --split train --per-type 6 --type-count AGREE=22 ... --random 40

Candidate search only: the keywords pick articles likely to hold each type; annotators then label
every sentence by reading it. Articles of 600-3,500 characters and 5-22 sentences are eligible;
near-duplicates (same first 200 normalized characters) are skipped. Seeded, so the choice is reproducible.
"""
from __future__ import annotations

import argparse
import json
import random
import sys

from nlp.articles import iter_json_lines
from nlp.data import iter_corpus
from nlp.preprocess import normalize, split_sentences
from training.annotation.import_annotations import SPLITS, split_of

#: Candidate keywords per type (normalized forms); they only rank articles, never label them.
KEYS = {
 "AGREE": ["اتفق", "تعهد", "وافق علي", "اتفاق", "سيزور", "وعد"],
 "CONSULT": ["استقبل", "التقي", "اجتماع", "اتصالا هاتفيا", "محادثات", "زيارة"],
 "SUPPORT": ["اشاد", "رحب", "ايد", "وقع", "ثمن", "هنا"],
 "CONCEDE": ["عفو", "اعتذر", "هدنة", "وقف اطلاق النار", "تخفيف", "العفو"],
 "COOPERATE": ["تعاون", "مشتركة", "تدريب", "شراكة", "تبادل", "التنسيق"],
 "AID": ["مساعدات", "اغاثة", "تبرع", "منحة", "اغاثية", "الايواء"],
 "RETREAT": ["انسحب", "الافراج عن", "اطلق سراح", "استقال", "استقالة", "انسحاب"],
 "REQUEST": ["طالب", "دعا", "ناشد", "طلب", "حث"],
 "REJECT": ["رفض", "نفي", "نفت", "رفضت"],
 "ACCUSE": ["اتهم", "ادان", "ندد", "انتقد", "تحقيق", "اتهام"],
 "THREATEN": ["هدد", "توعد", "حذر", "تهديد"],
 "PROTEST": ["تظاهر", "مظاهرة", "احتجاج", "اعتصام", "اضراب", "متظاهر"],
 "SANCTION": ["عقوبات", "طرد", "قطع العلاقات", "حكم بالسجن", "ادانة", "تعليق"],
 "MOBILIZE": ["حشد", "نشر قوات", "استنفار", "التاهب", "مناورات", "تعزيزات"],
 "COERCE": ["اعتقل", "القبض", "احتجاز", "مداهمة", "ضبط", "ترحيل"],
 "ASSAULT": ["قصف", "غارة", "انفجار", "تفجير", "قتل", "اشتباكات", "هجوم"],
}


def eligible_articles(corpus: str) -> list[tuple[str, str, int]]:
    """(id, normalized text, sentence count) of articles of 600-3,500 characters and 5-22 sentences."""
    docs = []
    for doc in iter_corpus(corpus):
        text = doc["text"]
        if not 600 <= len(text) <= 3500:
            continue
        n = len(split_sentences(text))
        if 5 <= n <= 22:
            docs.append((doc["id"], normalize(text).text, n))
    return docs


def choose_articles(
    docs: list[tuple[str, str, int]],
    seed: int = 2026,
    per_type: int = 17,
    n_random: int = 28,
    type_counts: dict[str, int] | None = None,
    pool_size: int = 60,
) -> list[tuple[str, str]]:
    """(id, reason) pairs: per type, `per_type` (or `type_counts[type]`) of the `pool_size` articles densest
    in its keywords, plus random ones."""
    rng = random.Random(seed)
    type_counts = type_counts or {}
    chosen: list[tuple[str, str]] = []
    seen_text: set[str] = set()
    for typ, keys in KEYS.items():
        scored = []
        for did, norm, n in docs:
            hits = sum(norm.count(k) for k in keys)
            if hits >= 2:
                scored.append((hits / n, did, norm))
        scored.sort(reverse=True)
        pool = scored[:pool_size]
        rng.shuffle(pool)
        k = 0
        for _, did, norm in pool:
            if k >= type_counts.get(typ, per_type):
                break
            if did in {c[0] for c in chosen} or norm[:200] in seen_text:
                continue  # no article twice, no near-duplicate (same opening)
            chosen.append((did, typ))
            seen_text.add(norm[:200])
            k += 1
        print(typ, len(scored), k, file=sys.stderr)
    rest = [d for d in docs if d[0] not in {c[0] for c in chosen}]
    for did, norm, _ in rng.sample(rest, min(len(rest), max(80, 2 * n_random))):
        if sum(1 for c in chosen if c[1] == "random") >= n_random:
            break
        if norm[:200] in seen_text:
            continue
        chosen.append((did, "random"))
        seen_text.add(norm[:200])
    rng.shuffle(chosen)
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="SaudiNewsNet JSONL(.gz)")
    parser.add_argument("output", help="JSON list of [id, reason] pairs")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-type", type=int, default=17)
    parser.add_argument("--type-count", nargs="*", default=[], metavar="TYPE=N", help="a different count for some types")
    parser.add_argument("--random", type=int, default=28, help="articles drawn at random besides the per-type ones")
    parser.add_argument("--pool", type=int, default=60, help="draw each type's articles from this many densest ones")
    parser.add_argument("--exclude", nargs="*", default=[], help="annotation files (JSONL with ids) whose articles are skipped")
    parser.add_argument("--split", choices=[name for name, _ in SPLITS], help="only articles whose fixed split is this one")
    args = parser.parse_args(argv)
    type_counts = {}
    for item in args.type_count:
        name, _, count = item.partition("=")
        if name not in KEYS or not count.isdigit():
            parser.error(f"--type-count takes TYPE=N with a PLOVER type, got {item!r}")
        type_counts[name] = int(count)
    excluded = {record["id"] for path in args.exclude for _, record in iter_json_lines(path)}
    docs = [
        d for d in eligible_articles(args.corpus)
        if d[0] not in excluded and (args.split is None or split_of(d[0]) == args.split)
    ]
    print(len(docs), file=sys.stderr)
    chosen = choose_articles(docs, seed=args.seed, per_type=args.per_type, n_random=args.random, type_counts=type_counts, pool_size=args.pool)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(chosen, handle)
    print(len(chosen), file=sys.stderr)


if __name__ == "__main__":
    main()
