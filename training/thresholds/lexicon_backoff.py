"""Choose, on gold dev, the event types for which the trigger lexicon should add to a model's predictions.

    python -m training.thresholds.lexicon_backoff --model runs/default-continue/model \
        --dev data/annotations/snn_dev.jsonl --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz

Small encoders trained on a few dozen sentences per rare type seldom predict those types, while the
lexicon catches many of them. For each type, the dev F1 of the model alone is compared with the
model OR the lexicon; types where the union is better by at least --min-gain are stored in the
model's settings (`lexicon_types`) with a copy of the lexicon, so predict() applies it everywhere.
The test split plays no part.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from nlp.data import read_standoff
from nlp.lexicon import Lexicon
from nlp.metrics import event_scores
from nlp.model import JointModel
from nlp.predictor import Predictor
from training.thresholds.model_files import resave

REPO = Path(__file__).resolve().parents[2]


def choose_types(model: JointModel, articles, lexicon: Lexicon, min_gain: float = 0.0, min_support: int = 2) -> tuple[list[str], dict]:
    """Types whose dev F1 rises by more than `min_gain` when lexicon hits are added, and the per-type table."""
    plain = replace(model.settings, lexicon_types=[])
    saved = model.settings
    model.settings = plain
    try:
        predictor = Predictor(model, device="cpu")
        spans = [[(s.start, s.end) for s in a.sentences] for a in articles]
        results = list(predictor.predict_iter((a.text for a in articles), sentence_spans=spans, progress=False))
    finally:
        model.settings = saved
    gold, alone, union = [], [], []
    for article, result in zip(articles, results):
        for g, p in zip(article.sentences, result.sentences):
            gold.append(set(g.events))
            predicted = {label for label, _ in p.events}
            alone.append(predicted)
            union.append(predicted | set(lexicon.events(article.text[g.start : g.end])))
    types = list(model.settings.event_types)
    a = event_scores(gold, alone, types)["per_type"]
    u = event_scores(gold, union, types)["per_type"]
    table = {t: {"support": a[t]["support"], "model_f1": a[t]["f1"], "union_f1": u[t]["f1"]} for t in types}
    chosen = [t for t in types if a[t]["support"] >= min_support and u[t]["f1"] > a[t]["f1"] + min_gain]
    return chosen, table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model directory; updated in place unless --output is given")
    parser.add_argument("--dev", required=True, help="gold dev standoff file")
    parser.add_argument("--corpus", nargs="+", required=True, help="corpus file(s) holding the dev text")
    parser.add_argument("--lexicon", default=str(REPO / "data" / "lexicon" / "plover_ar.yaml"))
    parser.add_argument("--min-gain", type=float, default=0.02, help="F1 gain on dev a type needs (default 0.02)")
    parser.add_argument("--output", default=None, help="write the updated model here instead")
    args = parser.parse_args(argv)
    model = JointModel.from_pretrained(args.model)
    text = Path(args.lexicon).read_text(encoding="utf-8")
    lexicon = Lexicon.from_yaml_text(text, source=args.lexicon, normalization=model.settings.normalization_config)
    chosen, table = choose_types(model, read_standoff(args.dev, args.corpus), lexicon, args.min_gain)
    print("| type | dev support | model F1 | model or lexicon F1 | lexicon used |")
    print("|---|---|---|---|---|")
    for t, row in table.items():
        print(f"| {t} | {row['support']} | {row['model_f1']:.2f} | {row['union_f1']:.2f} | {'yes' if t in chosen else ''} |")
    model.settings.lexicon_types = chosen
    model.lexicon_yaml = text if chosen else None
    out = resave(model, args.model, args.output)
    report_path = out / "lexicon_backoff.json"
    report_path.write_text(json.dumps({"lexicon_types": chosen, "min_gain": args.min_gain, "dev": args.dev, "per_type": table}, indent=2) + "\n")
    print(f"lexicon types {chosen} stored in {out}")


if __name__ == "__main__":
    main()
