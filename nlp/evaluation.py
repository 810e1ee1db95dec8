"""Score a model on annotated articles: events on the gold sentence spans, entities on the raw text."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Iterable, Sequence

import torch

from .articles import Article, read_articles
from .labels import ENTITY_LABELS
from .metrics import entity_scores, event_scores
from .inference import ModelLike, load_predictor


def evaluate(
    gold: str | os.PathLike[str] | Iterable[Article],
    model: ModelLike = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
    corpus: str | os.PathLike[str] | Sequence[str] | None = None,
    return_details: bool = False,
) -> dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]:
    """Evaluation report (a JSON-ready dict) of `model` on gold articles (a JSONL path or Articles).

    The gold sentence spans are classified, so sentence-splitting errors do not leak into event
    scores; entity scores are exact span and label over each article's raw text. With `corpus`,
    `gold` is a standoff file (ids and offsets) whose text is taken from the corpus by id.
    With `return_details`, also returns per-sentence gold types, predicted types and all
    probabilities (for plots, see `nlp.report`).
    """
    if corpus is not None:
        from .data import read_standoff

        articles = read_standoff(gold, corpus)  # type: ignore[arg-type]
    else:
        articles = read_articles(gold) if isinstance(gold, (str, os.PathLike)) else list(gold)
    for index, article in enumerate(articles):
        if not isinstance(article, Article):
            raise TypeError(f"gold item {index} is {type(article).__name__}; expected an Article")
    predictor = load_predictor(model, device=device, batch_size=batch_size)
    spans = [None if a.sentences is None else [(s.start, s.end) for s in a.sentences] for a in articles]
    predictions = list(
        predictor.predict_iter(
            [a.text for a in articles], batch_size=batch_size, progress=progress, sentence_spans=spans,
            keep_probabilities=return_details,
        )
    )
    details: dict[str, Any] = {"event_types": list(predictor.settings.event_types),
                               "thresholds": predictor.settings.thresholds_by_type}
    report: dict[str, Any] = {"n_documents": len(articles)}
    with_sentences = [(a, p) for a, p in zip(articles, predictions) if a.sentences is not None]
    if with_sentences:
        gold_events = [set(s.events) for a, _ in with_sentences for s in a.sentences]
        pred_events = [{label for label, _ in s.events} for _, p in with_sentences for s in p.sentences]
        report["events"] = event_scores(gold_events, pred_events, predictor.settings.event_types)
        report["n_sentences"] = len(gold_events)
        details.update(gold_events=gold_events, pred_events=pred_events)
        if return_details:
            details["probabilities"] = [s.probabilities for _, p in with_sentences for s in p.sentences]
    with_entities = [(a, p) for a, p in zip(articles, predictions) if a.entities is not None]
    if with_entities:
        report["entities"] = entity_scores(
            [{(e.start, e.end, e.label) for e in a.entities} for a, _ in with_entities],
            [{(e.start, e.end, e.label) for e in p.entities} for _, p in with_entities],
            ENTITY_LABELS,
        )
        report["n_entity_documents"] = len(with_entities)
    return (report, details) if return_details else report


def evaluate_conll(
    path: str | os.PathLike[str],
    model: ModelLike = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Entity-level (conlleval-style, via seqeval) scores of `model` on a CoNLL file such as ANERcorp.

    Tokens are taken as given (one word each), so the numbers compare with published ones.
    """
    from .data import read_conll
    from .extras import require

    require("seqeval", "eval", "scoring a CoNLL file (evaluate_conll, python -m nlp evaluate FILE.conll)")
    from seqeval.metrics import classification_report
    from seqeval.metrics.sequence_labeling import get_entities

    sentences = read_conll(path)
    predictor = load_predictor(model, device=device, batch_size=batch_size)
    predicted, _ = predictor.tag_words([s.tokens for s in sentences], batch_size=batch_size, progress=progress)
    gold = [s.tags for s in sentences]
    table = classification_report(gold, predicted, output_dict=True, zero_division=0)
    n_predicted = Counter(label for label, _, _ in get_entities(predicted))
    per_type = {
        label: {
            "precision": float(table[label]["precision"]) if label in table else 0.0,
            "recall": float(table[label]["recall"]) if label in table else 0.0,
            "f1": float(table[label]["f1-score"]) if label in table else 0.0,
            "support": int(table[label]["support"]) if label in table else 0,
            "predicted": n_predicted[label],
        }
        for label in ENTITY_LABELS
    }
    micro = table["micro avg"]
    return {
        "entities": {
            "micro": {"precision": float(micro["precision"]), "recall": float(micro["recall"]), "f1": float(micro["f1-score"])},
            "per_type": per_type,
        },
        "n_documents": 1,
        "n_sentences": len(sentences),
        "n_tokens": sum(len(s.tokens) for s in sentences),
    }


def format_report(report: dict[str, Any]) -> str:
    """A readable plain-text table of an evaluation report."""
    lines = [f"documents: {report['n_documents']}"]
    if "n_sentences" in report:
        lines[0] += f"   sentences: {report['n_sentences']}"
    for section, title in (("events", "Events (per gold sentence)"), ("entities", "Entities (exact span and label)")):
        if section not in report:
            continue
        part = report[section]
        lines += ["", title, f"{'type':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}{'predicted':>10}"]
        for label, s in part["per_type"].items():
            if s["support"] or s["predicted"]:  # false positives of a type absent from gold get a row
                lines.append(f"{label:<12}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}{s['support']:>10d}{s['predicted']:>10d}")
        for avg in ("micro", "macro"):
            if avg in part:
                s = part[avg]
                lines.append(f"{avg:<12}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}")
        if "has_event_accuracy" in part:
            lines.append(f"has-any-event accuracy: {part['has_event_accuracy']:.3f}")
        if part.get("no_event_sentences"):
            lines.append(f"no-event sentences given an event: {part['no_event_flagged']:.3f} of {part['no_event_sentences']}")
    return "\n".join(lines)
