"""ONNX export: the exported model gives the torch predictor's results through predict(), CLI included."""

import dataclasses
import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from .conftest import EXAMPLE, EXTRA_TEXTS, REPO, example_text

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[onnx]')")
pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[onnx]')")


@pytest.fixture(scope="module")
def onnx_dir(tiny_model_dir, tmp_path_factory):
    from nlp.export import export_onnx

    return export_onnx(tiny_model_dir, tmp_path_factory.mktemp("onnx") / "fp32")


@pytest.fixture(scope="module")
def int8_dir(tiny_model, tmp_path_factory):
    from nlp.export import export_onnx

    return export_onnx(tiny_model, tmp_path_factory.mktemp("onnx") / "int8", quantize="int8")


def test_fp32_export_gives_the_same_results_as_torch(onnx_dir, tiny_model_dir):
    from nlp import predict

    texts = [example_text(), *EXTRA_TEXTS, "", "قال."]
    expected = predict(texts, model=str(tiny_model_dir), device="cpu")
    got = predict(texts, model=str(onnx_dir))
    assert len(got) == len(expected)
    assert all(_same(a, b) for a, b in zip(got, expected))


def _same(a, b) -> bool:
    """Same sentences, events and entity spans; scores equal to float tolerance."""
    if [(s.start, s.end, [e for e, _ in s.events]) for s in a.sentences] != [
        (s.start, s.end, [e for e, _ in s.events]) for s in b.sentences
    ]:
        return False
    if [(e.start, e.end, e.label) for e in a.entities] != [(e.start, e.end, e.label) for e in b.entities]:
        return False
    return np.allclose([e.score for e in a.entities], [e.score for e in b.entities], atol=1e-4)


def test_concurrent_workers_give_the_results_of_one(onnx_dir):
    from nlp.onnx_predictor import OnnxPredictor

    texts = [example_text(), *EXTRA_TEXTS, example_text()[:300], "قال."] * 3
    one = OnnxPredictor(onnx_dir, batch_size=2, num_threads=1, workers=1)
    several = OnnxPredictor(onnx_dir, batch_size=2, num_threads=2, workers=3)  # many batches in flight, in order
    assert several.workers == 3
    got, expected = several.predict(texts), one.predict(texts)
    assert all(_same(a, b) for a, b in zip(got, expected)) and len(got) == len(expected)
    with pytest.raises(ValueError, match="workers"):
        OnnxPredictor(onnx_dir, workers=0)


def test_export_records_a_close_check_and_keeps_settings(onnx_dir, tiny_model):
    info = json.loads((onnx_dir / "export.json").read_text(encoding="utf-8"))
    assert info["format"] == "onnx" and info["quantize"] == "none"
    assert info["check"]["max_event_prob_diff"] < 1e-4 and info["check"]["max_ner_prob_diff"] < 1e-4
    settings = json.loads((onnx_dir / "nlp_config.json").read_text(encoding="utf-8"))
    assert settings["thresholds"] == tiny_model.settings.thresholds


def test_long_sentences_use_windows_like_torch(onnx_dir, tiny_model_dir):
    from nlp import predict

    long_text = " ".join([EXTRA_TEXTS[0].rstrip(".")] * 12) + "."  # far past max_length=64 tokens
    a = predict(long_text, model=str(onnx_dir))
    b = predict(long_text, model=str(tiny_model_dir), device="cpu")
    assert _same(a, b)


def test_full_int8_quantizes_more_than_int8(int8_dir, tmp_path, tiny_model):
    import onnx

    from nlp.export import export_onnx

    full = export_onnx(tiny_model, tmp_path / "full", quantize="int8-full")

    def quantized(directory):
        return sum(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for n in onnx.load(str(directory / "model.onnx")).graph.node)

    assert quantized(full) > quantized(int8_dir) > 0  # "int8" keeps the feed-forward outputs in fp32
    with pytest.raises(ValueError, match="quantize must be one of"):
        export_onnx(tiny_model, tmp_path / "bad", quantize="int4")


def test_int8_keeps_the_feed_forward_layers_with_the_largest_calibration_peaks(tiny_model, tmp_path, caplog):
    import onnx

    from nlp.export import CALIBRATION_TEXT, export_onnx, feed_forward_peaks

    peaks = feed_forward_peaks(tiny_model, CALIBRATION_TEXT)
    assert len(peaks) == tiny_model.encoder.config.num_hidden_layers and min(peaks) > 0
    filters = list(logging.getLogger().filters)
    with caplog.at_level("WARNING"):
        out = export_onnx(tiny_model, tmp_path / "one", quantize="int8", fp32_layers=1)
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]  # onnxruntime's image-model hint is dropped
    assert logging.getLogger().filters == filters  # and the filter is gone afterwards
    info = json.loads((out / "export.json").read_text(encoding="utf-8"))
    assert info["fp32_feed_forward_layers"] == [peaks.index(max(peaks))]
    float_ffn = [n.name for n in onnx.load(str(out / "model.onnx")).graph.node if n.op_type == "MatMul" and n.name.endswith("/output/dense/MatMul") and "/attention/" not in n.name]
    assert float_ffn == [f"/model/encoder/encoder/layer.{peaks.index(max(peaks))}/output/dense/MatMul"]
    with pytest.raises(ValueError, match="fp32_layers"):
        export_onnx(tiny_model, tmp_path / "bad", quantize="int8", fp32_layers=-1)
    with pytest.raises(FileNotFoundError, match="calibration"):
        export_onnx(tiny_model, tmp_path / "bad", quantize="int8", calibration=tmp_path / "missing.txt")


def test_int8_export_keeps_the_output_structure(int8_dir, onnx_dir):
    from nlp import OnnxPredictor

    assert (int8_dir / "model.onnx").stat().st_size < (onnx_dir / "model.onnx").stat().st_size
    predictor = OnnxPredictor(int8_dir, num_threads=1)
    result = predictor.predict(example_text())
    assert len(result.sentences) == 11
    for entity in result.entities:
        assert result.text[entity.start : entity.end] == entity.text
    assert json.loads(json.dumps(result.to_dict()))["text"] == example_text()


def test_onnx_model_refuses_a_gpu_and_bad_directories(onnx_dir, tmp_path):
    from nlp import OnnxPredictor, predict

    with pytest.raises(ValueError, match="CPU"):
        predict("قال.", model=str(onnx_dir), device="cuda")
    with pytest.raises(FileNotFoundError, match="export"):
        OnnxPredictor(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in onnx_dir.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    (broken / "model.onnx").write_bytes((onnx_dir / "model.onnx").read_bytes()[:1000])
    with pytest.raises(ValueError, match="model.onnx"):
        OnnxPredictor(broken)


def test_cli_export_then_predict(tiny_model_dir, tmp_path):
    env = {"PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "exported"
    proc = subprocess.run(
        [sys.executable, "-m", "nlp", "export", "--format", "onnx", "--model", str(tiny_model_dir), "--out", str(out), "--quantize", "int8",
         "--fp32-layers", "1"],
        capture_output=True, cwd=REPO, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"quantize=int8" in proc.stderr
    assert len(json.loads((out / "export.json").read_text(encoding="utf-8"))["fp32_feed_forward_layers"]) == 1
    proc = subprocess.run(
        [sys.executable, "-m", "nlp", "predict", str(EXAMPLE), "--model", str(out)],
        capture_output=True, cwd=REPO, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["text"] == example_text() and len(doc["sentences"]) == 11


def test_cli_rejects_fp32_layers_without_int8(tiny_model_dir, tmp_path, capsys):
    from nlp.cli import main

    code = main(["export", "--model", str(tiny_model_dir), "--out", str(tmp_path / "x"), "--fp32-layers", "2"])
    assert code == 2 and "--fp32-layers only applies to --quantize int8" in capsys.readouterr().err


def test_export_keeps_a_stored_lexicon(tiny_model, tmp_path):
    import copy

    from nlp import OnnxPredictor
    from nlp.export import export_onnx

    model = copy.deepcopy(tiny_model)
    model.set_thresholds({t: 1.0 for t in model.settings.event_types})
    model.lexicon_yaml = "types:\n  ASSAULT: [قصف]\n"
    model.settings.lexicon_types = ["ASSAULT"]
    out = export_onnx(model, tmp_path / "lex")
    result = OnnxPredictor(out).predict("وقصفت الطائرات المدينة.")
    assert [label for label, _ in result.sentences[0].events] == ["ASSAULT"]


def test_export_check_counts_changed_events_and_entity_spans(onnx_dir, int8_dir, tiny_model):
    from nlp import OnnxPredictor, Predictor
    from nlp.export import CALIBRATION_TEXT, prediction_changes
    from nlp.preprocess import split_sentences

    lines = [line.strip() for line in CALIBRATION_TEXT.read_text(encoding="utf-8").splitlines() if line.strip()]
    n_sentences = sum(len(split_sentences(line)) for line in lines)
    fp32 = json.loads((onnx_dir / "export.json").read_text(encoding="utf-8"))["check"]
    assert fp32["sentences"] == n_sentences and fp32["check_text"] == str(CALIBRATION_TEXT)
    assert fp32["event_sets_changed"] == fp32["entity_spans_missing"] == fp32["entity_spans_added"] == 0
    # the int8 numbers are those of its predictions against the model's on the same sentences
    int8 = json.loads((int8_dir / "export.json").read_text(encoding="utf-8"))["check"]
    reference = Predictor(tiny_model, device="cpu")
    recount = prediction_changes(reference, OnnxPredictor(int8_dir, workers=1), lines)
    assert {k: int8[k] for k in recount} == recount and recount["entity_spans"] > 0

    class Changed:
        """The reference's predictions with every other sentence's events dropped and each first entity relabelled."""

        def predict(self, texts, progress=None):
            results = reference.predict(texts, progress=progress)
            for doc in results:
                doc.sentences = [dataclasses.replace(s, events=()) if i % 2 else s for i, s in enumerate(doc.sentences)]
                doc.entities[:1] = [dataclasses.replace(e, label="MISC" if e.label != "MISC" else "PER") for e in doc.entities[:1]]
            return results

    texts = [example_text(), *EXTRA_TEXTS]
    expected = reference.predict(texts)
    changes = prediction_changes(reference, Changed(), texts)
    assert changes["sentences"] == sum(len(d.sentences) for d in expected)
    assert changes["event_sets_changed"] == sum(bool(s.events) for d in expected for s in d.sentences[1::2])
    assert changes["entity_spans"] == sum(len(d.entities) for d in expected)
    assert changes["entity_spans_missing"] == changes["entity_spans_added"] == sum(bool(d.entities) for d in expected)
    with pytest.raises(TypeError, match="sequence of str"):
        prediction_changes(reference, Changed(), example_text())


def test_cli_export_reports_changed_predictions(tiny_model_dir, tmp_path):
    from nlp.cli import main

    check = tmp_path / "check.txt"
    check.write_text("قال الوزير في بغداد إن المحادثات ستستمر.\n\nهاجم مسلحون قاعدة عين الأسد.\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "nlp", "export", "--model", str(tiny_model_dir), "--out", str(tmp_path / "out"),
         "--check-text", str(check)],
        capture_output=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert "check against the model on the sentences of check.txt: 0 of 2 sentences changed their event labels" in proc.stderr.decode()
    assert main(["export", "--model", str(tiny_model_dir), "--out", str(tmp_path / "x"), "--check-text", str(tmp_path / "none.txt")]) == 2
    assert not (tmp_path / "x").exists()  # refused before exporting
