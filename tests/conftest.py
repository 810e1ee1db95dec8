"""Shared fixtures: a tiny random joint model built in-process (no network), and the seed articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "data" / "examples" / "article.txt"
SHARED = REPO.parent / "shared"

# A few extra sentences so the tokenizer sees Latin text, digits and diacritics too.
EXTRA_TEXTS = [
    "أعلنت وزارة الدفاع الأمريكية Pentagon أن 3 جنود أصيبوا في هجوم على قاعدة عين الأسد.",
    "وَقَالَ الرَّئِيسُ إِنَّ المُفَاوَضَاتِ سَتَسْتَمِرُّ فِي القَاهِرَةِ.",
    "The United Nations said on Monday that talks in Geneva would resume.",
]


def example_text() -> str:
    return EXAMPLE.read_bytes().decode("utf-8")


@pytest.fixture(scope="session")
def tiny_model():
    from nlp.testing import build_tiny_model

    return build_tiny_model([example_text(), *EXTRA_TEXTS], seed=0, max_length=64, window_stride=16)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_model, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("tiny_model")
    tiny_model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def predictor(tiny_model):
    from nlp.predictor import Predictor

    return Predictor(tiny_model, device="cpu")


@pytest.fixture(scope="session")
def seed_articles() -> list[dict]:
    path = SHARED / "data" / "seeds_gold.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the staged seed articles live in ../shared beside the checkout")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
