"""Sub-word tokens of pre-split words, read from the words joined by single spaces (the raw-text path).

Tokenizers that mark word starts inside the text (Gemma's "▁" from a normalizer, with no pre-tokenizer)
lose the markers when words are passed pre-split (`is_pretokenized=True`); joining the words and mapping
each token's character offsets back to its word gives every tokenizer the text it was trained on.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class WordTokens:
    """Token ids of one sentence (no special tokens) and the word each token belongs to (None: none)."""

    ids: list[int]
    word_ids: list[int | None]


def encode_words(backend: Any, sentences: Sequence[Sequence[str]]) -> list[WordTokens]:
    """Tokenize each sentence's words joined by spaces with a `tokenizers.Tokenizer` (no truncation).

    A token belongs to the word holding its last character; a token made only of the space before a
    word (a lone word-start marker) belongs to that next word.
    """
    texts, spans = [], []
    for words in sentences:
        if isinstance(words, str):
            raise TypeError("each sentence must be a sequence of words, not a str")
        starts, ends, position = [], [], 0
        for word in words:
            starts.append(position)
            ends.append(position + len(word))
            position += len(word) + 1
        texts.append(" ".join(words))
        spans.append((starts, ends))
    encodings = backend.encode_batch(texts, add_special_tokens=False) if texts else []
    out = []
    for enc, (starts, ends) in zip(encodings, spans):
        word_ids: list[int | None] = []
        for begin, end in enc.offsets:
            last = max(begin, end - 1)
            k = bisect_right(starts, last) - 1
            if k >= 0 and last < ends[k]:
                word_ids.append(k)
            elif k + 1 < len(starts):
                word_ids.append(k + 1)
            else:
                word_ids.append(None)
        out.append(WordTokens(list(enc.ids), word_ids))
    return out
