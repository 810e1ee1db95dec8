"""Arabic news event extraction: PLOVER event types per sentence and named entities, over raw text.

>>> from nlp import predict
>>> result = predict("...")           # one text -> DocumentPrediction
>>> result.to_dict()                   # the article format of FORMAT.md, with scores

Heavy modules (torch, transformers) load on first use, not at import.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "predict": "nlp.inference",
    "Predictor": "nlp.predictor",
    "load_predictor": "nlp.inference",
    "JointModel": "nlp.model",
    "ModelSettings": "nlp.model",
    "OnnxPredictor": "nlp.onnx_predictor",
    "export_onnx": "nlp.export",
    "evaluate": "nlp.evaluation",
    "DocumentPrediction": "nlp.results",
    "SentencePrediction": "nlp.results",
    "EntityPrediction": "nlp.results",
    "Article": "nlp.articles",
    "read_articles": "nlp.articles",
    "write_articles": "nlp.articles",
    "normalize": "nlp.preprocess",
    "split_sentences": "nlp.preprocess",
    "NormalizationConfig": "nlp.preprocess",
    "render": "nlp.render",
    "to_dataframe": "nlp.tables",
    "EVENT_TYPES": "nlp.labels",
    "ENTITY_LABELS": "nlp.labels",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nlp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
