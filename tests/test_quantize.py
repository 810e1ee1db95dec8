"""Weight-only int8 model directories: smaller on disk, loaded back as floats, same predictions, clear errors."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .conftest import EXTRA_TEXTS, example_text
from nlp.inference import predict
from nlp.model import WEIGHTS_FILE, JointModel
from nlp.quantize import SCALE_PREFIX, dequantize_state, is_quantized, quantize_state
from training.quantize_model import main as quantize_main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from nlp.testing import build_tiny_model

    # hidden 128: the feed-forward matrices (128 x 512) and the embeddings are large enough to be quantized
    model = build_tiny_model([example_text(), *EXTRA_TEXTS], seed=3, hidden_size=128, max_length=64, window_stride=16)
    directory = tmp_path_factory.mktemp("fp32_model")
    model.save_pretrained(directory)
    (directory / "dev_report.json").write_text(json.dumps({"score": 0.5}))
    return directory


def test_round_trip_error_is_within_half_a_step_per_row():
    torch.manual_seed(0)
    state = {"w": torch.randn(300, 400) * torch.linspace(0.01, 3.0, 300)[:, None], "b": torch.randn(400),
             "small": torch.randn(8, 8), "ids": torch.arange(5)}
    packed = quantize_state(state)
    assert packed["w"].dtype == torch.int8 and packed[SCALE_PREFIX + "w"].shape == (300,)
    assert packed["b"].dtype == torch.float16 and packed["small"].dtype == torch.float16  # too small to quantize
    assert torch.equal(packed["ids"], state["ids"])
    restored = dequantize_state(packed)
    step = state["w"].abs().amax(dim=1) / 127.0
    assert ((restored["w"] - state["w"]).abs() <= step[:, None] / 2 + 1e-6).all()
    assert set(restored) == set(state)
    assert not is_quantized(restored) and dequantize_state(state) == state


def test_quantizing_twice_is_refused():
    packed = quantize_state({"w": torch.randn(300, 300)})
    with pytest.raises(ValueError, match="already quantized"):
        quantize_state(packed)


def test_int8_directory_is_smaller_and_predicts_the_same(model_dir, tmp_path, capsys):
    out = tmp_path / "int8"
    quantize_main(["--model", str(model_dir), "--output", str(out)])
    assert "MB" in capsys.readouterr().out
    assert (out / WEIGHTS_FILE).stat().st_size < 0.45 * (model_dir / WEIGHTS_FILE).stat().st_size
    with safe_open(str(out / WEIGHTS_FILE), framework="pt") as handle:
        assert handle.metadata()["nlp_weights"] == "int8-rowwise-symmetric"
    assert json.loads((out / "dev_report.json").read_text()) == {"score": 0.5}  # other files copied
    original, quantized = JointModel.from_pretrained(model_dir), JointModel.from_pretrained(out)
    assert all(p.is_floating_point() for p in quantized.state_dict().values())
    ids = torch.tensor([original.tokenizer(example_text()[:300])["input_ids"]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        for left, right in zip(original(ids, mask).probabilities(), quantized(ids, mask).probabilities()):
            assert (left - right).abs().max() < 0.02
    a, b = predict(example_text(), model=original), predict(example_text(), model=quantized)
    assert [(s.start, s.end) for s in a.sentences] == [(s.start, s.end) for s in b.sentences]
    same = sum([x for x, _ in left.events] == [x for x, _ in right.events] for left, right in zip(a.sentences, b.sentences))
    assert same >= len(a.sentences) - 1
    spans_a = {(e.start, e.end, e.label) for e in a.entities}
    spans_b = {(e.start, e.end, e.label) for e in b.entities}
    assert len(spans_a ^ spans_b) <= max(2, len(spans_a) // 10)


def test_output_must_be_a_new_directory(model_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        quantize_main(["--model", str(model_dir), "--output", str(model_dir)])
    assert exit_info.value.code == 2
    assert "must differ" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        quantize_main(["--model", str(model_dir), "--output", str(busy)])
    assert "not empty" in capsys.readouterr().err and (busy / "x.txt").read_text() == "keep me"


def test_a_damaged_scale_names_the_file(model_dir, tmp_path):
    out = tmp_path / "int8"
    quantize_main(["--model", str(model_dir), "--output", str(out)])
    state = load_file(str(out / WEIGHTS_FILE))
    key = next(k for k in state if k.startswith(SCALE_PREFIX))
    state[key] = state[key][:-1]
    save_file(state, str(out / WEIGHTS_FILE))
    with pytest.raises(ValueError, match="model.safetensors.*one scale per row"):
        JointModel.from_pretrained(out)


def test_save_pretrained_rejects_an_unknown_scheme(model_dir, tmp_path):
    model = JointModel.from_pretrained(model_dir)
    with pytest.raises(ValueError, match="quantize must be None or 'int8'"):
        model.save_pretrained(tmp_path / "x", quantize="int4")
