import itertools

import numpy as np
import pytest

from nlp.bio import spans_to_tags, tags_to_spans, transition_mask, viterbi_decode
from nlp.labels import (
    BIO_TAGS,
    ENTITY_LABELS,
    EVENT_TO_ID,
    EVENT_TYPES,
    TAG_TO_ID,
    check_event_types,
    events_to_vector,
    vector_to_events,
)


def test_label_inventories():
    assert len(EVENT_TYPES) == 16 and len(set(EVENT_TYPES)) == 16
    assert {"ASSAULT", "PROTEST", "CONSULT", "MOBILIZE", "COERCE"} <= set(EVENT_TYPES)
    assert ENTITY_LABELS == ("PER", "ORG", "LOC", "MISC")
    assert BIO_TAGS[0] == "O" and len(BIO_TAGS) == 9
    assert all(BIO_TAGS[TAG_TO_ID[t]] == t for t in BIO_TAGS)
    assert all(EVENT_TYPES[EVENT_TO_ID[e]] == e for e in EVENT_TYPES)


def test_event_vector_round_trip_and_errors():
    vector = events_to_vector(["ASSAULT", "AGREE"])
    assert sum(vector) == 2
    assert set(vector_to_events(vector)) == {"ASSAULT", "AGREE"}
    with pytest.raises(ValueError, match="unknown event type"):
        events_to_vector(["ATTACK"])
    with pytest.raises(ValueError, match="PLOVER"):
        check_event_types(["assault"])


def test_tags_spans_round_trip():
    spans = [(0, 2, "PER"), (3, 4, "LOC"), (4, 6, "LOC")]
    tags = spans_to_tags(7, spans)
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O"]
    assert tags_to_spans(tags) == spans


def test_stray_inside_tag_starts_an_entity():
    assert tags_to_spans(["O", "I-ORG", "I-ORG", "I-LOC"]) == [(1, 3, "ORG"), (3, 4, "LOC")]


def test_spans_to_tags_rejects_overlap():
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_tags(5, [(0, 3, "PER"), (2, 4, "LOC")])


def _valid(path):
    allowed, start = transition_mask()
    return start[path[0]] and all(allowed[a, b] for a, b in zip(path, path[1:]))


def test_viterbi_matches_brute_force_over_valid_sequences():
    rng = np.random.default_rng(0)
    n_tags = len(BIO_TAGS)
    for length in (1, 2, 3):
        log_probs = np.log(rng.dirichlet(np.ones(n_tags), size=(4, length)))
        paths = viterbi_decode(log_probs, np.full(4, length))
        for row in range(4):
            best = max(
                (p for p in itertools.product(range(n_tags), repeat=length) if _valid(p)),
                key=lambda p: sum(log_probs[row, i, t] for i, t in enumerate(p)),
            )
            assert tuple(paths[row]) == best


def test_viterbi_repairs_inside_without_begin_and_handles_padding():
    log_probs = np.full((2, 3, len(BIO_TAGS)), np.log(0.01))
    log_probs[:, :, TAG_TO_ID["I-PER"]] = np.log(0.9)  # argmax would give an invalid I- start
    paths = viterbi_decode(log_probs, np.array([3, 1]))
    assert all(_valid(p) for p in paths)
    assert [len(p) for p in paths] == [3, 1]
