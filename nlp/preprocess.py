"""Text preprocessing: AraBERT-style normalization with an offset map, and sentence splitting.

Everything here keeps a way back to the raw text: normalization returns, for each normalized
character, the index of the raw character it came from; the splitter returns raw-text spans.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

__all__ = [
    "NormalizationConfig",
    "NormalizedText",
    "normalize",
    "split_sentences",
    "split_words",
    "normalize_tokens",
]

# --- character classes (code points) -------------------------------------------------------

_DIACRITICS = (
    list(range(0x0610, 0x061B))  # Quranic honorifics and small marks
    + list(range(0x064B, 0x0660))  # tashkeel: fathatan .. wavy hamza below
    + [0x0670]  # superscript alef
    + list(range(0x06D6, 0x06DD))
    + list(range(0x06DF, 0x06E5))
    + [0x06E7, 0x06E8]
    + list(range(0x06EA, 0x06EE))  # Quranic annotation marks
)
_TATWEEL = [0x0640]
_ALEF_VARIANTS = {0x0622: 0x0627, 0x0623: 0x0627, 0x0625: 0x0627, 0x0671: 0x0627}  # آ أ إ ٱ -> ا
_YAA_VARIANTS = {0x0649: 0x064A, 0x06CC: 0x064A}  # ى ی -> ي
_TAA_MARBUTA = {0x0629: 0x0647}  # ة -> ه
_DIGITS = {**{0x0660 + i: 0x30 + i for i in range(10)}, **{0x06F0 + i: 0x30 + i for i in range(10)}}
_PUNCTUATION = {
    0x060C: ord(","),  # Arabic comma
    0x061B: ord(";"),  # Arabic semicolon
    0x061F: ord("?"),  # Arabic question mark
    0x066A: ord("%"),  # Arabic percent sign
    0x066B: ord("."),  # Arabic decimal separator
    0x066C: ord(","),  # Arabic thousands separator
    0x06D4: ord("."),  # Arabic full stop
    0x00AB: ord('"'),  # «
    0x00BB: ord('"'),  # »
}
_INVISIBLE = (
    [0x00AD, 0x061C, 0xFEFF]  # soft hyphen, Arabic letter mark, BOM / zero-width no-break space
    + list(range(0x200B, 0x2010))  # zero-width space/joiners, LRM, RLM
    + list(range(0x202A, 0x202F))  # bidi embeddings and overrides
    + list(range(0x2060, 0x2065))  # word joiner, invisible operators
    + list(range(0x2066, 0x206A))  # bidi isolates
)
_REPLACEMENT_CHAR = 0xFFFD
_BMP = 0x10000


@dataclass(frozen=True)
class NormalizationConfig:
    """Which normalizations to apply; stored with every model so training and prediction agree."""

    remove_diacritics: bool = True
    remove_tatweel: bool = True
    normalize_alef: bool = True
    normalize_yaa: bool = True
    normalize_taa_marbuta: bool = False
    normalize_digits: bool = True
    normalize_punctuation: bool = False
    remove_invisible: bool = True
    collapse_whitespace: bool = True

    def to_dict(self) -> dict[str, bool]:
        """Plain dict, for JSON model configs."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> "NormalizationConfig":
        """Build from a dict, rejecting unknown keys (a typo must not silently change behaviour)."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown normalization option(s) {unknown}; known: {sorted(known)}")
        for key, value in values.items():
            if not isinstance(value, bool):
                raise TypeError(f"normalization option {key!r} must be true or false, got {value!r}")
        return cls(**values)


@dataclass(frozen=True)
class NormalizedText:
    """A normalized string plus, for each of its characters, the raw index it came from."""

    text: str
    offsets: np.ndarray  # int64 array, len(text); offsets[i] = raw index of text[i]
    raw_length: int

    def to_raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalized span [start, end) to the smallest raw span holding its characters."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span ({start}, {end}) is outside the normalized text of length {len(self.text)}")
        if start == end:
            raw = int(self.offsets[start]) if start < len(self.text) else self.raw_length
            return raw, raw
        return int(self.offsets[start]), int(self.offsets[end - 1]) + 1

    def to_raw_spans(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized `to_raw_span` for non-empty spans."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        return self.offsets[starts], self.offsets[ends - 1] + 1


@lru_cache(maxsize=16)
def _tables(config: NormalizationConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables over the BMP: keep flag, replacement code point and whitespace flag."""
    keep = np.ones(_BMP, dtype=bool)
    replace = np.arange(_BMP, dtype=np.uint32)
    space = np.zeros(_BMP, dtype=bool)
    for cp in range(0x3001):
        if chr(cp).isspace():
            space[cp] = True
    removed: list[int] = []
    if config.remove_diacritics:
        removed += _DIACRITICS
    if config.remove_tatweel:
        removed += _TATWEEL
    if config.remove_invisible:
        removed += _INVISIBLE
        removed += [
            cp for cp in range(0x00A0) if unicodedata.category(chr(cp)) == "Cc" and not space[cp]
        ]
    keep[removed] = False
    mapping: dict[int, int] = {}
    for enabled, table in (
        (config.normalize_alef, _ALEF_VARIANTS),
        (config.normalize_yaa, _YAA_VARIANTS),
        (config.normalize_taa_marbuta, _TAA_MARBUTA),
        (config.normalize_digits, _DIGITS),
        (config.normalize_punctuation, _PUNCTUATION),
    ):
        if enabled:
            mapping.update(table)
    for src, dst in mapping.items():
        replace[src] = dst
    replace[0xD800:0xE000] = _REPLACEMENT_CHAR  # lone surrogates cannot reach the tokenizer
    if config.collapse_whitespace:
        replace[space] = ord(" ")
    return keep, replace, space


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def normalize(text: str, config: NormalizationConfig | None = None) -> NormalizedText:
    """Normalize `text` AraBERT-style and return the result with its offset map to `text`.

    Characters are removed or replaced one for one (never expanded), so every normalized span
    maps back to a raw span that normalizes to exactly that span.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() expects a str, got {type(text).__name__}")
    config = config or NormalizationConfig()
    keep_table, replace_table, space_table = _tables(config)
    cps = _code_points(text)
    in_bmp = cps < _BMP
    index = np.where(in_bmp, cps, 0)
    keep = np.where(in_bmp, keep_table[index], True)
    new = np.where(in_bmp, replace_table[index], cps).astype("<u4")
    kept = np.flatnonzero(keep)
    if config.collapse_whitespace and kept.size:
        is_space = np.where(in_bmp[kept], space_table[index[kept]], False)
        drop = np.zeros(kept.size, dtype=bool)
        drop[1:] = is_space[1:] & is_space[:-1]
        kept = kept[~drop]
    out = new[kept].tobytes().decode("utf-32-le")
    return NormalizedText(out, kept.astype(np.int64), len(text))


# --- words ---------------------------------------------------------------------------------


def normalize_tokens(tokens: list[str], config: NormalizationConfig | None = None) -> list[str]:
    """Normalize pre-split tokens (e.g. CoNLL words) one by one, each kept as one word.

    Training and tagging of token files both go through here, so they always agree.
    """
    return [normalize(token, config).text.strip() for token in tokens]


# A word is a run of letters, digits, combining marks and joiners, or one other non-space char.
_WORD_RE = re.compile(
    r"(?:[^\W_]|[\u0300-\u036F\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200C\u200D])+"
    r"|\S"
)


def split_words(text: str) -> list[tuple[int, int]]:
    """Spans of the words of `text`: letter/digit runs (clitics attached) and single punctuation."""
    return [m.span() for m in _WORD_RE.finditer(text)]


# --- sentences -----------------------------------------------------------------------------

_LINE_RE = re.compile(r"[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
# A run of sentence-final punctuation, then any closing quotes or brackets.
_TERMINATOR_RE = re.compile(r"[.!?\u061F\u2026\u06D4]+[\"'\u201D\u2019\u00BB)\]}\u203A]*")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs no nos inc ltd co corp gen col lt sgt capt gov sen rep "
    "jan feb mar apr jun jul aug sep sept oct nov dec fig approx dept est".split()
)


def _is_arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064A" or "\u0671" <= ch <= "\u06D3" or "\u06FA" <= ch <= "\u06FF"


def _word_before(line: str, pos: int) -> str:
    start = pos
    while start > 0 and not line[start - 1].isspace() and line[start - 1] not in "\"'(«“":
        start -= 1
    return line[start:pos]


def _is_boundary(line: str, match: re.Match[str], sentence_start: int) -> bool:
    """Decide whether the terminator run `match` inside `line` ends a sentence."""
    end = match.end()
    if end >= len(line):
        return True
    nxt = line[end]
    if not (nxt.isspace() or _is_arabic_letter(nxt)):
        return False  # 2.5, 30.000, example.com, U.S.A, "?!" followed by more punctuation
    if match.group() != ".":
        return True
    before = _word_before(line, match.start())
    if not before:
        return True
    core = before.replace(".", "")
    if before.lower() in _ABBREVIATIONS or (len(core) == 1 and core.isalpha()):
        return False  # Dr. / J. / د. / م.
    if "." in before and all(len(part) <= 2 for part in before.split(".")) and core.isalpha():
        return False  # U.S. / ق.م.
    if before.isdigit() and len(before) <= 3 and not line[sentence_start : match.start() - len(before)].strip():
        return False  # "1." list marker at the start of a sentence
    return True


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) into `text`, end-exclusive, as the article format defines them.

    Boundaries fall after . ! ? ؟ … (closing quotes kept) and at line breaks; never inside
    numbers such as 2.5, 30.000 or 20/10/2023, nor after common abbreviations or initials.
    Spans exclude surrounding whitespace and together cover all non-space text, in order.
    """
    if not isinstance(text, str):
        raise TypeError(f"split_sentences() expects a str, got {type(text).__name__}")
    spans: list[tuple[int, int]] = []

    def add(start: int, end: int) -> None:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))

    for line_match in _LINE_RE.finditer(text):
        line = line_match.group()
        base = line_match.start()
        sentence_start = 0
        for term in _TERMINATOR_RE.finditer(line):
            if _is_boundary(line, term, sentence_start):
                add(base + sentence_start, base + term.end())
                sentence_start = term.end()
        add(base + sentence_start, base + len(line))
    return spans
