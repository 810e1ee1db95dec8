"""Atomic checkpoint directories shared by the training scripts: a kill never leaves a broken one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_in(tmp: Path, final: Path) -> None:
    """Replace directory `final` by the complete directory `tmp` (the old one lives on as `final.old` meanwhile)."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)


def latest_checkpoint(output_dir: Path, marker: str) -> Path | None:
    """OUTPUT_DIR/checkpoints/last, or last.old after a kill between the two renames; None if neither holds `marker`."""
    for name in ("last", "last.old"):
        path = output_dir / "checkpoints" / name
        if (path / marker).is_file():
            return path
    return None
