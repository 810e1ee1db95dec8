"""Prediction results: sentences with scored events and entities, all offsets into the raw text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SentencePrediction:
    """One sentence: `text == raw[start:end]`, events as (label, score) pairs above threshold."""

    text: str
    start: int
    end: int
    events: tuple[tuple[str, float], ...] = ()
    # every event type's probability, in the model's type order; only when asked for (evaluation reports)
    probabilities: tuple[float, ...] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "events": [label for label, _ in self.events],
            "scores": {label: round(score, 4) for label, score in self.events},
        }


@dataclass(frozen=True)
class EntityPrediction:
    """One entity mention: `text == raw[start:end]`, label PER/ORG/LOC/MISC, mean tag probability."""

    text: str
    label: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass
class DocumentPrediction:
    """Everything predicted for one input text."""

    text: str
    sentences: list[SentencePrediction] = field(default_factory=list)
    entities: list[EntityPrediction] = field(default_factory=list)
    id: str | None = None
    error: str | None = None  # set when the input could not be processed (predict(..., errors="skip"))

    def to_dict(self, id: str | None = None, source: str | None = None) -> dict[str, Any]:
        """The article format of FORMAT.md (id, source, date, title, text, sentences, entities) plus scores."""
        out = {
            "id": id if id is not None else self.id,
            "source": source,
            "date": None,
            "title": None,
            "text": self.text,
            "sentences": [s.to_dict() for s in self.sentences],
            "entities": [e.to_dict() for e in self.entities],
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    @property
    def events(self) -> list[str]:
        """Distinct event types found anywhere in the document, in order of first mention."""
        seen: dict[str, None] = {}
        for sentence in self.sentences:
            for label, _ in sentence.events:
                seen.setdefault(label, None)
        return list(seen)
