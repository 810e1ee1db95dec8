"""`predict()` and `load_predictor()`: where the default model is, which backend runs a model directory.

This is the one module that chooses the backend: a directory holding an ONNX export runs with
onnxruntime (`OnnxPredictor`), any other model with torch (`Predictor`); loaded directories are cached.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import torch

from .model import JointModel
from .onnx_predictor import OnnxPredictor, check_cpu_device, is_onnx_model
from .predictor import Predictor, _check_batch_size, _check_texts, resolve_device
from .results import DocumentPrediction

ModelLike = Union[str, os.PathLike, JointModel, Predictor, None]

#: Environment variable that points `predict()` at another default model directory.
MODEL_ENV = "NLP_DEFAULT_MODEL"
#: The shipped model inside an installed wheel (copied there at build time from models/default)
PACKAGED_MODEL = Path(__file__).resolve().parent / "models" / "default"
#: The shipped model in a checkout or an editable install
CHECKOUT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


def default_model_path() -> Path:
    """Directory of the default model: $NLP_DEFAULT_MODEL, else the copy inside an installed wheel,
    else models/default in this checkout (editable installs)."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    return PACKAGED_MODEL if PACKAGED_MODEL.is_dir() else CHECKOUT_MODEL


_CACHE: dict[tuple[str, str], Predictor] = {}
_CACHE_LOCK = threading.Lock()


def load_predictor(model: ModelLike = None, device: str | torch.device | None = None, batch_size: int | None = None) -> Predictor:
    """A Predictor for a model directory, a loaded JointModel or an existing Predictor.

    Directories (and the default model) are loaded once per device and cached.
    """
    if isinstance(model, Predictor):
        return model
    if isinstance(model, JointModel):
        return Predictor(model, device=device, batch_size=batch_size)
    if model is None:
        path = default_model_path()
        if not path.is_dir():
            raise FileNotFoundError(
                f"no default model at {path}; pass model='path/to/model_dir' or set ${MODEL_ENV}"
            )
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
    else:
        raise TypeError(
            f"model must be a directory path, a JointModel or a Predictor, got {type(model).__name__}"
        )
    onnx = is_onnx_model(path)
    resolved = check_cpu_device(device, path) if onnx else resolve_device(device)
    key = (str(path.resolve()), str(resolved))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = OnnxPredictor(path) if onnx else Predictor(JointModel.from_pretrained(path, for_inference=True), device=resolved)
        predictor = _CACHE[key]
    return predictor


def predict(
    texts: str | Sequence[str],
    model: ModelLike = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
    errors: str = "raise",
) -> DocumentPrediction | list[DocumentPrediction]:
    """Find events per sentence and named entities in raw Arabic text.

    `texts` is one string (returns one DocumentPrediction) or a sequence of strings (returns a
    list). All offsets index the strings given. `model` is a model directory, a loaded
    JointModel or Predictor, or None for the default model shipped in models/. With
    `errors="skip"`, a non-str item in a list gives an empty result with `.error` set instead of
    raising, so the other results are kept.
    """
    if not isinstance(texts, str):
        texts = _check_texts(texts, errors)
    if batch_size is not None:
        batch_size = _check_batch_size(batch_size)
    predictor = load_predictor(model, device=device)
    return predictor.predict(texts, batch_size=batch_size, progress=progress, errors=errors)
