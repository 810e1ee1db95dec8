"""Label inventories: the 16 PLOVER event types and the ANERcorp-style entity labels.

This module is the single source of truth for label names and their integer ids; the model,
the data readers, the metrics and the CLI all read them from here.
"""

from __future__ import annotations

from typing import Iterable, Sequence

#: The 16 PLOVER event types, in the order of the PLOVER manual (cooperative to conflictual).
EVENT_TYPES: tuple[str, ...] = (
    "AGREE",
    "CONSULT",
    "SUPPORT",
    "CONCEDE",
    "COOPERATE",
    "AID",
    "RETREAT",
    "REQUEST",
    "REJECT",
    "ACCUSE",
    "THREATEN",
    "PROTEST",
    "SANCTION",
    "MOBILIZE",
    "COERCE",
    "ASSAULT",
)

#: Entity labels, compatible with ANERcorp (PERS/ORG/LOC/MISC, PERS written PER here).
ENTITY_LABELS: tuple[str, ...] = ("PER", "ORG", "LOC", "MISC")

#: BIO tags used inside the model: "O", then B-/I- for each entity label.
BIO_TAGS: tuple[str, ...] = ("O",) + tuple(
    f"{prefix}-{label}" for label in ENTITY_LABELS for prefix in ("B", "I")
)

EVENT_TO_ID: dict[str, int] = {name: i for i, name in enumerate(EVENT_TYPES)}
TAG_TO_ID: dict[str, int] = {name: i for i, name in enumerate(BIO_TAGS)}


def check_event_types(events: Iterable[str], where: str = "") -> list[str]:
    """Return `events` as a list, raising ValueError for any name that is not a PLOVER type."""
    events = list(events)
    unknown = [e for e in events if e not in EVENT_TO_ID]
    if unknown:
        raise ValueError(
            f"{where}unknown event type(s) {unknown}; expected PLOVER types: {', '.join(EVENT_TYPES)}"
        )
    return events


def check_entity_label(label: str, where: str = "") -> str:
    """Return `label`, raising ValueError when it is not one of PER, ORG, LOC, MISC."""
    if label not in ENTITY_LABELS:
        raise ValueError(
            f"{where}unknown entity label {label!r}; expected one of {', '.join(ENTITY_LABELS)}"
        )
    return label


def events_to_vector(events: Iterable[str], event_types: Sequence[str] = EVENT_TYPES) -> list[float]:
    """Multi-hot vector (floats, for BCE loss) of `events` over `event_types`."""
    index = {name: i for i, name in enumerate(event_types)}
    vector = [0.0] * len(event_types)
    for name in events:
        if name not in index:
            raise ValueError(f"unknown event type {name!r}; expected one of {', '.join(event_types)}")
        vector[index[name]] = 1.0
    return vector


def vector_to_events(vector: Sequence[float], event_types: Sequence[str] = EVENT_TYPES) -> list[str]:
    """Names of the event types whose entry in a multi-hot `vector` is non-zero."""
    if len(vector) != len(event_types):
        raise ValueError(f"vector has {len(vector)} entries, expected {len(event_types)}")
    return [name for name, value in zip(event_types, vector) if value]


def bio_tags_for(entity_labels: Sequence[str]) -> tuple[str, ...]:
    """The BIO tag list ("O", B-X, I-X, ...) for a given entity label list."""
    return ("O",) + tuple(f"{p}-{label}" for label in entity_labels for p in ("B", "I"))
