"""Build the tiny randomly initialized placeholder model (meaningless labels) and save it.

    python -m training.build_tiny_model [--config configs/tiny.yaml] [--output models/default] [--key value ...]

It lets `predict()` run end to end before a trained default model is shipped.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nlp.config import load_config
from nlp.testing import build_tiny_model

REPO = Path(__file__).resolve().parent.parent


@dataclass
class TinyModelConfig:
    """Sizes of the placeholder model and the texts its tokenizer is trained on."""

    seed: int = 0
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2
    max_length: int = 128
    window_stride: int = 32
    vocab_size: int = 2000
    corpus: list[str] = field(default_factory=lambda: ["data/examples/article.txt"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "tiny.yaml")
    parser.add_argument("--output", type=Path, default=REPO / "models" / "default", help="model directory to write")
    args, overrides = parser.parse_known_args(argv)
    config = load_config(TinyModelConfig, args.config, overrides)
    texts = [(REPO / path).read_bytes().decode("utf-8") for path in config.corpus]
    model = build_tiny_model(
        texts,
        seed=config.seed,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        max_length=config.max_length,
        window_stride=config.window_stride,
        vocab_size=config.vocab_size,
    )
    model.settings.encoder = "tiny-random-bert (placeholder: random weights, labels are meaningless)"
    model.save_pretrained(args.output, dtype=torch.float16)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
