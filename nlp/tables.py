"""Flat tables of predictions for analysts: one row per sentence-event and one per entity."""

from __future__ import annotations

from typing import Any, Sequence

from .results import DocumentPrediction

COLUMNS = ("doc_id", "kind", "label", "score", "start", "end", "text", "sentence_start", "sentence_end")


def to_rows(results: DocumentPrediction | Sequence[DocumentPrediction]) -> list[dict[str, Any]]:
    """Rows (dicts with COLUMNS): kind 'event' spans its sentence, kind 'entity' spans the mention."""
    docs = [results] if isinstance(results, DocumentPrediction) else list(results)
    rows: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, DocumentPrediction):
            raise TypeError(f"expected DocumentPrediction results; item {index} is {type(doc).__name__}")
        doc_id = doc.id if doc.id is not None else str(index)
        for s in doc.sentences:
            for label, score in s.events:
                rows.append(dict(zip(COLUMNS, (doc_id, "event", label, score, s.start, s.end, s.text, s.start, s.end))))
        for e in doc.entities:
            owner = next((s for s in doc.sentences if s.start <= e.start and e.end <= s.end), None)
            rows.append(
                dict(zip(COLUMNS, (doc_id, "entity", e.label, e.score, e.start, e.end, e.text,
                                   owner.start if owner else None, owner.end if owner else None)))
            )
    return rows


def to_dataframe(results: DocumentPrediction | Sequence[DocumentPrediction]):
    """A pandas DataFrame of `to_rows(results)` (pip install pandas)."""
    try:
        import pandas as pd
    except ImportError as err:
        raise ImportError("to_dataframe() needs pandas: pip install 'arabic-news-events[tables]'") from err
    return pd.DataFrame(to_rows(results), columns=list(COLUMNS))
