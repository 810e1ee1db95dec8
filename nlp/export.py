"""Export a joint model to ONNX (optionally int8-quantized) for fast CPU inference with onnxruntime.

    python -m nlp export --format onnx --model models/default --out outputs/default-onnx [--quantize int8]

The exported directory holds model.onnx (inputs input_ids and attention_mask; outputs event
probabilities and NER log-probabilities), the model's settings and tokenizer, and export.json.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .backbones import encoder_layers, feed_forward_output
from .model import LEXICON_FILE, SETTINGS_FILE, JointModel, copy_notices, private_backend
from .onnx_predictor import EXPORT_INFO_FILE, INSTALL_HINT, ONNX_FILE

#: None: fp32. "int8": dynamic int8 (per-channel weights) for every weight matrix except the feed-forward
#: output layers of the few encoder layers whose inputs (after GELU) reach the largest values on calibration
#: text: one per-tensor activation scale handles those outliers badly. Within one F1 point of fp32 on the
#: project's tests. "int8-full": every weight matrix (7-bit range), a little faster, about 1-2 F1 points lower.
QUANTIZE_CHOICES = (None, "int8", "int8-full")
OPSET = 17
#: feed-forward output layers "int8" keeps in fp32. Measured on the default model, 2 CPU cores (Intel, 2026-11-30):
#: all 12 kept gave 1.4x the fp32 speed, the top 3 1.7x, none about 1.8x but 3 entity-F1 points lower. With the
#: re-tuned event thresholds (AMD, dev texts): 3 kept lost 1.2 entity points on held-out ANERcorp train, 6 kept 0.5,
#: at 9% lower speed (262 vs 288 sentences/s); events moved by under 1 point either way (models/README.md).
INT8_FP32_LAYERS = 6
#: Arabic news sentences written for calibration, one per line (the team's own text)
CALIBRATION_TEXT = Path(__file__).with_name("resources") / "calibration_ar.txt"


class _ProbabilityGraph(nn.Module):
    """The joint model with its output activations inside the graph (sigmoid events, log-softmax tags)."""

    def __init__(self, model: JointModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).probabilities()


def _sample_batch(model: JointModel, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch of random token ids, for tracing and for checking the exported graph."""
    generator = torch.Generator().manual_seed(seed)
    vocab = int(model.encoder.config.vocab_size)
    ids = torch.randint(5, vocab, (3, 24), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 15:] = 0
    mask[2, 7:] = 0
    return ids, mask


def export_onnx(
    model: str | os.PathLike[str] | JointModel,
    out_dir: str | os.PathLike[str],
    quantize: str | None = None,
    fp32_layers: int = INT8_FP32_LAYERS,
    calibration: str | os.PathLike[str] | None = None,
    check_text: str | os.PathLike[str] | None = None,
) -> Path:
    """Write an ONNX copy of a joint model (fp32, or int8 dynamic quantization) that OnnxPredictor runs.

    `fp32_layers` and `calibration` (a UTF-8 text file, one sentence per line; default: a built-in set of
    news sentences) choose which feed-forward output layers "int8" keeps in fp32. The export is then checked
    against the model on the sentences of `check_text` (same format; default: the calibration sentences):
    export.json's "check" counts the sentences whose event labels change and the entity spans that change.
    Returns the output directory. The user's model object is not modified.
    """
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
    if isinstance(fp32_layers, bool) or not isinstance(fp32_layers, int) or fp32_layers < 0:
        raise ValueError(f"fp32_layers must be a non-negative integer, got {fp32_layers!r}")
    calibration_path = Path(calibration) if calibration is not None else CALIBRATION_TEXT
    if quantize == "int8" and not calibration_path.is_file():
        raise FileNotFoundError(f"calibration text {calibration_path} not found: pass a UTF-8 file with one sentence per line")
    check_path = Path(check_text) if check_text is not None else calibration_path
    check_sentences = _read_sentences(check_path)  # before the slow export: a bad file fails at once
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    if isinstance(model, JointModel):
        joint = copy.deepcopy(model).cpu().float().eval()
        source = joint.settings.encoder
    elif isinstance(model, (str, os.PathLike)):
        joint = JointModel.from_pretrained(model)
        source = str(model)
    else:
        raise TypeError(f"model must be a model directory or a JointModel, got {type(model).__name__}")
    # eager attention traces into plain ONNX ops with dynamic batch and sequence axes
    joint.encoder.config._attn_implementation = "eager"
    graph = _ProbabilityGraph(joint).eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids, mask = _sample_batch(joint)
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = Path(tmp) / "model.fp32.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                (ids, mask),
                str(fp32_path),
                input_names=["input_ids", "attention_mask"],
                output_names=["event_probs", "ner_log_probs"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "event_probs": {0: "batch"},
                    "ner_log_probs": {0: "batch", 1: "sequence"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        target = out / ONNX_FILE
        if quantize is not None:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp_target = out / (ONNX_FILE + ".tmp")
            # per-channel weight scales: per-tensor scales cost the default model 6.5 entity-F1 points
            kept = [] if quantize == "int8-full" else _largest_peaks(feed_forward_peaks(joint, calibration_path), fp32_layers)
            exclude = [name for name in _feed_forward_outputs(fp32_path) if _layer_index(name) in kept]
            # onnxruntime logs a hint to run its shape pre-processing (meant for static image models);
            # dynamic int8 quantization of this graph does not need it, so the hint is dropped
            hint = _DropMessage("pre-processing before quantization")
            logging.getLogger().addFilter(hint)
            try:
                quantize_dynamic(
                    str(fp32_path), str(tmp_target), weight_type=QuantType.QInt8, per_channel=True,
                    reduce_range=quantize == "int8-full", nodes_to_exclude=exclude,
                )
            finally:
                logging.getLogger().removeFilter(hint)
            os.replace(tmp_target, target)
        else:
            shutil.move(str(fp32_path), str(target))
    os.chmod(target, 0o644)
    check = _compare(graph, target, ort)
    (out / SETTINGS_FILE).write_text(json.dumps(joint.settings.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    joint.tokenizer.save_pretrained(str(out))
    if joint.lexicon_yaml is not None:
        (out / LEXICON_FILE).write_text(joint.lexicon_yaml, encoding="utf-8")
    if isinstance(model, (str, os.PathLike)):
        copy_notices(model, out)
    check.update(_check_predictions(joint, out, check_sentences), check_text=str(check_path))
    info: dict[str, Any] = {
        "format": "onnx",
        "quantize": quantize or "none",
        "opset": OPSET,
        "source": source,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "check": check,
    }
    if quantize == "int8":
        info["fp32_feed_forward_layers"] = kept
        info["calibration"] = str(calibration_path)
    (out / EXPORT_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out


def prediction_changes(reference: Any, candidate: Any, texts: Sequence[str]) -> dict[str, int]:
    """How `candidate`'s predictions on `texts` differ from `reference`'s (two Predictors, e.g. fp32 and int8).

    Counts the sentences whose set of event labels differs, and the entity spans (start, end, label) of the
    reference that the candidate misses and those it adds."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("prediction_changes() expects a sequence of str texts")
    texts = list(texts)
    expected = reference.predict(texts, progress=False)
    got = candidate.predict(texts, progress=False)
    changes = {"sentences": 0, "event_sets_changed": 0, "entity_spans": 0, "entity_spans_missing": 0, "entity_spans_added": 0}
    for a, b in zip(expected, got):
        events_a = {(s.start, s.end): {label for label, _ in s.events} for s in a.sentences}
        events_b = {(s.start, s.end): {label for label, _ in s.events} for s in b.sentences}
        changes["sentences"] += len(events_a)
        changes["event_sets_changed"] += sum(events_a.get(k, set()) != events_b.get(k, set()) for k in events_a.keys() | events_b.keys())
        spans_a = {(e.start, e.end, e.label) for e in a.entities}
        spans_b = {(e.start, e.end, e.label) for e in b.entities}
        changes["entity_spans"] += len(spans_a)
        changes["entity_spans_missing"] += len(spans_a - spans_b)
        changes["entity_spans_added"] += len(spans_b - spans_a)
    return changes


def _check_predictions(joint: JointModel, exported: Path, sentences: list[str]) -> dict[str, int]:
    """`prediction_changes` of the exported directory against the fp32 torch model, on the CPU."""
    from .onnx_predictor import OnnxPredictor
    from .predictor import Predictor

    return prediction_changes(Predictor(joint, device="cpu"), OnnxPredictor(exported, workers=1), sentences)


def _read_sentences(path: Path) -> list[str]:
    """The non-empty lines of a UTF-8 text file (one sentence per line)."""
    if not path.is_file():
        raise FileNotFoundError(f"check text {path} not found: pass a UTF-8 file with one sentence per line")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"check text {path} holds no sentences")
    return lines


def feed_forward_peaks(model: JointModel, calibration: str | os.PathLike[str]) -> list[float]:
    """Largest absolute input of each encoder layer's feed-forward output matrix over calibration sentences.

    Dynamic int8 scales each activation tensor by its largest value, so the layers with the highest peaks
    lose the most precision."""
    from .preprocess import normalize

    lines = [line.strip() for line in Path(calibration).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"calibration text {calibration} holds no sentences")
    layers = encoder_layers(model.encoder)
    peaks = [0.0] * len(layers)

    def record(index: int):
        def hook(module, inputs):
            peaks[index] = max(peaks[index], float(inputs[0].detach().abs().max()))
        return hook

    backend = private_backend(model.tokenizer)  # truncation and padding must not stick to the model's tokenizer
    backend.enable_truncation(model.settings.max_length)
    backend.enable_padding(pad_id=int(model.tokenizer.pad_token_id or 0))
    texts = [normalize(line, model.settings.normalization_config).text for line in lines]
    hooks = [feed_forward_output(layer).register_forward_pre_hook(record(i)) for i, layer in enumerate(layers)]
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), 16):
                batch = backend.encode_batch(texts[start : start + 16])
                ids = torch.tensor([e.ids for e in batch])
                mask = torch.tensor([e.attention_mask for e in batch])
                model(input_ids=ids, attention_mask=mask)
    finally:
        for hook in hooks:
            hook.remove()
    return peaks


def _largest_peaks(peaks: list[float], count: int) -> list[int]:
    """Indices of the `count` layers with the largest peaks, in layer order."""
    return sorted(sorted(range(len(peaks)), key=lambda i: -peaks[i])[:count])


def _layer_index(node_name: str) -> int:
    """Encoder layer number in an exported node name such as /model/encoder/encoder/layer.4/output/dense/MatMul
    (BERT) or /model/encoder/layers.4/mlp/down_proj/MatMul (Gemma 3)."""
    return int(re.search(r"/layers?\.(\d+)/", node_name).group(1))


def _feed_forward_outputs(path: Path) -> list[str]:
    """Names of the MatMul nodes of the encoder's feed-forward output layers (candidates to keep in fp32)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [
        n.name for n in graph.node if n.op_type == "MatMul" and "/attention/" not in n.name
        and n.name.endswith(("/output/dense/MatMul", "/mlp/down_proj/MatMul"))
    ]


def _compare(graph: nn.Module, path: Path, ort: Any) -> dict[str, float]:
    """Largest differences between the torch model and the exported graph on a fresh padded batch."""
    ids, mask = _sample_batch(graph.model, seed=1)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    events, ner = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    with torch.inference_mode():
        ref_events, ref_ner = graph(ids, mask)
    valid = mask.numpy().astype(bool)
    return {
        "max_event_prob_diff": float(np.abs(events - ref_events.numpy()).max()),
        "max_ner_prob_diff": float(np.abs(np.exp(ner) - np.exp(ref_ner.numpy()))[valid].max()),
    }


class _DropMessage(logging.Filter):
    """A logging filter that drops records whose message contains a given text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        # the raw message, not getMessage(): a malformed record from elsewhere must not raise here
        return not (isinstance(record.msg, str) and self.text in record.msg)
