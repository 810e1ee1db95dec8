"""The joint model on a Gemma 3 encoder (EmbeddingGemma's architecture, tiny and random): bidirectional
attention, Gemma's "▁" word-start marks through the raw-text path, predict(), windows, save/load, ONNX."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from .conftest import EXTRA_TEXTS, REPO, example_text
from nlp.backbones import encoder_states, gemma3_masks
from nlp.model import JointModel
from nlp.predictor import Predictor
from nlp.wordpieces import encode_words

LONG_SENTENCE = " ".join(["وقال المتحدث باسم وزارة الخارجية في القاهرة إن المحادثات ستستمر"] * 6) + "."


@pytest.fixture(scope="module")
def gemma_model():
    from nlp.testing import build_tiny_gemma_model

    return build_tiny_gemma_model([example_text(), *EXTRA_TEXTS], seed=0, max_length=32, window_stride=8, sliding_window=6)


@pytest.fixture(scope="module")
def gemma_dir(gemma_model, tmp_path_factory):
    directory = tmp_path_factory.mktemp("gemma_model")
    gemma_model.save_pretrained(directory)
    return directory


def _ids(model, length=20, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(300, model.encoder.config.vocab_size, (2, length), generator=generator)


def test_a_token_sees_later_tokens(gemma_model):
    ids = _ids(gemma_model)
    mask = torch.ones_like(ids)
    changed = ids.clone()
    changed[:, 15] = (changed[:, 15] + 1) % gemma_model.encoder.config.vocab_size
    with torch.no_grad():
        before = encoder_states(gemma_model.encoder, ids, mask)
        after = encoder_states(gemma_model.encoder, changed, mask)
    assert (before[:, 2] - after[:, 2]).abs().max() > 1e-3  # position 2 reads position 15 (through the full layer)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_our_masks_reproduce_transformers_bidirectional_attention(gemma_model, attention):
    encoder = gemma_model.encoder
    encoder.config._attn_implementation = attention
    try:
        ids = _ids(gemma_model, length=24, seed=1)
        mask = torch.ones_like(ids)
        mask[1, 17:] = 0
        with torch.no_grad():
            ours = encoder_states(encoder, ids, mask)
            theirs = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    finally:
        encoder.config._attn_implementation = "sdpa"
    valid = mask.bool()
    assert torch.allclose(ours[valid], theirs[valid], atol=1e-5)
    # the window matters at this length: a sliding layer must not see positions at distance >= sliding_window
    sliding = gemma3_masks(encoder.config, mask, torch.float32)["sliding_attention"]
    assert sliding.dtype == torch.bool and not sliding[0, 0, 0, encoder.config.sliding_window]


def test_padding_does_not_change_a_sentence(gemma_model):
    ids = _ids(gemma_model, length=18, seed=2)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad():
        batch = gemma_model(ids, mask)
        alone = gemma_model(ids[1:, :9], mask[1:, :9])
    assert torch.allclose(batch.event_logits[1], alone.event_logits[0], atol=1e-5)
    assert torch.allclose(batch.ner_logits[1, :9], alone.ner_logits[0], atol=1e-5)


def test_words_keep_gemma_word_start_marks(gemma_model):
    backend = gemma_model.token_frame().backend
    words = ["قال", "الرئيس", "،", "في", "Geneva"]
    [encoded] = encode_words(backend, [words])
    direct = backend.encode(" ".join(words), add_special_tokens=False)
    assert encoded.ids == direct.ids
    tokens = direct.tokens
    starts = [tokens[encoded.word_ids.index(k)] for k in range(1, len(words))]
    assert all(t.startswith("▁") for t in starts)  # every word after the first opens with the marker
    pre_split = backend.encode(words, is_pretokenized=True, add_special_tokens=False).tokens
    assert not any(t.startswith("▁") for t in pre_split)  # what passing pre-split words would have done


def test_words_map_like_pre_split_words_for_bert(tiny_model):
    backend = tiny_model.token_frame().backend
    sentences = [["أعلنت", "وزارة", "الدفاع", "Pentagon", "أن", "3", "جنود"], ["وقال", "،", "x"]]
    for words, ours in zip(sentences, encode_words(backend, sentences)):
        theirs = backend.encode(words, is_pretokenized=True, add_special_tokens=False)
        assert ours.ids == theirs.ids and ours.word_ids == theirs.word_ids


def test_frames_with_bos_and_eos(gemma_model):
    frame = gemma_model.token_frame()
    assert (frame.cls_id, frame.sep_id, frame.pad_id) == (2, 1, 0)


def test_predict_long_sentence_uses_windows_and_round_trips(gemma_model, gemma_dir):
    text = example_text()[:400] + " " + LONG_SENTENCE
    torch_result = Predictor(gemma_model, device="cpu").predict(text)
    assert len(torch_result.sentences) >= 2
    for entity in torch_result.entities:
        assert text[entity.start : entity.end] == entity.text
    predictor = Predictor(gemma_model, device="cpu")
    predictor._tokenize(sentences := predictor._prepare(0, LONG_SENTENCE, [(0, len(LONG_SENTENCE))]))
    assert len(predictor._windows(len(sentences[0].token_ids))) > 1
    assert (sentences[0].first_token >= 0).all()
    for for_inference in (False, True):
        loaded = Predictor(JointModel.from_pretrained(gemma_dir, for_inference=for_inference), device="cpu").predict(text)
        assert [s.events for s in loaded.sentences] == [s.events for s in torch_result.sentences]
        assert loaded.entities == torch_result.entities


def test_saved_config_keeps_bidirectional_attention(gemma_dir):
    config = json.loads((gemma_dir / "config.json").read_text())
    assert config["model_type"] == "gemma3_text" and config["use_bidirectional_attention"] is True


def test_causal_gemma_is_refused(gemma_model):
    from transformers import Gemma3TextModel

    from nlp.testing import tiny_gemma_config

    config = tiny_gemma_config(gemma_model.encoder.config.vocab_size)
    config.use_bidirectional_attention = False
    with pytest.raises(ValueError, match="use_bidirectional_attention"):
        JointModel(Gemma3TextModel(config), gemma_model.tokenizer)


def test_evaluation_runs_on_gemma(gemma_model):
    from nlp.evaluation import evaluate, evaluate_conll

    predictor = Predictor(gemma_model, device="cpu")
    report = evaluate(REPO / "data" / "examples" / "article_gold.jsonl", model=predictor)
    assert report["n_documents"] >= 1 and "micro" in report["events"]
    conll = evaluate_conll(REPO / "data" / "examples" / "ner_sample.conll", model=predictor)
    assert 0.0 <= conll["entities"]["micro"]["f1"] <= 1.0


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_onnx_export_of_gemma(gemma_model, gemma_dir, tmp_path, quantize):
    pytest.importorskip("onnxruntime")
    from nlp.export import export_onnx
    from nlp.onnx_predictor import OnnxPredictor

    out = export_onnx(gemma_model, tmp_path / "onnx", quantize=quantize, fp32_layers=1)
    info = json.loads((out / "export.json").read_text())
    if quantize is None:
        assert info["check"]["max_event_prob_diff"] < 1e-4 and info["check"]["max_ner_prob_diff"] < 1e-4
    else:
        assert len(info["fp32_feed_forward_layers"]) == 1
    text = example_text()[:300] + " " + LONG_SENTENCE
    onnx_result = OnnxPredictor.from_pretrained(out).predict(text, batch_size=4)
    torch_result = Predictor(gemma_model, device="cpu").predict(text, batch_size=4)
    assert [s.text for s in onnx_result.sentences] == [s.text for s in torch_result.sentences]
    if quantize is None:
        for ours, theirs in zip(onnx_result.sentences, torch_result.sentences):
            assert [t for t, _ in ours.events] == [t for t, _ in theirs.events]
            assert np.allclose([p for _, p in ours.events], [p for _, p in theirs.events], atol=1e-4)
        assert [(e.start, e.end, e.label) for e in onnx_result.entities] == [(e.start, e.end, e.label) for e in torch_result.entities]


def test_training_a_gemma_encoder_with_frozen_layers_and_checkpointing(gemma_model, tmp_path):
    from training.train import TrainConfig, train

    encoder_dir = tmp_path / "encoder"
    gemma_model.encoder.save_pretrained(encoder_dir)
    gemma_model.tokenizer.save_pretrained(encoder_dir)
    (encoder_dir / "NOTICE").write_text("Gemma is provided under and subject to the Gemma Terms of Use\n")
    examples = REPO / "data" / "examples"
    config = TrainConfig(
        encoder=str(encoder_dir), ner_train=[str(examples / "ner_sample.conll")], ner_dev=[str(examples / "ner_sample.conll")],
        articles_train=[str(examples / "article_gold.jsonl")], articles_dev=[str(examples / "article_gold.jsonl")],
        max_length=32, window_stride=8, batch_size=4, max_steps=4, eval_every=2, patience=0, learning_rate=1e-3,
        freeze_layers=1, gradient_checkpointing=True, num_threads=2, output_dir=str(tmp_path / "run"),
    )
    train(config)
    trained = JointModel.from_pretrained(tmp_path / "run" / "model")
    before, after = gemma_model.encoder.state_dict(), trained.encoder.state_dict()
    assert torch.equal(before["embed_tokens.weight"], after["embed_tokens.weight"])  # frozen
    assert torch.equal(before["layers.0.mlp.down_proj.weight"], after["layers.0.mlp.down_proj.weight"])
    assert not torch.equal(before["layers.2.mlp.down_proj.weight"], after["layers.2.mlp.down_proj.weight"])
    assert Predictor(trained, device="cpu").predict(example_text()[:300]).sentences
    # the encoder's licence notice travels with the trained model, its int8 copy and its ONNX export
    notice = (encoder_dir / "NOTICE").read_text()
    assert (tmp_path / "run" / "model" / "NOTICE").read_text() == notice
    from training.quantize_model import quantize_model

    quantize_model(tmp_path / "run" / "model", tmp_path / "int8")
    assert (tmp_path / "int8" / "NOTICE").read_text() == notice
    if importlib.util.find_spec("onnxruntime") is not None:
        from nlp.export import export_onnx

        assert (export_onnx(str(tmp_path / "run" / "model"), tmp_path / "onnx") / "NOTICE").read_text() == notice
