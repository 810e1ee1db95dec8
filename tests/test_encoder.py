"""The inference encoder (nlp.encoder) and the transformers-free loading path agree with transformers."""

import json
import subprocess
import sys

import pytest
import torch

from .conftest import REPO, example_text
from nlp.encoder import BertEncoder, EncoderConfig, is_plain_bert
from nlp.model import JointModel, load_tokenizer, read_token_frame, token_frame


def _random_bert(hidden_act: str):
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=120, hidden_size=48, num_hidden_layers=3, num_attention_heads=4, intermediate_size=96,
        max_position_embeddings=40, hidden_act=hidden_act, layer_norm_eps=1e-7,
    )
    torch.manual_seed(3)
    reference = BertModel(config, add_pooling_layer=False).eval()
    with torch.no_grad():  # non-trivial LayerNorm and token-type parameters, so a wrong wiring shows
        for name, param in reference.named_parameters():
            if "LayerNorm" in name or "token_type" in name:
                param.normal_(0.5, 0.3)
    return config, reference


@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_new", "relu"])
def test_encoder_matches_transformers_bert(hidden_act):
    config, reference = _random_bert(hidden_act)
    light = BertEncoder(EncoderConfig.from_dict(config.to_dict())).eval()
    light.load_state_dict(reference.state_dict())  # strict: the parameter names are the same
    ids = torch.randint(0, 120, (3, 17), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    mask[2, 3:] = 0
    with torch.inference_mode():
        expected = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        got = light(ids, mask).last_hidden_state
    real = mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-5, rtol=1e-4)


def test_only_plain_bert_configs_are_taken():
    base = {"model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16}
    assert is_plain_bert(base)
    assert not is_plain_bert({**base, "model_type": "roberta"})  # positions offset by the padding id
    assert not is_plain_bert({**base, "position_embedding_type": "relative_key"})
    assert not is_plain_bert({**base, "hidden_act": "silu"})
    assert not is_plain_bert({**base, "is_decoder": True})
    assert not is_plain_bert({**base, "num_attention_heads": 3})
    assert not is_plain_bert({**base, "num_attention_heads": 0})
    assert not is_plain_bert({**base, "hidden_size": True})
    assert not is_plain_bert({**base, "layer_norm_eps": "small"})
    assert not is_plain_bert({**base, "dtype": "bfloat16"})  # transformers would run it in bf16
    assert is_plain_bert({**base, "dtype": "float32"})
    assert EncoderConfig.from_dict({**base, "model_type": "electra"}) is None


def test_token_frame_read_directly_equals_transformers(tiny_model_dir):
    direct = read_token_frame(tiny_model_dir)
    via_transformers = token_frame(load_tokenizer(tiny_model_dir))
    assert direct is not None
    assert (direct.cls_id, direct.sep_id, direct.pad_id) == (
        via_transformers.cls_id, via_transformers.sep_id, via_transformers.pad_id
    )
    assert direct.backend.to_str() == via_transformers.backend.to_str()


def test_token_frame_falls_back_where_transformers_would_differ(tiny_model_dir, tmp_path):
    (tmp_path / "tokenizer.json").write_bytes((tiny_model_dir / "tokenizer.json").read_bytes())
    config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))

    def frame_with(values, special_map=None):
        (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, **values}), encoding="utf-8")
        (tmp_path / "special_tokens_map.json").unlink(missing_ok=True)
        if special_map is not None:
            (tmp_path / "special_tokens_map.json").write_text(json.dumps(special_map), encoding="utf-8")
        return read_token_frame(tmp_path)

    assert frame_with({}) is not None
    # None: the caller then loads the tokenizer with transformers, which adds, rebuilds or overrides
    assert frame_with({"cls_token": "[NOT-IN-VOCAB]"}) is None
    assert frame_with({"tokenizer_class": "BertTokenizer"}) is None
    assert frame_with({}, special_map={"cls_token": "[SEP]"}) is None
    (tmp_path / "tokenizer.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ValueError, match="tokenizer.json"):
        frame_with({})


def test_inference_loading_gives_the_same_predictions(tiny_model_dir):
    from nlp.predictor import Predictor

    text = example_text()
    light = JointModel.from_pretrained(tiny_model_dir, for_inference=True)
    full = JointModel.from_pretrained(tiny_model_dir)
    assert isinstance(light.encoder, BertEncoder) and not isinstance(full.encoder, BertEncoder)
    got, expected = Predictor(light).predict(text), Predictor(full).predict(text)
    # the same decisions; scores equal up to float rounding (the two attention calls differ in the last bit)
    assert [(s.start, s.end, [t for t, _ in s.events]) for s in got.sentences] == [
        (s.start, s.end, [t for t, _ in s.events]) for s in expected.sentences
    ]
    assert [(e.start, e.end, e.label) for e in got.entities] == [(e.start, e.end, e.label) for e in expected.entities]
    scores = [p for s in got.sentences for _, p in s.events] + [e.score for e in got.entities]
    reference = [p for s in expected.sentences for _, p in s.events] + [e.score for e in expected.entities]
    assert scores == pytest.approx(reference, abs=1e-5)


def test_inference_loaded_model_keeps_its_tokenizer_frame(tiny_model_dir, tmp_path):
    import shutil

    from nlp.predictor import Predictor

    shutil.copytree(tiny_model_dir, tmp_path / "copy")
    light = JointModel.from_pretrained(tmp_path / "copy", for_inference=True)
    shutil.rmtree(tmp_path / "copy")  # predicting needs nothing more from the directory
    expected = Predictor(JointModel.from_pretrained(tiny_model_dir, for_inference=True)).predict(example_text())
    got = Predictor(light).predict(example_text())
    assert [(e.start, e.end, e.label) for e in got.entities] == [(e.start, e.end, e.label) for e in expected.entities]


def test_inference_loaded_model_saves_and_reloads(tiny_model_dir, tmp_path):
    light = JointModel.from_pretrained(tiny_model_dir, for_inference=True)
    assert light.tokenizer.is_fast  # loaded with transformers on first use
    light.save_pretrained(tmp_path / "copy")
    again = JointModel.from_pretrained(tmp_path / "copy")  # transformers reads the config written back
    for key, value in light.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)


def test_predict_does_not_import_transformers(tiny_model_dir):
    code = (
        "import sys, nlp; "
        f"nlp.predict('قال الوزير إن المحادثات ستستمر في الرياض.', model={str(tiny_model_dir)!r}, device='cpu'); "
        "print('transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
