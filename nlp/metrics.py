"""Scores for event classification (multi-label per sentence) and entity recognition (exact spans)."""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Iterable, Sequence


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def event_scores(
    gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], event_types: Sequence[str]
) -> dict:
    """Per-type, micro and macro P/R/F1 over sentences, accuracy of "has any event", and the share of
    no-event sentences given some event (false events on text that only talks about events).

    Macro averages over the types that occur in `gold` (support > 0).
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    tp, fp, fn = Counter(), Counter(), Counter()
    any_correct = no_event = no_event_flagged = 0
    for g, p in zip(gold, predicted):
        g, p = set(g), set(p)
        if not g:
            no_event += 1
            no_event_flagged += bool(p)
        for label in g & p:
            tp[label] += 1
        for label in p - g:
            fp[label] += 1
        for label in g - p:
            fn[label] += 1
        any_correct += bool(g) == bool(p)
    per_type = {}
    for label in event_types:
        scores = _prf(tp[label], fp[label], fn[label])
        scores["support"] = tp[label] + fn[label]
        scores["predicted"] = tp[label] + fp[label]
        per_type[label] = scores
    present = [label for label in event_types if per_type[label]["support"] > 0]
    macro = {
        key: (sum(per_type[label][key] for label in present) / len(present) if present else 0.0)
        for key in ("precision", "recall", "f1")
    }
    return {
        "micro": _prf(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        "macro": macro,
        "per_type": per_type,
        "has_event_accuracy": any_correct / len(gold) if gold else 0.0,
        "no_event_sentences": no_event,
        "no_event_flagged": no_event_flagged / no_event if no_event else 0.0,
    }


def entity_scores(
    gold: Sequence[Iterable[tuple[Hashable, ...]]],
    predicted: Sequence[Iterable[tuple[Hashable, ...]]],
    labels: Sequence[str],
) -> dict:
    """Exact-span, exact-label P/R/F1, micro and per label; items are (start, end, label) per document."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold documents but {len(predicted)} predicted")
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, predicted):
        g, p = set(g), set(p)
        for item in g & p:
            tp[item[-1]] += 1
        for item in p - g:
            fp[item[-1]] += 1
        for item in g - p:
            fn[item[-1]] += 1
    per_type = {}
    for label in labels:
        scores = _prf(tp[label], fp[label], fn[label])
        scores["support"] = tp[label] + fn[label]
        scores["predicted"] = tp[label] + fp[label]
        per_type[label] = scores
    return {"micro": _prf(sum(tp.values()), sum(fp.values()), sum(fn.values())), "per_type": per_type}


def f1_by_threshold(scores, gold, grid, forced=None):
    """F1 of the rule `score >= t` (or `forced`) against boolean `gold`, for each threshold t of `grid`."""
    import numpy as np

    predicted = np.asarray(scores)[None, :] >= np.asarray(grid)[:, None]  # (grid, n)
    if forced is not None:
        predicted = predicted | np.asarray(forced, dtype=bool)[None, :]
    gold = np.asarray(gold, dtype=bool)[None, :]
    tp = (predicted & gold).sum(1)
    fp = (predicted & ~gold).sum(1)
    fn = (~predicted & gold).sum(1)
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def shared_threshold(probs, gold, grid: Sequence[float] | None = None, default: float = 0.5, forced=None) -> float:
    """The one threshold, used for every type, that maximizes micro-F1 on held-out data.

    `forced` (same shape as `gold`, optional) marks decisions already made positive by another rule,
    such as the trigger lexicon. Ties go to the threshold closest to `default`.
    """
    import numpy as np

    grid = _grid(grid)
    flat_forced = None if forced is None else np.asarray(forced, dtype=bool).ravel()
    f1 = f1_by_threshold(np.asarray(probs, dtype=np.float64).ravel(), (np.asarray(gold) > 0.5).ravel(), grid, flat_forced)
    return _best(f1, grid, default)


def _grid(grid: Sequence[float] | None):
    import numpy as np

    return np.asarray(grid if grid is not None else np.round(np.arange(0.05, 0.951, 0.05), 2))


def _best(f1, grid, default: float) -> float:
    """The grid threshold with the highest F1; ties go to the one closest to `default`."""
    import numpy as np

    best = np.flatnonzero(np.isclose(f1, f1.max()))
    return float(grid[best[np.argmin(np.abs(grid[best] - default))]])


def tune_thresholds(
    probs,
    gold,
    event_types: Sequence[str],
    default: float = 0.5,
    grid: Sequence[float] | None = None,
    prior_strength: float = 0.0,
    forced=None,
) -> dict[str, float]:
    """Per-type decision thresholds that maximize each type's F1 on held-out data.

    `probs` and `gold` are (n_sentences, n_types) arrays; a type with no positive example gets
    `default`. Ties go to the threshold closest to `default`. With `prior_strength` k > 0, a type
    with n positives gets (n * own + k * shared) / (n + k), rounded to the grid, where `shared` is
    the single threshold best for micro-F1 over all types: rare types, whose own optimum is noise,
    stay near the shared one. `forced` marks decisions another rule (the lexicon) already made.
    """
    import numpy as np

    probs = np.asarray(probs, dtype=np.float64)
    gold = np.asarray(gold) > 0.5
    forced = np.zeros_like(gold) if forced is None else np.asarray(forced, dtype=bool)
    if probs.shape != gold.shape or forced.shape != gold.shape or probs.ndim != 2 or probs.shape[1] != len(event_types):
        raise ValueError(
            f"probs {probs.shape}, gold {gold.shape} and forced {forced.shape} must all be (n_sentences, {len(event_types)})"
        )
    if prior_strength < 0:
        raise ValueError(f"prior_strength must be >= 0, got {prior_strength}")
    grid = _grid(grid)
    shared = shared_threshold(probs, gold, grid, default, forced) if prior_strength > 0 and gold.any() else default
    thresholds = {}
    for j, name in enumerate(event_types):
        n = int(gold[:, j].sum())
        if n == 0:
            thresholds[name] = default
            continue
        own = _best(f1_by_threshold(probs[:, j], gold[:, j], grid, forced[:, j]), grid, default)
        if prior_strength > 0:
            mixed = (n * own + prior_strength * shared) / (n + prior_strength)
            own = float(grid[np.argmin(np.abs(grid - mixed))])
        thresholds[name] = own
    return thresholds
