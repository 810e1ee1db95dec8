"""The speed-comparison benchmark runs on model directories and prints one row per model."""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import REPO


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("compare_speed", REPO / "benchmarks" / "compare_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_speed_prints_a_row_per_model(tiny_model_dir, tmp_path, capsys):
    bench = _load_benchmark()
    bench.main(["--model", f"a={tiny_model_dir}", "--model", f"b={tiny_model_dir}", "--seeds", str(tmp_path),
                "--min-sentences", "20", "--rounds", "1", "--threads", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| a |") or line.startswith("| b |")]
    assert len(rows) == 2
    assert rows[0].rstrip().endswith("| 1.00 |")  # the baseline's ratio to itself
    assert float(rows[1].split("|")[4]) > 0  # sentences/s


def test_compare_speed_names_a_bad_model_argument(tmp_path, capsys):
    bench = _load_benchmark()
    with pytest.raises(SystemExit):
        bench.main(["--model", str(tmp_path / "missing")])
    assert "NAME=DIR" in capsys.readouterr().err
