"""Build the tiny randomly initialized placeholder model (meaningless labels) and save it.

    python -m training.build_tiny_model --output models/default [--corpus FILE ...]

It lets `predict()` run end to end before a trained default model is shipped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nlp.testing import build_tiny_model

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = [REPO / "data" / "examples" / "article.txt"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=REPO / "models" / "default", help="model directory to write")
    parser.add_argument("--corpus", type=Path, nargs="*", default=DEFAULT_CORPUS, help="UTF-8 text files for the tokenizer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab-size", type=int, default=2000)
    args = parser.parse_args(argv)
    texts = [path.read_text(encoding="utf-8") for path in args.corpus]
    model = build_tiny_model(texts, seed=args.seed, vocab_size=args.vocab_size)
    model.settings.encoder = "tiny-random-bert (placeholder: random weights, labels are meaningless)"
    model.save_pretrained(args.output, dtype=torch.float16)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
