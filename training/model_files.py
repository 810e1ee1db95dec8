"""Re-saving a trained model after a post-training step changed its settings (lexicon types, thresholds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from nlp.model import WEIGHTS_FILE, JointModel


def stored_dtype(weights: Path) -> torch.dtype:
    """The floating dtype of a saved weights file (the shipped model is fp16), so re-saving keeps it."""
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as handle:
        for key in handle.keys():
            tensor = handle.get_slice(key)
            if tensor.get_dtype() in ("F16", "BF16", "F32"):
                return {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32}[tensor.get_dtype()]
    return torch.float32


def resave(model: JointModel, source: str | Path, output: str | Path | None) -> Path:
    """Save `model` (loaded from `source`) to `output`, or back into `source`, in the dtype it was stored in.

    Reports that earlier steps left beside the weights (*.json other than the model's own files) are
    copied along, so a chain of post-training steps keeps its whole record.
    """
    source = Path(source)
    out = Path(output) if output is not None else source
    model.save_pretrained(out, dtype=stored_dtype(source / WEIGHTS_FILE))
    if out.resolve() != source.resolve():
        for extra in ("dev_report.json", "lexicon_backoff.json", "thresholds_report.json"):
            if (source / extra).is_file() and not (out / extra).exists():
                shutil.copy(source / extra, out / extra)
    return out
