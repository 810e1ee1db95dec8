import json
import shutil

import pytest
import torch

from nlp.model import JointModel, ModelSettings


def _outputs(model, text="قال الوزير في بغداد إن المحادثات ستستمر."):
    enc = model.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = model.eval()(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    return out.event_logits, out.ner_logits


def test_one_forward_gives_both_heads(tiny_model):
    events, ner = _outputs(tiny_model)
    assert events.shape == (1, 16)
    assert ner.shape[-1] == 9 and ner.shape[0] == 1


def test_loss_with_partial_supervision(tiny_model):
    enc = tiny_model.tokenizer(["قال الوزير", "هجوم على القاعدة"], return_tensors="pt", padding=True)
    event_labels = torch.zeros(2, 16)
    event_labels[1] = -1  # second sequence has no event supervision
    ner_labels = torch.full(enc["input_ids"].shape, -100)
    ner_labels[1, 1] = 1
    tiny_model.train()
    out = tiny_model(enc["input_ids"], enc["attention_mask"], event_labels=event_labels, ner_labels=ner_labels)
    tiny_model.eval()
    assert out.loss is not None and torch.isfinite(out.loss)
    assert out.event_loss is not None and out.ner_loss is not None


def test_save_and_load_round_trip(tiny_model, tiny_model_dir):
    for name in ("nlp_config.json", "config.json", "model.safetensors", "tokenizer.json"):
        assert (tiny_model_dir / name).is_file()
    loaded = JointModel.from_pretrained(tiny_model_dir)
    for a, b in zip(_outputs(tiny_model), _outputs(loaded)):
        assert torch.allclose(a, b, atol=1e-6)
    assert loaded.settings == tiny_model.settings


def test_thresholds_are_saved(tiny_model, tmp_path):
    model = JointModel.from_pretrained(_dir(tiny_model, tmp_path))
    model.set_thresholds({"ASSAULT": 0.3})
    model.save_pretrained(tmp_path / "tuned")
    assert JointModel.from_pretrained(tmp_path / "tuned").thresholds["ASSAULT"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="unknown event type"):
        model.set_thresholds({"ATTACK": 0.2})


def _dir(model, tmp_path):
    model.save_pretrained(tmp_path / "base")
    return tmp_path / "base"


def test_fp16_save_loads_as_float32(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path, dtype=torch.float16)
    loaded = JointModel.from_pretrained(tmp_path)
    assert loaded.event_head.weight.dtype == torch.float32
    a, _ = _outputs(tiny_model)
    b, _ = _outputs(loaded)
    assert torch.allclose(a, b, atol=2e-2)


def test_settings_validation():
    with pytest.raises(ValueError, match="thresholds"):
        ModelSettings(thresholds=[0.5])
    with pytest.raises(ValueError, match="pooling"):
        ModelSettings(pooling="max")


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    return shutil.copytree(tiny_model_dir, tmp_path / "model")


def test_missing_file_is_named(model_copy):
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        JointModel.from_pretrained(model_copy)


def test_missing_directory():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        JointModel.from_pretrained("/nonexistent/model")


def test_corrupted_weights_are_reported(model_copy):
    path = model_copy / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="model.safetensors"):
        JointModel.from_pretrained(model_copy)


def test_label_map_not_matching_weights(model_copy):
    settings_path = model_copy / "nlp_config.json"
    settings = json.loads(settings_path.read_text())
    settings["event_types"] = settings["event_types"][:5]
    settings["thresholds"] = settings["thresholds"][:5]
    settings_path.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="event_head"):
        JointModel.from_pretrained(model_copy)


def test_unknown_format_version(model_copy):
    settings_path = model_copy / "nlp_config.json"
    settings = json.loads(settings_path.read_text())
    settings["format_version"] = 99
    settings_path.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="format version 99"):
        JointModel.from_pretrained(model_copy)


def test_missing_tokenizer_is_one_line_naming_the_file(model_copy, capsys):
    from nlp.cli import main
    from nlp.inference import predict

    (model_copy / "tokenizer.json").unlink()
    for for_inference in (True, False):
        with pytest.raises(FileNotFoundError, match="tokenizer.json is missing"):
            JointModel.from_pretrained(model_copy, for_inference=for_inference)
    with pytest.raises(FileNotFoundError, match="tokenizer.json is missing"):
        predict("قال الوزير.", model=model_copy)
    assert main(["predict", "-", "--model", str(model_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {model_copy / 'tokenizer.json'} is missing") and err.count("\n") == 1, err


@pytest.mark.parametrize("hidden, heads", [(32, 2), (66, 3), (63, 2)])
def test_hidden_size_that_does_not_fit_names_config_json(model_copy, capsys, hidden, heads):
    from nlp.cli import main

    path = model_copy / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(hidden_size=hidden, num_attention_heads=heads)
    path.write_text(json.dumps(config), encoding="utf-8")
    for for_inference in (True, False):
        with pytest.raises(ValueError, match="config.json") as caught:
            JointModel.from_pretrained(model_copy, for_inference=for_inference)
        assert str(hidden) in str(caught.value)
    assert main(["predict", "-", "--model", str(model_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and err.count("\n") == 1, err


def test_new_model_on_a_local_encoder_checkpoint(tiny_model, tmp_path):
    tiny_model.encoder.save_pretrained(tmp_path / "encoder")
    tiny_model.tokenizer.save_pretrained(tmp_path / "encoder")
    model = JointModel.from_encoder(str(tmp_path / "encoder"))
    assert model.settings.encoder == str(tmp_path / "encoder")
    assert model.settings.max_length <= tiny_model.encoder.config.max_position_embeddings
    for key, value in tiny_model.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[key], value)
