"""Re-tune a trained model's per-type event thresholds on one or more annotated files.

    python -m training.thresholds.tune_thresholds --model runs/candidate --output runs/candidate-tuned \
        --gold data/annotations/snn_dev.jsonl --gold data/annotations/snn_round4_train.jsonl \
        --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz

Training tunes thresholds on its dev split, which for rare types holds a handful of sentences, so
their thresholds are noise. This step tunes them on any held-out annotation (never test), pulling
each type towards one shared threshold in proportion to how few positives it has
(`--prior-strength`; 0 = each type on its own); a type without positives keeps its threshold. The trigger lexicon's hits count as decisions
already made, as in predict(). Also useful to re-calibrate a model for a user's own articles.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nlp.articles import read_articles
from nlp.data import read_standoff
from nlp.lexicon import model_lexicon
from nlp.metrics import event_scores, tune_thresholds
from nlp.model import JointModel
from nlp.predictor import Predictor
from training.thresholds.model_files import resave


def sentence_table(model: JointModel, articles, device: str | None = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per gold sentence: every type's probability, the gold types and the lexicon's forced decisions."""
    articles = [a for a in articles if a.sentences]
    if not articles:
        raise ValueError("no article in the gold files has sentence annotations; thresholds need event labels")
    types = list(model.settings.event_types)
    lexicon = model_lexicon(model.lexicon_yaml, model.settings.lexicon_types, model.settings.normalization_config)
    predictor = Predictor(model, device=device)
    spans = [[(s.start, s.end) for s in a.sentences] for a in articles]
    results = predictor.predict_iter((a.text for a in articles), sentence_spans=spans, keep_probabilities=True, progress=None)
    probs, gold, forced = [], [], []
    for article, result in zip(articles, results):
        for g, p in zip(article.sentences, result.sentences):
            probs.append(p.probabilities if p.probabilities is not None else (0.0,) * len(types))
            gold.append([t in g.events for t in types])
            hits = set(lexicon.events(article.text[g.start : g.end])) if lexicon else set()
            forced.append([t in hits for t in types])
    return np.asarray(probs, dtype=np.float64), np.asarray(gold, dtype=bool), np.asarray(forced, dtype=bool)


def read_gold(paths: list[str], corpus: list[str] | None) -> list:
    """Articles of annotated files: FORMAT.md JSONL, or standoff files whose text is taken from `corpus`."""
    articles = []
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"gold file {path} does not exist")
        articles += read_standoff(path, corpus) if corpus else read_articles(path)
    return articles


def decision_sets(probs: np.ndarray, forced: np.ndarray, types: list, cut) -> list[set]:
    """Per sentence, the types predict() reports: probability at or above the type's cut, or forced by the lexicon."""
    chosen = (probs >= np.asarray(cut)) | forced
    return [{t for t, c in zip(types, row) if c} for row in chosen]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model directory; updated in place unless --output is given")
    parser.add_argument("--gold", action="append", required=True,
                        help="annotated file (FORMAT.md JSONL, or standoff with --corpus); repeat for several; never the test split")
    parser.add_argument("--corpus", nargs="+", default=None, help="corpus file(s) holding the text of standoff gold files")
    parser.add_argument("--prior-strength", type=float, default=10.0,
                        help="positives at which a type's own optimum and the shared threshold weigh equally (default 10; 0 = per type only)")
    parser.add_argument("--output", default=None, help="write the updated model here instead")
    parser.add_argument("--device", default="cpu",
                        help="default cpu: the probabilities predict() gives on CPU and ONNX (a GPU's bf16 moves them slightly)")
    args = parser.parse_args(argv)
    if args.prior_strength < 0:
        parser.error(f"--prior-strength must be >= 0, got {args.prior_strength}")
    try:
        articles = read_gold(args.gold, args.corpus)
    except FileNotFoundError as err:
        parser.error(str(err))
    model = JointModel.from_pretrained(args.model)
    types = list(model.settings.event_types)
    probs, gold, forced = sentence_table(model, articles, args.device)
    before = dict(model.thresholds)
    tuned = tune_thresholds(probs, gold, types, prior_strength=args.prior_strength, forced=forced)
    unseen = [t for j, t in enumerate(types) if not gold[:, j].any()]
    after = {t: before[t] if t in unseen else tuned[t] for t in types}  # no positives here: nothing to tune on
    gold_sets = [{t for t, g in zip(types, row) if g} for row in gold]
    old = event_scores(gold_sets, decision_sets(probs, forced, types, [before[t] for t in types]), types)
    new = event_scores(gold_sets, decision_sets(probs, forced, types, [after[t] for t in types]), types)
    print(f"{len(gold)} sentences from {len(args.gold)} file(s); F1 on these (in-sample, optimistic for the new thresholds)")
    print("| type | positives | threshold before | after | F1 before | after |")
    print("|---|---|---|---|---|---|")
    for t in types:
        print(f"| {t} | {int(gold[:, types.index(t)].sum())} | {before[t]:.2f} | {after[t]:.2f} "
              f"| {old['per_type'][t]['f1']:.2f} | {new['per_type'][t]['f1']:.2f} |")
    print(f"| micro | {int(gold.sum())} | | | {old['micro']['f1']:.3f} | {new['micro']['f1']:.3f} |")
    if unseen:
        print(f"no positive sentence for {', '.join(unseen)}: their thresholds are kept")
    model.set_thresholds(after)
    out = resave(model, args.model, args.output)
    report = {"gold": args.gold, "prior_strength": args.prior_strength, "n_sentences": len(gold),
              "positives": {t: int(gold[:, j].sum()) for j, t in enumerate(types)}, "kept_without_positives": unseen,
              "thresholds_before": before, "thresholds_after": after,
              "micro_f1_before": old["micro"]["f1"], "micro_f1_after": new["micro"]["f1"]}
    (out / "thresholds_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"thresholds stored in {out}")


if __name__ == "__main__":
    main()
