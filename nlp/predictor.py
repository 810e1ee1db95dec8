"""Inference over raw text: sentence splitting, normalization, batched encoding, decoding to raw offsets.

Data flows one way: raw text -> sentence spans -> normalized words with an offset map -> subword
windows -> one forward pass for both heads -> events per sentence and BIO entities per word ->
spans in the raw text.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .bio import decode_words, tags_to_spans, word_log_probs
from .model import JointModel, TokenFrame
from .preprocess import normalize, normalize_tokens, split_sentences, split_words
from .results import DocumentPrediction, EntityPrediction, SentencePrediction
from .wordpieces import encode_words

#: Work proceeds in chunks of about this many sentences (long documents are cut), to bound memory.
CHUNK_SENTENCES = 1024
#: With progress=None, a bar is shown when stderr is a terminal and a call reaches this many sentences on its
#: device: a few seconds of work (the default model runs 75-100 sentences/s on 2 CPU cores, many more on a GPU).
PROGRESS_MIN_SENTENCES = {"cpu": 250, "cuda": 2000}


def default_batch_size(device: torch.device) -> int:
    """Sentences per forward pass when none is given: 16 on the CPU (smaller attention matrices stay in cache;
    measured 9% faster than 32), 256 on a GPU (bf16, bucketed by length)."""
    return 256 if device.type == "cuda" else 16


def resolve_device(device: str | torch.device | None) -> torch.device:
    """`None` means CUDA when available, else CPU; a CUDA request without a GPU is an error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but no CUDA GPU is available; use device='cpu'")
    return resolved


@dataclass
class _Sentence:
    doc: int
    start: int  # raw offsets into the document
    end: int
    words: list[str]  # normalized word strings, fed to the tokenizer
    word_spans: np.ndarray  # (n_words, 2) raw offsets into the document
    token_ids: list[int] = field(default_factory=list)
    first_token: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # -1: no subword


class Predictor:
    """A loaded joint model bound to a device, ready to annotate raw texts."""

    def __init__(self, model: JointModel, device: str | torch.device | None = None, batch_size: int | None = None):
        if not isinstance(model, JointModel):
            raise TypeError(f"Predictor expects a JointModel, got {type(model).__name__}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        batch_size = default_batch_size(self.device) if batch_size is None else batch_size
        self._bind(model.token_frame(), model.settings, batch_size, model.lexicon_yaml)

    def _bind(self, frame: TokenFrame, settings, batch_size: int, lexicon_yaml: str | None = None) -> None:
        """Set up the tokenizer, label settings and lexicon shared by every backend (torch, ONNX)."""
        self.batch_size = _check_batch_size(batch_size)
        self._lexicon_types = frozenset(settings.lexicon_types)
        self._lexicon = None
        if self._lexicon_types:
            from .lexicon import model_lexicon

            self._lexicon = model_lexicon(lexicon_yaml, self._lexicon_types, settings.normalization_config)
        # a private backend: calling the transformers tokenizer with truncation or padding changes its
        # backend's settings, which would silently change this predictor's windows
        self._backend = frame.backend
        self._cls, self._sep, self._pad = frame.cls_id, frame.sep_id, frame.pad_id
        self.settings = settings
        self._norm = settings.normalization_config
        self._window = settings.max_length - 2
        self._stride = settings.window_stride
        self._thresholds = np.asarray(settings.thresholds, dtype=np.float32)
        self._event_types = list(settings.event_types)
        self._tags = list(settings.bio_tags)
        self._outside = self._tags.index("O")

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], device: str | torch.device | None = None, batch_size: int | None = None) -> "Predictor":
        return cls(JointModel.from_pretrained(directory, for_inference=True), device=device, batch_size=batch_size)

    # ---- public -------------------------------------------------------------------------

    def predict(
        self,
        texts: str | Sequence[str],
        batch_size: int | None = None,
        progress: bool | None = None,
        errors: str = "raise",
    ) -> DocumentPrediction | list[DocumentPrediction]:
        """Annotate one text (returns one result) or a sequence of texts (returns a list)."""
        single = isinstance(texts, str)
        docs = [texts] if single else _check_texts(texts, errors)
        results = list(self.predict_iter(docs, batch_size=batch_size, progress=progress, errors=errors))
        return results[0] if single else results

    def predict_iter(
        self,
        texts: Iterable[str],
        batch_size: int | None = None,
        progress: bool | None = None,
        sentence_spans: Iterable[Sequence[tuple[int, int]] | None] | None = None,
        errors: str = "raise",
        keep_probabilities: bool = False,
    ) -> Iterator[DocumentPrediction]:
        """Yield one result per text, in order, working over chunks of documents to bound memory.

        `sentence_spans` optionally gives each text's sentence spans (e.g. gold sentences for
        evaluation) instead of running the splitter. With `errors="skip"`, an item that is not a
        str yields an empty result whose `error` says why, and the other texts are unaffected.
        `keep_probabilities` stores every type's probability on each sentence (for reports).
        """
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        _check_errors(errors)
        spans_iter = iter(sentence_spans) if sentence_spans is not None else None
        total = _known_total(texts, sentence_spans) if progress is not False else None
        bar = None
        # pieces of documents: (text, sentence spans, error, last piece of its document); a long
        # document is cut into pieces of CHUNK_SENTENCES sentences, so memory stays bounded
        chunk: list[tuple[str, list[tuple[int, int]], str | None, bool]] = []
        pending: DocumentPrediction | None = None  # a document whose later pieces are still to come
        n_sentences = 0
        n_done = 0  # sentences of the chunks already run
        try:
            for index, text in enumerate(texts):
                given = next(spans_iter) if spans_iter is not None else None
                if not isinstance(text, str):
                    message = _type_message(index, text)
                    if errors == "raise":
                        raise TypeError(message)
                    chunk.append(("", [], message, True))
                    continue
                spans = split_sentences(text) if given is None else _check_spans(text, given, index)
                starts = range(0, len(spans), CHUNK_SENTENCES) if spans else [0]
                for k in starts:
                    piece = spans[k : k + CHUNK_SENTENCES]
                    chunk.append((text, piece, None, k + CHUNK_SENTENCES >= len(spans)))
                    n_sentences += len(piece)
                    if n_sentences >= CHUNK_SENTENCES:
                        bar = self._progress_bar(bar, progress, n_sentences, n_done, total)
                        done, pending = self._finish_chunk(chunk, batch_size, bar, keep_probabilities, pending)
                        yield from done
                        chunk, n_done, n_sentences = [], n_done + n_sentences, 0
            if chunk:
                bar = self._progress_bar(bar, progress, n_sentences, n_done, total)
                done, pending = self._finish_chunk(chunk, batch_size, bar, keep_probabilities, pending)
                yield from done
        finally:
            if bar is not None:
                bar.close()

    # ---- pipeline -----------------------------------------------------------------------

    def _progress_bar(self, bar, progress: bool | None, n_sentences: int, n_done: int = 0, total: int | None = None):
        """The bar for the next chunk of `n_sentences`, after `n_done` sentences: created when first due, else grown.

        With `total` (the whole call's sentence count, known for sized inputs) the bar is sized once; a
        stream's bar grows chunk by chunk. By default (`progress=None`) a bar appears on a terminal once a call
        reaches PROGRESS_MIN_SENTENCES for its device.
        """
        if bar is not None:
            if total is None:
                bar.total = (bar.total or 0) + n_sentences
                bar.refresh()
            return bar
        seen = n_done + n_sentences if total is None else total
        if not (progress if progress is not None else self._long_call_on_a_terminal(seen)):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=seen, initial=n_done, unit="sent", desc="predict", leave=False)

    def _long_call_on_a_terminal(self, n_sentences: int) -> bool:
        """The default progress rule: stderr is a terminal and the call is likely to take a few seconds or more."""
        minimum = PROGRESS_MIN_SENTENCES.get(self.device.type, max(PROGRESS_MIN_SENTENCES.values()))
        return n_sentences >= minimum and _is_terminal(sys.stderr)

    def _prepare(self, doc: int, text: str, spans: list[tuple[int, int]]) -> list[_Sentence]:
        sentences = []
        for start, end in spans:
            norm = normalize(text[start:end], self._norm)
            words = split_words(norm.text)
            if words:
                w = np.asarray(words, dtype=np.int64)
                raw_start, raw_end = norm.to_raw_spans(w[:, 0], w[:, 1])
                word_spans = np.stack([raw_start, raw_end], axis=1) + start
            else:
                word_spans = np.zeros((0, 2), dtype=np.int64)
            sentences.append(_Sentence(doc, start, end, [norm.text[a:b] for a, b in words], word_spans))
        return sentences

    def _tokenize(self, sentences: list[_Sentence]) -> None:
        todo = [s for s in sentences if s.words]
        if not todo:
            return
        encodings = encode_words(self._backend, [s.words for s in todo])
        for sentence, enc in zip(todo, encodings):
            sentence.token_ids = list(enc.ids)
            word_ids = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
            first = np.full(len(sentence.words), -1, dtype=np.int64)
            valid = np.flatnonzero(word_ids >= 0)
            if valid.size:
                words, first_index = np.unique(word_ids[valid], return_index=True)  # first occurrence of each word
                first[words] = valid[first_index]
            sentence.first_token = first

    def _windows(self, n_tokens: int) -> list[tuple[int, int]]:
        if n_tokens <= self._window:
            return [(0, n_tokens)]
        step = self._window - self._stride
        windows = []
        start = 0
        while True:
            end = min(start + self._window, n_tokens)
            windows.append((end - self._window, end) if end - start < self._window else (start, end))
            if end >= n_tokens:
                return windows
            start += step

    def _finish_chunk(
        self, chunk, batch_size: int, bar, keep_probabilities: bool, pending: DocumentPrediction | None
    ) -> tuple[list[DocumentPrediction], DocumentPrediction | None]:
        """Run a chunk; the documents it completes, and the document still waiting for later pieces."""
        done = []
        for result, last in self._run_chunk(chunk, batch_size, bar, keep_probabilities):
            pending = _merge(pending, result)
            if last:
                done.append(pending)
                pending = None
        return done, pending

    def _run_chunk(self, chunk, batch_size: int, bar, keep_probabilities: bool = False) -> Iterator[tuple[DocumentPrediction, bool]]:
        """Results for each document piece of a chunk, each with its 'last piece' flag."""
        sentences: list[_Sentence] = []
        for doc, (text, spans, _, _) in enumerate(chunk):
            sentences.extend(self._prepare(doc, text, spans))
        event_probs, paths, word_probs = self._infer(sentences, batch_size, bar)
        by_doc = [DocumentPrediction(text=text, error=error) for text, _, error, _ in chunk]
        for s_idx, s in enumerate(sentences):
            result = by_doc[s.doc]
            probs = event_probs[s_idx]
            hits = set(np.flatnonzero(probs >= self._thresholds).tolist()) if s.token_ids else set()
            if self._lexicon is not None:  # types the stored trigger lexicon adds (chosen on dev)
                sentence_text = result.text[s.start : s.end]
                hits.update(self._event_types.index(t) for t in self._lexicon.events(sentence_text))
            events = tuple(
                sorted(((self._event_types[j], float(probs[j])) for j in hits), key=lambda p: -p[1])
            )
            kept = tuple(float(p) for p in probs) if keep_probabilities else None
            result.sentences.append(SentencePrediction(result.text[s.start : s.end], s.start, s.end, events, kept))
            tags = [self._tags[t] for t in paths[s_idx]]
            for w_start, w_end, label in tags_to_spans(tags):
                start = int(s.word_spans[w_start, 0])
                end = _extend_over_marks(result.text, int(s.word_spans[w_end - 1, 1]), s.end)
                score = float(word_probs[s_idx][w_start:w_end].mean())
                result.entities.append(EntityPrediction(result.text[start:end], label, start, end, score))
        for result, (_, _, _, last) in zip(by_doc, chunk):
            yield result, last

    def tag_words(
        self, sentences: Sequence[Sequence[str]], batch_size: int | None = None, progress: bool | None = None
    ) -> tuple[list[list[str]], np.ndarray]:
        """BIO tags for pre-tokenized sentences (e.g. CoNLL tokens) and each sentence's event probabilities.

        Each token is normalized as the model expects and kept as one word.
        """
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        prepared = []
        for index, words in enumerate(sentences):
            if isinstance(words, str) or not all(isinstance(w, str) for w in words):
                raise TypeError(f"sentence {index} must be a sequence of str tokens")
            norm = normalize_tokens(list(words), self._norm)
            prepared.append(_Sentence(0, 0, 0, norm, np.zeros((len(norm), 2), dtype=np.int64)))
        bar = self._progress_bar(None, progress, len(prepared))
        try:
            event_probs, paths, _ = self._infer(prepared, batch_size, bar)
        finally:
            if bar is not None:
                bar.close()
        return [[self._tags[t] for t in path] for path in paths], event_probs

    def _infer(self, sentences: list[_Sentence], batch_size: int, bar) -> tuple[np.ndarray, list[list[int]], list[np.ndarray]]:
        """Event probabilities per sentence, and the decoded tag ids and their probabilities per word."""
        self._tokenize(sentences)
        # windows over every sentence with tokens: (sentence index, token start, token end)
        windows = [
            (i, a, b)
            for i, s in enumerate(sentences)
            if s.token_ids
            for a, b in self._windows(len(s.token_ids))
        ]
        order = sorted(range(len(windows)), key=lambda k: windows[k][2] - windows[k][1])
        event_probs = np.zeros((len(sentences), len(self._event_types)), dtype=np.float32)
        token_logp: list[np.ndarray | None] = [None] * len(sentences)
        centrality: list[np.ndarray | None] = [None] * len(sentences)
        n_tags = len(self._tags)
        for s_idx, s in enumerate(sentences):
            if s.token_ids:
                token_logp[s_idx] = np.zeros((len(s.token_ids), n_tags), dtype=np.float32)
                centrality[s_idx] = np.full(len(s.token_ids), -1, dtype=np.int64)

        done_sentences = 0
        batches = [[windows[k] for k in order[start : start + batch_size]] for start in range(0, len(order), batch_size)]
        framed = ([[self._cls] + sentences[i].token_ids[a:b] + [self._sep] for i, a, b in batch] for batch in batches)
        for batch, (ev, ner) in zip(batches, self._forward_batches(framed)):
            for row, (i, a, b) in enumerate(batch):
                np.maximum(event_probs[i], ev[row], out=event_probs[i])
                positions = np.arange(a, b)
                central = np.minimum(positions - a, b - 1 - positions)
                better = central > centrality[i][a:b]
                centrality[i][a:b] = np.where(better, central, centrality[i][a:b])
                token_logp[i][a:b][better] = ner[row, 1 : 1 + b - a][better]
                if b == len(sentences[i].token_ids):
                    done_sentences += 1
            if bar is not None:
                bar.update(done_sentences)
                done_sentences = 0
        if bar is not None:
            bar.update(done_sentences + sum(1 for s in sentences if not s.token_ids))
        paths, word_probs = self._decode(sentences, token_logp)
        return event_probs, paths, word_probs

    def _pad_batch(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Right-padded input ids and attention mask (int64) for one batch of framed sequences."""
        length = max(len(seq) for seq in sequences)
        ids = np.full((len(sequences), length), self._pad, dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.int64)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return ids, mask

    def _forward_batches(self, batches: Iterable[list[list[int]]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`_forward` over batches, results in order (one at a time here; backends may overlap them)."""
        return map(self._forward, batches)

    def _forward(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Event probabilities (batch, types) and NER log-probabilities (batch, seq, tags)."""
        ids_np, mask_np = self._pad_batch(sequences)
        ids = torch.from_numpy(ids_np).to(self.device, non_blocking=True)
        mask = torch.from_numpy(mask_np).to(self.device, non_blocking=True)
        with torch.inference_mode():
            if self.device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    out = self.model(input_ids=ids, attention_mask=mask)
            else:
                out = self.model(input_ids=ids, attention_mask=mask)
            events, ner = (t.cpu().numpy() for t in out.probabilities())
        return events, ner

    def _decode(self, sentences: list[_Sentence], token_logp) -> tuple[list[list[int]], list[np.ndarray]]:
        """Valid-BIO decoding over words from first-subword log-probs."""
        n_tags = len(self._tags)
        per_word = [word_log_probs(token_logp[i], s.first_token, n_tags, self._outside) for i, s in enumerate(sentences)]
        return decode_words(per_word, self._tags)


def _merge(pending: DocumentPrediction | None, piece: DocumentPrediction) -> DocumentPrediction:
    """Append a later piece of the same document (sentences and entities in text order)."""
    if pending is None:
        return piece
    pending.sentences.extend(piece.sentences)
    pending.entities.extend(piece.entities)
    return pending


def _extend_over_marks(text: str, end: int, limit: int) -> int:
    """Move `end` past combining marks and tatweel that normalization dropped after a word."""
    while end < limit and (text[end] == "\u0640" or unicodedata.category(text[end]) == "Mn"):
        end += 1
    return end


def _is_terminal(stream) -> bool:
    """True when `stream` (e.g. sys.stderr) is an interactive terminal; False for files, pipes, None."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def _check_errors(errors: object) -> None:
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")


def _type_message(index: int, item: object) -> str:
    hint = " (decode bytes first, e.g. data.decode('utf-8'))" if isinstance(item, (bytes, bytearray)) else ""
    return f"text at index {index} is {type(item).__name__}{hint}; predict() expects str or a sequence of str"


def _known_total(texts, sentence_spans) -> int | None:
    """Sentences a call will process when its inputs are sized sequences (None for streams), for the progress bar."""
    if not isinstance(texts, Sequence) or not (sentence_spans is None or isinstance(sentence_spans, Sequence)):
        return None
    total = 0
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            continue
        given = sentence_spans[index] if sentence_spans is not None and index < len(sentence_spans) else None
        if given is not None and not isinstance(given, Sequence):
            return None  # spans given as an iterator: unknown without consuming them
        total += len(given) if given is not None else len(split_sentences(text))
    return total


def _check_texts(texts: object, errors: str = "raise") -> list:
    """The texts as a list; non-str items raise TypeError unless errors='skip' (then they stay, to be reported)."""
    _check_errors(errors)
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError("predict() expects str, not bytes: decode first, e.g. data.decode('utf-8')")
    if isinstance(texts, dict) or not isinstance(texts, Iterable):
        raise TypeError(f"predict() expects a str or a sequence of str, got {type(texts).__name__}")
    docs = list(texts)
    if errors == "raise":
        for index, text in enumerate(docs):
            if not isinstance(text, str):
                raise TypeError(_type_message(index, text))
    return docs


def _check_spans(text: str, spans: Sequence[tuple[int, int]], index: int) -> list[tuple[int, int]]:
    checked = []
    previous_end = 0
    for start, end in spans:
        if not (isinstance(start, int) and isinstance(end, int) and previous_end <= start < end <= len(text)):
            raise ValueError(
                f"document {index}: sentence span ({start}, {end}) is out of range, empty or overlaps the previous one"
            )
        checked.append((start, end))
        previous_end = end
    return checked
