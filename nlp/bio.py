"""BIO tagging helpers: allowed transitions, constrained (valid-BIO) decoding and span conversion."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .labels import BIO_TAGS


def transition_mask(tags: Sequence[str] = BIO_TAGS) -> tuple[np.ndarray, np.ndarray]:
    """Boolean matrices of allowed (previous -> next) transitions and allowed first tags.

    `I-X` may only follow `B-X` or `I-X`; a sequence may not start with `I-X`.
    """
    n = len(tags)
    allowed = np.ones((n, n), dtype=bool)
    start = np.ones(n, dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = False
            label = tag[2:]
            for i, prev in enumerate(tags):
                allowed[i, j] = prev in (f"B-{label}", f"I-{label}")
    return allowed, start


def viterbi_decode(
    log_probs: np.ndarray, lengths: np.ndarray, tags: Sequence[str] = BIO_TAGS
) -> list[list[int]]:
    """Best valid BIO tag sequence for each row of a padded batch of per-word log-probabilities.

    `log_probs` is (batch, max_words, n_tags); `lengths` gives each row's number of words.
    The loop runs over word positions, with the whole batch handled at once at each step.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    batch, max_len, n_tags = log_probs.shape
    if n_tags != len(tags):
        raise ValueError(f"log_probs has {n_tags} tags, expected {len(tags)}")
    lengths = np.asarray(lengths, dtype=np.int64)
    if max_len == 0:
        return [[] for _ in range(batch)]
    allowed, start_ok = transition_mask(tags)
    penalty = np.where(allowed, 0.0, -np.inf)  # (prev, next)
    score = log_probs[:, 0, :] + np.where(start_ok, 0.0, -np.inf)[None, :]
    back = np.zeros((batch, max_len, n_tags), dtype=np.int64)
    for t in range(1, max_len):
        candidates = score[:, :, None] + penalty[None, :, :]  # (batch, prev, next)
        best_prev = candidates.argmax(axis=1)
        best = np.take_along_axis(candidates, best_prev[:, None, :], axis=1)[:, 0, :] + log_probs[:, t, :]
        active = (t < lengths)[:, None]
        score = np.where(active, best, score)
        back[:, t, :] = np.where(active, best_prev, np.arange(n_tags)[None, :])
    paths: list[list[int]] = []
    last = score.argmax(axis=1)
    for row in range(batch):
        n = int(lengths[row])
        if n == 0:
            paths.append([])
            continue
        path = [int(last[row])]
        for t in range(n - 1, 0, -1):
            path.append(int(back[row, t, path[-1]]))
        paths.append(path[::-1])
    return paths


def tags_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entity spans (first_word, last_word_exclusive, label) of a BIO tag sequence.

    An `I-X` that does not continue an entity of label X starts a new one (lenient, as conlleval).
    """
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, tag_label = tag.partition("-")
        continues = prefix == "I" and tag_label == label and start >= 0
        if start >= 0 and not continues:
            spans.append((start, i, label))
            start, label = -1, ""
        if prefix in ("B", "I") and not continues:
            start, label = i, tag_label
    return spans


def spans_to_tags(n_words: int, spans: Sequence[tuple[int, int, str]]) -> list[str]:
    """BIO tags for `n_words` words given entity spans in word indices (end-exclusive)."""
    tags = ["O"] * n_words
    for start, end, label in sorted(spans):
        if not 0 <= start < end <= n_words:
            raise ValueError(f"entity span ({start}, {end}) is outside 0..{n_words} words")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"entity span ({start}, {end}, {label}) overlaps another entity")
        tags[start] = f"B-{label}"
        for i in range(start + 1, end):
            tags[i] = f"I-{label}"
    return tags


def word_log_probs(token_log_probs: np.ndarray | None, first_token: np.ndarray, n_tags: int, outside: int = 0) -> np.ndarray:
    """Per-word tag log-probabilities taken at each word's first subword (first-subword labelling).

    Words without a subword (`first_token` -1), or all words when `token_log_probs` is None, are
    certainly O.
    """
    first = np.asarray(first_token, dtype=np.int64)
    out = np.full((len(first), n_tags), -np.inf, dtype=np.float32)
    out[:, outside] = 0.0
    if token_log_probs is not None:
        has = first >= 0
        out[has] = token_log_probs[first[has]]
    return out


def decode_words(
    word_log_probs_list: Sequence[np.ndarray], tags: Sequence[str] = BIO_TAGS, group: int = 256
) -> tuple[list[list[int]], list[np.ndarray]]:
    """Valid-BIO tag ids and their probabilities for many sentences of per-word log-probabilities.

    Sentences are decoded in groups of similar length (padding is O) to keep the batch small.
    """
    outside = list(tags).index("O")
    paths: list[list[int]] = [[] for _ in word_log_probs_list]
    probs: list[np.ndarray] = [np.ones(0, dtype=np.float32) for _ in word_log_probs_list]
    todo = sorted((i for i, w in enumerate(word_log_probs_list) if len(w)), key=lambda i: len(word_log_probs_list[i]))
    for g in range(0, len(todo), group):
        ids = todo[g : g + group]
        lengths = np.asarray([len(word_log_probs_list[i]) for i in ids])
        padded = np.full((len(ids), int(lengths.max()), len(tags)), -np.inf, dtype=np.float32)
        padded[:, :, outside] = 0.0
        for row, i in enumerate(ids):
            padded[row, : lengths[row]] = word_log_probs_list[i]
        for row, (i, path) in enumerate(zip(ids, viterbi_decode(padded, lengths, tags))):
            paths[i] = path
            probs[i] = np.exp(padded[row, np.arange(len(path)), path])
    return paths, probs
