"""Realign annotated files to FORMAT.md's decision rules: find candidate sentences, make blind batches, apply verdicts.

    python -m training.annotation.realign candidates --corpus SNN.jsonl.gz ANERCORP_TRAIN.txt --model models/default \
        --out-dir outputs/realign [--files data/annotations/*.jsonl data/annotations/agreement/*.jsonl]
    (or `predict --files PART… --out P.json` in several processes, then `candidates --predictions P*.json`)
    python -m training.annotation.realign batches outputs/realign --batches 6 --second-pass 0.10
    python -m training.annotation.realign adjudication outputs/realign --sheets outputs/realign/sheet_*.jsonl
    python -m training.annotation.realign apply outputs/realign --sheets … --adjudicated outputs/realign/adjudicated_*.jsonl
    python -m training.annotation.realign second-pass outputs/realign --sheets SECOND_SHEET --output data/annotations/agreement/X.jsonl

A candidate is a sentence that a cue pattern of a decision rule matches, or whose label set the model and
the gold disagree on; a seeded random share of the other sentences is re-judged too, to estimate what the
patterns missed. Annotators see the sentence with its neighbours and the title, never the old label. Where
their verdict differs from the old label an adjudicator decides between the two (shown in random order).
`apply` rewrites each annotated file's event labels (standoff, offsets unchanged) and writes one changes file
per annotated file into `data/annotations/changes/`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from nlp.articles import iter_json_lines
from nlp.data import read_standoff
from nlp.labels import EVENT_TYPES
from training.annotation.sentence_sheets import blind_item, read_sheets, standoff_records, write_jsonl

# Cue patterns per decision rule of FORMAT.md ("Decision rules"); they only choose sentences to re-judge. Each
# rule also says which old labels could be wrong under it ("any", "event": some type, "none": no type,
# "lacks:TYPE"), so a sentence whose old label already follows the rule is not re-judged for it.
_W = r"(?:^|[\s\"«(])[وفبل]?"  # a word start, with the usual one-letter proclitics
RULE_CUES: dict[str, tuple[str, str]] = {
    "time-background": (r"يذكر\s+[أا]ن|تجدر\s+الإشارة|تجدر\s+الاشارة|يشار\s+[إا]لى|وكان[ت]?\s+(?:\S+\s+){0,6}قد\s|سبق\s+[أا]ن|في\s+وقت\s+سابق", "none"),
    "time-situating": (r"منذ\s+(?:بدء|بداية|اندلاع)|في\s+ظل\s+(?:الحرب|الأزمة|الازمة|الصراع|الأحداث)", "event"),
    "time-toll": (r"قتيل|قتلى|ضحايا|مصرع|حصيلة|حتفه|حتفهم|جرحى|شهيد|شهداء", "lacks:ASSAULT"),
    "harm": (_W + r"(?:هدم|[إا]عدام|[أا]عدم|اغتيال|اغتال|حجب|[إا]غلاق|[أا]غلق|بالسجن|مصادرة)|حكم[اًت]?\s+(?:المحكمة|محكمة|ب)|صدر\s+حكم", "any"),
    "agreements": (_W + r"(?:وقع|وقعت|وقّع|وقّعت|يوقع|توقيع|اتفق|اتفقا|اتفقت|اتفقوا)\s|مذكرة\s+تفاهم|مذكرات\s+تفاهم|مصادقة|صادق\s+على|التوصل\s+[إا]لى\s+اتفاق", "any"),
    "cooperation": (r"استعداد|مستعد|عرض\s+(?:ال)?(?:تعاون|مساعدة|الوساطة)|تمرين|تمارين|مناورات|تدريبات?\s+مشترك|عمليات?\s+مشترك|تنسيق\s+[أا]مني", "any"),
    "not-event": (_W + r"(?:[إا]ذا|لو|لم|لن|ما\s+لم)\s|في\s+حال|[إا]ن\s+لم", "event"),
    "formula": (r"عدم\s+الكشف|عدم\s+ذكر|عدم\s+الإفصاح|عدم\s+الافصاح", "any"),
    "speech": (r"وقف\s+[إا]طلاق\s+النار|[إا]نهاء\s+(?:الحرب|الصراع|النزاع|القتال)|وقف\s+(?:الحرب|القتال|العدوان)", "any"),
}
_COMPILED = {rule: (re.compile(pattern), condition) for rule, (pattern, condition) in RULE_CUES.items()}
MODEL_RULE = "model-disagrees"
RANDOM_RULE = "random-sample"


def default_files(root: Path = Path("data/annotations")) -> list[Path]:
    """Every annotated file of the project: the rounds, the splits, ANERcorp sentences and the second passes."""
    return sorted(root.glob("*.jsonl")) + sorted((root / "agreement").glob("*.jsonl"))


def cue_rules(sentence: str, old: Sequence[str]) -> list[str]:
    """The decision rules whose cue patterns occur in the sentence and under which its old label may be wrong."""
    return [rule for rule, (pattern, condition) in _COMPILED.items() if pattern.search(sentence) and _may_be_wrong(condition, old)]


def _may_be_wrong(condition: str, old: Sequence[str]) -> bool:
    if condition == "event":
        return bool(old)
    if condition == "none":
        return not old
    if condition.startswith("lacks:"):
        return condition[6:] not in old
    return True


def find_candidates(
    files: Sequence[Path], corpus: Sequence[str], predicted: dict[str, list[str]] | None, random_share: float, seed: int
) -> list[dict[str, Any]]:
    """One record per sentence of every file, with the rules that select it (empty: not selected)."""
    titles = _titles(corpus)
    records: list[dict[str, Any]] = []
    for path in files:
        for article in read_standoff(path, corpus):
            sentences = article.sentences or []
            for i, s in enumerate(sentences):
                records.append({
                    "file": str(path), "id": article.id, "i": i, "start": s.start, "end": s.end,
                    "old": sorted(s.events, key=EVENT_TYPES.index),
                    "title": titles.get(article.id, ""),
                    "text": article.text[s.start:s.end],
                    "before": article.text[sentences[i - 1].start:sentences[i - 1].end] if i else "",
                    "after": article.text[sentences[i + 1].start:sentences[i + 1].end] if i + 1 < len(sentences) else "",
                    "rules": cue_rules(article.text[s.start:s.end], s.events),
                })
    rng = random.Random(seed)
    for record in records:
        if not record["rules"] and rng.random() < random_share:
            record["rules"] = [RANDOM_RULE]
    if predicted is not None:
        mark_disagreements(records, predicted)
    return records


def _titles(corpus: Sequence[str]) -> dict[str, str]:
    """Article titles of the JSON Lines corpora (context for annotators; CoNLL corpora have none)."""
    titles = {}
    for path in corpus:
        if str(path).endswith((".jsonl", ".jsonl.gz")):
            for _, record in iter_json_lines(path):
                titles[str(record.get("id"))] = record.get("title") or ""
    return titles


def predict_labels(files: Sequence[Path], corpus: Sequence[str], model: str) -> dict[str, list[str]]:
    """The model's event types for every gold sentence of the files (on the gold spans), by sentence key."""
    from nlp.inference import load_predictor

    predictor = load_predictor(model)
    out: dict[str, list[str]] = {}
    for path in files:
        articles = read_standoff(path, corpus)
        spans = [[(s.start, s.end) for s in a.sentences or []] for a in articles]
        predictions = predictor.predict_iter([a.text for a in articles], sentence_spans=spans, progress=True)
        for article, prediction in zip(articles, predictions):
            for i, sentence in enumerate(prediction.sentences):
                key = key_of({"file": str(path), "id": article.id, "i": i})
                out[key] = sorted((label for label, _ in sentence.events), key=EVENT_TYPES.index)
    return out


def mark_disagreements(records: list[dict[str, Any]], predicted: dict[str, list[str]]) -> None:
    """Select (rule MODEL_RULE) the sentences whose predicted label set differs from the gold one."""
    missing = [key_of(r) for r in records if key_of(r) not in predicted]
    if missing:
        raise ValueError(f"{len(missing)} sentences have no model prediction, e.g. {missing[:3]}")
    for record in records:
        record["predicted"] = predicted[key_of(record)]
        if set(record["predicted"]) != set(record["old"]):
            record["rules"].append(MODEL_RULE)


def key_of(record: dict[str, Any]) -> str:
    return f"{record['file']}#{record['id']}#{record['i']}"


def blind_key(record: dict[str, Any]) -> str:
    """An opaque key for annotators: it names neither the file nor the article, so the old label cannot be looked up."""
    return "r" + hashlib.sha1(key_of(record).encode("utf-8")).hexdigest()[:12]


def make_batches(out_dir: Path, n_batches: int, second_share: float, seed: int, judged: Sequence[str] = (), name: str = "batch") -> None:
    """Blind batches of the selected sentences (no old label, no rule), and a fresh second-pass sample.

    Sentences already in the sheets `judged` (an earlier wave) are left out of the batches, not of the sample."""
    records = [json.loads(line) for line in open(out_dir / "sentences.jsonl", encoding="utf-8")]
    chosen = [r for r in records if r["rules"]]
    rng = random.Random(seed)
    rng.shuffle(chosen)
    items = [blind_item(r, blind_key(r)) for r in chosen]
    done = set(read_sheets(judged)) if judged else set()
    todo = [item for item in items if item["key"] not in done]
    for b in range(n_batches):
        write_jsonl(out_dir / f"{name}_{b + 1}.jsonl", todo[b::n_batches])
    main_files = [item for item, r in zip(items, chosen) if "/agreement/" not in r["file"]]
    second = rng.sample(main_files, round(second_share * len(main_files)))
    write_jsonl(out_dir / "second_pass_batch.jsonl", second)
    print(f"{len(todo)} sentences in {n_batches} batches ({len(items) - len(todo)} judged before); second pass {len(second)}")


def check_sheet(batch: str, sheet: str) -> list[str]:
    """Problems of an annotator's sheet against its batch (empty when it is complete and valid)."""
    keys = [r["key"] for _, r in iter_json_lines(batch)]
    problems, seen = [], set()
    try:
        rows = list(iter_json_lines(sheet))
    except ValueError as err:
        return [str(err)]
    for where, r in rows:
        if not isinstance(r, dict) or r.get("key") not in keys:
            problems.append(f"{where}unknown or missing 'key'")
            continue
        events = r.get("events")
        if not isinstance(events, list) or any(e not in EVENT_TYPES for e in events):
            problems.append(f"{where}'events' must be a list of PLOVER types, got {events!r}")
        if r["key"] in seen:
            problems.append(f"{where}key {r['key']} appears twice")
        seen.add(r["key"])
    missing = [k for k in keys if k not in seen]
    if missing:
        problems.append(f"{len(missing)} sentences of the batch have no line, e.g. {missing[:3]}")
    return problems


def write_second_pass(out_dir: Path, sheets: Sequence[str], path: Path) -> int:
    """The independent second pass over realigned sentences as a standoff file for `training.annotation.agreement`."""
    records = [json.loads(line) for line in open(out_dir / "sentences.jsonl", encoding="utf-8")]
    by_key = {key_of(r): r for r in records}
    verdicts = _read_verdicts(records, sheets)
    write_jsonl(path, standoff_records(
        (by_key[key]["id"], "second pass over realigned sentences", {"start": by_key[key]["start"], "end": by_key[key]["end"], "events": events})
        for key, events in verdicts.items()
    ))
    return len(verdicts)


def _read_verdicts(records: Iterable[dict[str, Any]], paths: Iterable[str]) -> dict[str, list[str]]:
    """Sheet verdicts keyed by the full sentence key (sheets use the blind keys)."""
    full = {blind_key(r): key_of(r) for r in records}
    verdicts = {}
    for key, events in read_sheets(paths).items():
        if key not in full:
            raise ValueError(f"sheet key {key!r} is not a selected sentence")
        verdicts[full[key]] = events
    return verdicts


def make_adjudication(out_dir: Path, sheets: Sequence[str], n_batches: int, seed: int, name: str = "adjudicate") -> None:
    """Items where the blind verdict differs from the old label: both options, in random order, no provenance.

    Sheets may come in waves (one call per wave, each with its own `name`); `apply` checks that every selected
    sentence has a verdict."""
    records = {key_of(r): r for r in map(json.loads, open(out_dir / "sentences.jsonl", encoding="utf-8"))}
    verdicts = _read_verdicts(records.values(), sheets)
    rng = random.Random(seed)
    items = []
    for key, verdict in verdicts.items():
        old = records[key]["old"]
        if verdict != old:
            options = [old, verdict]
            rng.shuffle(options)
            r = records[key]
            items.append({**blind_item(r, blind_key(r)), "option_a": options[0], "option_b": options[1]})
    rng.shuffle(items)
    for b in range(n_batches):
        write_jsonl(out_dir / f"{name}_{b + 1}.jsonl", items[b::n_batches])
    print(f"{len(verdicts)} verdicts, {len(items)} differ from the old label -> {n_batches} adjudication batches")


def apply_verdicts(out_dir: Path, sheets: Sequence[str], adjudicated: Sequence[str], changes_dir: Path) -> dict[str, Any]:
    """Rewrite each annotated file's events with the final labels and write its changes file; returns counts."""
    records = [json.loads(line) for line in open(out_dir / "sentences.jsonl", encoding="utf-8")]
    verdicts = _read_verdicts(records, sheets)
    final = _read_verdicts(records, adjudicated)
    changes_dir.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_file[record["file"]].append(record)
    counts: dict[str, Any] = {"selected": Counter(), "changed": Counter(), "added": Counter(), "removed": Counter(), "files": {}}
    for path, mine in by_file.items():
        new_labels: dict[tuple[str, int], list[str]] = {}
        changes = []
        for r in mine:
            if not r["rules"]:
                continue
            key = key_of(r)
            if key not in verdicts:
                raise ValueError(f"{key}: a selected sentence has no verdict in the sheets")
            verdict = verdicts[key]
            label = verdict if verdict == r["old"] else final.get(key)
            if label is None:
                raise ValueError(f"{key}: the verdict differs from the old label and has no adjudication")
            for rule in r["rules"]:
                counts["selected"][rule] += 1
            if label != r["old"]:
                new_labels[(r["id"], r["i"])] = label
                changes.append({"id": r["id"], "start": r["start"], "end": r["end"], "old": r["old"], "new": label, "rule": r["rules"]})
                for rule in r["rules"]:
                    counts["changed"][rule] += 1
                for t in set(label) - set(r["old"]):
                    counts["added"][t] += 1
                for t in set(r["old"]) - set(label):
                    counts["removed"][t] += 1
        _rewrite(Path(path), new_labels)
        name = Path(path).name.replace(".jsonl", ".changes.jsonl")
        write_jsonl(changes_dir / name, changes)
        counts["files"][path] = {"sentences": len(mine), "selected": sum(1 for r in mine if r["rules"]), "changed": len(changes)}
    return counts


def _rewrite(path: Path, new_labels: dict[tuple[str, int], list[str]]) -> None:
    lines = []
    for _, record in iter_json_lines(path):
        for i, sentence in enumerate(record.get("sentences") or []):
            if (record["id"], i) in new_labels:
                sentence["events"] = new_labels[(record["id"], i)]
        lines.append(record)
    write_jsonl(path, lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.annotation.realign", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("candidates", help="select the sentences to re-judge")
    c.add_argument("--corpus", nargs="+", required=True)
    c.add_argument("--files", nargs="*", type=Path, default=None)
    c.add_argument("--model", default=None, help="also select sentences where this model and the gold disagree")
    c.add_argument("--predictions", nargs="*", default=[], help="the model's labels from `predict` runs instead of --model")
    c.add_argument("--random-share", type=float, default=0.05)
    c.add_argument("--seed", type=int, default=19)
    c.add_argument("--out-dir", type=Path, required=True)
    b = sub.add_parser("batches", help="blind annotation batches and the second-pass sample")
    b.add_argument("out_dir", type=Path)
    b.add_argument("--batches", type=int, default=6)
    b.add_argument("--second-pass", type=float, default=0.10)
    b.add_argument("--seed", type=int, default=19)
    b.add_argument("--judged", nargs="*", default=[], help="sheets of an earlier wave: their sentences are not batched again")
    b.add_argument("--name", default="batch", help="batch file prefix")
    a = sub.add_parser("adjudication", help="batches of the verdicts that differ from the old labels")
    a.add_argument("out_dir", type=Path)
    a.add_argument("--sheets", nargs="+", required=True)
    a.add_argument("--batches", type=int, default=2)
    a.add_argument("--seed", type=int, default=19)
    a.add_argument("--name", default="adjudicate", help="batch file prefix (one per wave of sheets)")
    p = sub.add_parser("apply", help="write the final labels and the changes files")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--sheets", nargs="+", required=True)
    p.add_argument("--adjudicated", nargs="*", default=[])
    p.add_argument("--changes-dir", type=Path, default=Path("data/annotations/changes"))
    m = sub.add_parser("predict", help="the model's labels for every gold sentence (run several over parts of the files)")
    m.add_argument("--model", required=True)
    m.add_argument("--corpus", nargs="+", required=True)
    m.add_argument("--files", nargs="+", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True)
    q = sub.add_parser("second-pass", help="write the second-pass sheet as a standoff file for training.annotation.agreement")
    q.add_argument("out_dir", type=Path)
    q.add_argument("--sheets", nargs="+", required=True)
    q.add_argument("--output", type=Path, required=True)
    k = sub.add_parser("check", help="check an annotator's sheet against its batch")
    k.add_argument("batch")
    k.add_argument("sheet")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            problems = check_sheet(args.batch, args.sheet)
            print("\n".join(problems) if problems else "OK")
            return 1 if problems else 0
        if args.command == "second-pass":
            print(f"{write_second_pass(args.out_dir, args.sheets, args.output)} sentences -> {args.output}")
            return 0
        if args.command == "predict":
            args.out.write_text(json.dumps(predict_labels(args.files, args.corpus, args.model), ensure_ascii=False), encoding="utf-8")
            return 0
        if args.command == "candidates":
            files = args.files if args.files else default_files()
            predicted = predict_labels(files, args.corpus, args.model) if args.model else None
            for path in args.predictions:
                predicted = {**(predicted or {}), **json.loads(Path(path).read_text(encoding="utf-8"))}
            records = find_candidates(files, args.corpus, predicted, args.random_share, args.seed)
            args.out_dir.mkdir(parents=True, exist_ok=True)
            write_jsonl(args.out_dir / "sentences.jsonl", records)
            per_rule = Counter(rule for r in records for rule in r["rules"])
            print(f"{len(records)} sentences, {sum(1 for r in records if r['rules'])} selected")
            for rule, n in per_rule.most_common():
                print(f"  {rule:20s} {n}")
        elif args.command == "batches":
            make_batches(args.out_dir, args.batches, args.second_pass, args.seed, args.judged, args.name)
        elif args.command == "adjudication":
            make_adjudication(args.out_dir, args.sheets, args.batches, args.seed, args.name)
        else:
            counts = apply_verdicts(args.out_dir, args.sheets, args.adjudicated, args.changes_dir)
            print(json.dumps(counts, ensure_ascii=False, indent=1))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
