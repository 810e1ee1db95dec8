"""Data readers: CoNLL NER files, annotated articles (inline or standoff), raw corpora.

Readers validate as they go and name the file and line of any problem. Training examples are
sentences turned into the same normalized words that `predict()` feeds the model.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .articles import Article, iter_articles, iter_json_lines
from .bio import spans_to_tags
from .extras import require
from .labels import ENTITY_LABELS
from .preprocess import NormalizationConfig, normalize, normalize_tokens, split_sentences, split_words

# Tag spellings found in ANERcorp releases (PERS for PER, and typos of the 2007 file) -> our tags.
_TAG_FIXES = {
    "B-PERS": "B-PER", "I-PERS": "I-PER", "B-PERs": "B-PER", "IPERS": "I-PER", "B-ERS": "B-PER",
    "B-ORF": "B-ORG", "B-OEG": "B-ORG", "B-PRG": "B-ORG", "I-PRG": "I-ORG",
    "B-MSIC": "B-MISC", "b-misc": "B-MISC", "i-misc": "I-MISC", "o": "O", "B-LOCI-PERS": "B-LOC",
}
_VALID_TAGS = {"O"} | {f"{p}-{label}" for label in ENTITY_LABELS for p in "BI"}


@dataclass
class NerSentence:
    """One CoNLL sentence: tokens and their BIO tags over PER/ORG/LOC/MISC."""

    tokens: list[str]
    tags: list[str]


def _fix_tag(tag: str, where: str, strict: bool) -> str:
    fixed = _TAG_FIXES.get(tag, tag)
    if fixed in _VALID_TAGS:
        return fixed
    if strict:
        raise ValueError(f"{where}unknown NER tag {tag!r}; expected O or B-/I- with {', '.join(ENTITY_LABELS)} (or PERS)")
    return "O"


def read_conll(path: str | os.PathLike[str], strict: bool = True) -> list[NerSentence]:
    """Read a CoNLL-style file: `token TAG` per line (tag last), blank lines between sentences.

    ANERcorp quirks are handled: PERS becomes PER, known tag typos are mapped, and a file with no
    blank lines at all (the 2007 release) is split after sentence-final tokens. With
    `strict=False`, unreadable lines and unknown tags become O instead of raising.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    sentences: list[NerSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    saw_blank = False
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}: "
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise ValueError(f"{where}not valid UTF-8 ({err.reason})") from None
            if number == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                saw_blank = True
                if tokens:
                    sentences.append(NerSentence(tokens, tags))
                    tokens, tags = [], []
                continue
            if line.startswith("-DOCSTART-"):
                continue
            parts = line.split()
            if len(parts) < 2:
                if strict:
                    raise ValueError(f"{where}expected 'token TAG', got {line!r}")
                continue
            tokens.append(parts[0])
            tags.append(_fix_tag(parts[-1], where, strict))
    if tokens:
        sentences.append(NerSentence(tokens, tags))
    if not saw_blank and sentences:
        sentences = _split_unbroken(sentences[0])
    return [_repair_bio(s) for s in sentences]


def _split_unbroken(block: NerSentence) -> list[NerSentence]:
    out, start = [], 0
    for i, token in enumerate(block.tokens):
        if token in {".", "!", "?", "؟"} and block.tags[i] == "O":
            out.append(NerSentence(block.tokens[start : i + 1], block.tags[start : i + 1]))
            start = i + 1
    if start < len(block.tokens):
        out.append(NerSentence(block.tokens[start:], block.tags[start:]))
    return out


def _repair_bio(sentence: NerSentence) -> NerSentence:
    """An I-X that does not continue an X entity starts one (conlleval reads it the same way)."""
    tags = list(sentence.tags)
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and (i == 0 or tags[i - 1][2:] != tag[2:]):
            tags[i] = "B-" + tag[2:]
    return NerSentence(sentence.tokens, tags)


def _dataset_class():
    """`datasets.Dataset`, from the [train] extra."""
    return require("datasets", "train", "building a datasets.Dataset (training)").Dataset


def conll_dataset(path: str | os.PathLike[str], strict: bool = True):
    """A `datasets.Dataset` with columns `tokens` and `ner_tags` (tag strings)."""
    Dataset = _dataset_class()

    rows = read_conll(path, strict=strict)
    return Dataset.from_dict({"tokens": [r.tokens for r in rows], "ner_tags": [r.tags for r in rows]})


# --- corpora and standoff annotations ------------------------------------------------------


def _looks_like_conll(path: Path) -> bool:
    """True when the first lines of a plain-text file are `token TAG` pairs with BIO tags (e.g. ANERcorp)."""
    seen = 0
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if not line or line.startswith("-DOCSTART-"):
                continue
            parts = line.split()
            tag = _TAG_FIXES.get(parts[-1], parts[-1])
            if len(parts) != 2 or tag not in _VALID_TAGS:
                return False
            seen += 1
            if seen >= 20:
                break
    return seen > 0


def iter_corpus(path: str | os.PathLike[str], text_field: str = "text", id_field: str = "id") -> Iterator[dict[str, str]]:
    """Yield {'id', 'text'} from a .jsonl / .jsonl.gz corpus, a CoNLL file or a .txt file.

    A CoNLL file (ANERcorp) gives one document per sentence, id `STEM:N` (N counts sentences from 1),
    text its tokens joined by single spaces; a plain .txt file gives one document per line (`STEM:LINE`).
    """
    path = Path(path)
    if path.name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
        for where, record in iter_json_lines(path):
            if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
                raise ValueError(f"{where}expected an object with a string {text_field!r}")
            yield {"id": str(record.get(id_field, where.rstrip(": "))), "text": record[text_field]}
        return
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix != ".gz" and (path.suffix == ".conll" or _looks_like_conll(path)):
        for number, sentence in enumerate(read_conll(path, strict=False), start=1):
            yield {"id": f"{path.stem}:{number}", "text": " ".join(sentence.tokens)}
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{path}:{number}: not valid UTF-8 ({err.reason})") from None
            if line.strip():
                yield {"id": f"{path.stem}:{number}", "text": line.rstrip("\r\n")}


def corpus_paths(corpus: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None) -> list[str]:
    """One corpus path or several, as a list (standoff files may draw on several corpora by id)."""
    if corpus is None:
        return []
    if isinstance(corpus, (str, os.PathLike)):
        return [str(corpus)]
    return [str(c) for c in corpus]


def read_standoff(
    annotations: str | os.PathLike[str],
    corpus: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    text_field: str = "text",
    id_field: str = "id",
) -> list[Article]:
    """Articles from standoff annotations (ids and offsets, no text) and the corpus or corpora holding the text."""
    records: list[tuple[str, dict[str, Any]]] = []
    for where, record in iter_json_lines(annotations):
        if not isinstance(record, dict) or "id" not in record:
            raise ValueError(f"{where}a standoff record needs an 'id'")
        records.append((where, record))
    wanted = {str(r["id"]) for _, r in records}
    texts = {}
    paths = corpus_paths(corpus)
    for path in paths:
        if len(texts) == len(wanted):
            break
        for doc in iter_corpus(path, text_field=text_field, id_field=id_field):
            if doc["id"] in wanted:
                texts[doc["id"]] = doc["text"]
    articles = []
    for where, record in records:
        doc_id = str(record["id"])
        if doc_id not in texts:
            raise ValueError(f"{where}document id {doc_id!r} is not in the corpus {', '.join(paths)}")
        articles.append(Article.from_dict({**record, "text": texts[doc_id]}, where))
    return articles


# --- training examples ---------------------------------------------------------------------


@dataclass
class Example:
    """One training sentence: normalized words, BIO tags (or None) and event types (or None)."""

    words: list[str]
    tags: list[str] | None = None
    events: list[str] | None = None
    event_mask: list[str] | None = None  # types whose label is supervised (None: all of them)
    weight: float = 1.0  # weight of this sentence's event loss (silver labels: below 1)


def examples_from_conll(sentences: Iterable[NerSentence], normalization: NormalizationConfig) -> list[Example]:
    """NER-only examples; each token is normalized and kept as one word."""
    return [
        Example(normalize_tokens(s.tokens, normalization), list(s.tags), None)
        for s in sentences
    ]


def examples_from_articles(articles: Iterable[Article], normalization: NormalizationConfig) -> list[Example]:
    """One example per sentence (gold spans, else the splitter) with whichever layers are annotated."""
    out = []
    for article in articles:
        text = article.text
        if article.sentences is not None:
            spans = [(s.start, s.end) for s in article.sentences]
            events: list[list[str] | None] = [list(s.events) for s in article.sentences]
        else:
            spans = split_sentences(text)
            events = [None] * len(spans)
        entities = sorted(article.entities or [], key=lambda e: e.start)
        for (start, end), sentence_events in zip(spans, events):
            norm = normalize(text[start:end], normalization)
            words = split_words(norm.text)
            tags = None
            if article.entities is not None:
                if words:
                    w = np.asarray(words)
                    raw_start, raw_end = norm.to_raw_spans(w[:, 0], w[:, 1])
                    raw_start, raw_end = raw_start + start, raw_end + start
                else:
                    raw_start = raw_end = np.zeros(0, dtype=np.int64)
                word_spans = []
                for e in entities:
                    if e.end <= start or e.start >= end:
                        continue
                    inside = np.flatnonzero((raw_start >= e.start) & (raw_start < e.end))
                    if inside.size:
                        word_spans.append((int(inside[0]), int(inside[-1]) + 1, e.label))
                tags = spans_to_tags(len(words), word_spans)
            out.append(Example([norm.text[a:b] for a, b in words], tags, sentence_events))
    return out


def load_examples(
    conll: Sequence[str] = (),
    articles: Sequence[str] = (),
    standoff: Sequence[str] = (),
    corpus: str | Sequence[str] | None = None,
    normalization: NormalizationConfig | None = None,
) -> list[Example]:
    """All training examples from CoNLL files, article JSONL files and standoff files (+ corpus)."""
    normalization = normalization or NormalizationConfig()
    examples: list[Example] = []
    for path in conll:
        examples += examples_from_conll(read_conll(path), normalization)
    for path in articles:
        examples += examples_from_articles(iter_articles(path), normalization)
    if standoff and not corpus:
        raise ValueError("standoff annotations need the corpus that holds their text (corpus: PATH)")
    for path in standoff:
        examples += examples_from_articles(read_standoff(path, corpus), normalization)  # type: ignore[arg-type]
    return examples


def pretraining_dataset(paths: Sequence[str | os.PathLike[str]], normalization: NormalizationConfig | None = None, deduplicate: bool = True):
    """A `datasets.Dataset` of normalized, optionally deduplicated texts for masked-LM pretraining."""
    Dataset = _dataset_class()

    normalization = normalization or NormalizationConfig()
    seen: set[int] = set()
    texts = []
    for path in paths:
        for doc in iter_corpus(path):
            text = normalize(doc["text"], normalization).text.strip()
            key = hash(text)
            if not text or (deduplicate and key in seen):
                continue
            seen.add(key)
            texts.append(text)
    return Dataset.from_dict({"text": texts})


def articles_dataset(path: str | os.PathLike[str], corpus: str | os.PathLike[str] | Sequence[str] | None = None):
    """A `datasets.Dataset` of validated articles (id, text, sentences, entities) from article-format
    JSONL, or from a standoff file plus the corpus holding its text."""
    Dataset = _dataset_class()

    articles = read_standoff(path, corpus) if corpus is not None else list(iter_articles(path))
    rows = []
    for a in articles:
        rows.append(
            {
                "id": a.id,
                "text": a.text,
                "sentences": [{"start": s.start, "end": s.end, "events": list(s.events)} for s in a.sentences or []],
                "entities": [{"start": e.start, "end": e.end, "label": e.label} for e in a.entities or []],
                "has_events": a.sentences is not None,
                "has_entities": a.entities is not None,
            }
        )
    return Dataset.from_list(rows)
