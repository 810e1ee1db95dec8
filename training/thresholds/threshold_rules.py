"""Compare rules for tuning event thresholds by repeated splits of held-out articles (how the shipped rule was chosen).

    python -m training.thresholds.threshold_rules --model models/default \
        --dev data/annotations/snn_dev.jsonl --extra data/annotations/snn_round4_train.jsonl \
        --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz

The --dev articles are split at random into halves, many times. Each rule tunes thresholds on one half
(alone, or with the --extra articles added) and is scored on the other half; the table gives the
mean event micro- and macro-F1 over the splits. Thresholds are decided per sentence exactly as
predict() does (the model's lexicon hits count). Never pass the test split.
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np

from nlp.metrics import event_scores, shared_threshold, tune_thresholds
from nlp.model import JointModel
from training.thresholds.tune_thresholds import decision_sets, read_gold, sentence_table

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray, list[str]], np.ndarray]


def _per_type(prior: float) -> Rule:
    def rule(probs, gold, forced, types):
        tuned = tune_thresholds(probs, gold, types, prior_strength=prior, forced=forced)
        return np.asarray([tuned[t] for t in types])
    return rule


def _shared(probs, gold, forced, types):
    return np.full(len(types), shared_threshold(probs, gold, forced=forced))


def _clipped(probs, gold, forced, types):
    return np.clip(_per_type(0.0)(probs, gold, forced, types), 0.25, 0.75)


RULES: dict[str, Rule] = {
    "per type": _per_type(0.0),
    "one shared threshold for all types": _shared,
    "per type, clipped to [0.25, 0.75]": _clipped,
    "pulled towards the shared one (strength 10)": _per_type(10.0),
}


def f1_scores(probs: np.ndarray, gold: np.ndarray, forced: np.ndarray, cut: np.ndarray) -> tuple[float, float]:
    """Event micro-F1 and macro-F1 (over types with a positive) of the decisions `probs >= cut` or forced."""
    columns = list(range(gold.shape[1]))
    scores = event_scores([set(np.flatnonzero(row)) for row in gold], decision_sets(probs, forced, columns, cut), columns)
    return scores["micro"]["f1"], scores["macro"]["f1"]


def compare(model: JointModel, dev, extra, splits: int = 100, seed: int = 0) -> list[tuple[str, str, float, float]]:
    """(tuning data, rule, mean micro-F1, mean macro-F1) on the held-out halves of `splits` random splits of `dev`."""
    dev = [a for a in dev if a.sentences]
    if len(dev) < 4:
        raise ValueError(f"{len(dev)} dev articles with sentence annotations; the split test needs at least 4")
    types = list(model.settings.event_types)
    probs, gold, forced = sentence_table(model, dev)
    bounds = np.cumsum([0] + [len(a.sentences) for a in dev])
    extra_table = sentence_table(model, extra) if extra else None
    rng = np.random.default_rng(seed)
    totals: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(splits):
        order = rng.permutation(len(dev))
        half = [np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in part]) for part in np.array_split(order, 2)]
        tune, held = half
        sources = {"dev half": (probs[tune], gold[tune], forced[tune])}
        if extra_table is not None:
            sources["dev half + extra"] = tuple(np.concatenate([x[tune], y]) for x, y in zip((probs, gold, forced), extra_table))
        for source, (p, g, f) in sources.items():
            for name, rule in RULES.items():
                cut = rule(p, g, f, types)
                totals.setdefault((source, name), []).append(f1_scores(probs[held], gold[held], forced[held], cut))
    return [(source, name, *np.mean(values, axis=0)) for (source, name), values in totals.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model directory")
    parser.add_argument("--dev", action="append", required=True, help="annotated articles that are split (repeatable)")
    parser.add_argument("--extra", action="append", default=[], help="more held-out annotation added to the tuning half")
    parser.add_argument("--corpus", nargs="+", default=None, help="corpus file(s) holding the text of standoff files")
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.splits < 1:
        parser.error("--splits must be at least 1")
    try:
        dev, extra = read_gold(args.dev, args.corpus), read_gold(args.extra, args.corpus)
    except FileNotFoundError as err:
        parser.error(str(err))
    model = JointModel.from_pretrained(args.model)
    rows = compare(model, dev, extra, args.splits, args.seed)
    print(f"mean over {args.splits} random halvings of the dev articles; scored on the held-out half")
    print("| thresholds tuned on | rule | event micro-F1 | event macro-F1 |")
    print("|---|---|---|---|")
    for source, name, micro, macro in rows:
        print(f"| {source} | {name} | {micro:.3f} | {macro:.3f} |")


if __name__ == "__main__":
    main()
