"""Choose SaudiNewsNet articles for PLOVER annotation: 17 per type by trigger density, plus 28 at random.

    python -m training.select_articles CORPUS.jsonl.gz OUT.json

Candidate search only: the keywords pick articles likely to hold each type; annotators then label
every sentence by reading it. Articles of 600-3,500 characters and 5-22 sentences are eligible;
near-duplicates (same first 200 normalized characters) are skipped. Seeded, so the choice is reproducible.
"""
import gzip, json, random, sys
from nlp.preprocess import normalize, split_sentences
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
docs = []
with gzip.open(sys.argv[1], 'rt', encoding='utf-8') as f:
    for line in f:
        d = json.loads(line)
        t = d['text']
        if not (600 <= len(t) <= 3500): continue
        n = len(split_sentences(t))
        if not (5 <= n <= 22): continue
        docs.append((d['id'], normalize(t).text, n))
print(len(docs), file=sys.stderr)
rng = random.Random(2026)
chosen, seen_text = [], set()
for typ, keys in KEYS.items():
    scored = []
    for i, (did, norm, n) in enumerate(docs):
        hits = sum(norm.count(k) for k in keys)
        if hits >= 2: scored.append((hits / n, did, norm))
    scored.sort(reverse=True)
    pool = scored[:60]
    rng.shuffle(pool)
    k = 0
    for _, did, norm in pool:
        if did in {c[0] for c in chosen} or norm[:200] in seen_text: continue
        chosen.append((did, typ)); seen_text.add(norm[:200]); k += 1
        if k == 17: break
    print(typ, len(scored), k, file=sys.stderr)
rest = [d for d in docs if d[0] not in {c[0] for c in chosen}]
for did, norm, n in rng.sample(rest, 80):
    if norm[:200] in seen_text: continue
    chosen.append((did, "random")); seen_text.add(norm[:200])
    if sum(1 for c in chosen if c[1] == "random") == 28: break
rng.shuffle(chosen)
json.dump(chosen, open(sys.argv[2], 'w'))
print(len(chosen), file=sys.stderr)
