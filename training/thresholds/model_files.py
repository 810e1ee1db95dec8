"""Writing a trained model again after a post-training step changed only its settings (lexicon types, thresholds)."""

from __future__ import annotations

import shutil
from pathlib import Path

from nlp.model import JointModel


def resave(model: JointModel, source: str | Path, output: str | Path | None) -> Path:
    """Store `model`'s settings (loaded from `source`) in `output`, or back in `source`; returns the directory.

    The weights are not written again: `output` gets a copy of `source` (weights byte for byte, tokenizer,
    and the reports earlier steps left there), then the new settings and lexicon.
    """
    source = Path(source)
    out = Path(output) if output is not None else source
    if out.resolve() != source.resolve():
        shutil.copytree(source, out, dirs_exist_ok=True)
    model.save_settings(out)
    return out
