"""Write a copy of a model directory whose large weight matrices are stored as int8 (one scale per row).

    python -m training.quantize_model --model runs/gemma-candidate --output runs/gemma-int8

For shipping a large encoder within a size budget: the file shrinks to about a quarter of fp32 (half of
fp16); `JointModel.from_pretrained` turns the weights back into floats, so predict(), evaluation and the
ONNX export run unchanged. Every other file of the directory (reports, NOTICE, lexicon) is copied. Measure
the loss with `python -m training.compare_models` before shipping the copy.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from nlp.model import WEIGHTS_FILE, JointModel


def directory_size(directory: Path) -> int:
    """Bytes of the files directly inside `directory`."""
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def quantize_model(model_dir: str | Path, output: str | Path) -> dict[str, int]:
    """Write the int8 copy of `model_dir` to `output`; returns the sizes in bytes before and after."""
    source, target = Path(model_dir), Path(output)
    if source.resolve() == target.resolve():
        raise ValueError("--output must differ from --model: the quantized copy is a new directory")
    if target.exists() and any(target.iterdir()):
        raise ValueError(f"{target} exists and is not empty: choose a new directory")
    model = JointModel.from_pretrained(source)
    model.save_pretrained(target, quantize="int8")
    for path in source.iterdir():
        if path.is_file() and path.name != WEIGHTS_FILE and not (target / path.name).exists():
            shutil.copy2(path, target / path.name)
    return {"bytes_before": directory_size(source), "bytes_after": directory_size(target),
            "weights_before": (source / WEIGHTS_FILE).stat().st_size, "weights_after": (target / WEIGHTS_FILE).stat().st_size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model directory written by training or save_pretrained")
    parser.add_argument("--output", required=True, help="new directory for the int8 copy")
    args = parser.parse_args(argv)
    try:
        sizes = quantize_model(args.model, args.output)
    except (ValueError, FileNotFoundError) as err:
        parser.exit(2, f"error: {err}\n")
    mb = 1024 * 1024
    print(f"{args.output}: weights {sizes['weights_before'] / mb:.1f} MB -> {sizes['weights_after'] / mb:.1f} MB, "
          f"directory {sizes['bytes_before'] / mb:.1f} MB -> {sizes['bytes_after'] / mb:.1f} MB")


if __name__ == "__main__":
    main()
