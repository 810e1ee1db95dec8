import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLE, REPO, example_text

ENV = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlp", *args], input=stdin, capture_output=True, cwd=REPO, env=ENV, timeout=300
    )


def lines(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def test_predict_file_writes_article_format(tiny_model_dir):
    proc = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir), "--batch-size", "4")
    assert proc.returncode == 0, proc.stderr.decode()
    (doc,) = lines(proc.stdout)
    assert doc["id"] == "article" and doc["text"] == example_text()
    assert len(doc["sentences"]) == 11
    for entity in doc["entities"]:
        assert doc["text"][entity["start"] : entity["end"]] == entity["text"]


def test_predict_stdin_keeps_crlf_offsets(tiny_model_dir):
    text = "قال الوزير في بغداد.\r\nوأضاف أن المحادثات ستستمر.\r\n"
    proc = run("predict", "-", "--model", str(tiny_model_dir), stdin=text.encode("utf-8"))
    assert proc.returncode == 0, proc.stderr.decode()
    (doc,) = lines(proc.stdout)
    assert doc["id"] == "stdin" and doc["text"] == text
    assert [doc["text"][s["start"] : s["end"]] for s in doc["sentences"]] == [
        "قال الوزير في بغداد.",
        "وأضاف أن المحادثات ستستمر.",
    ]


def test_predict_folder_and_jsonl(tiny_model_dir, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "b.txt").write_text("هجوم على القاعدة.", encoding="utf-8")
    (folder / "a.txt").write_text("اجتماع في عمان.", encoding="utf-8")
    jsonl = tmp_path / "batch.jsonl"
    jsonl.write_text(json.dumps({"id": "x1", "text": "قال الوزير."}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = run("predict", str(folder), str(jsonl), "--model", str(tiny_model_dir), "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    docs = lines(out.read_bytes())
    assert [d["id"] for d in docs] == ["a", "b", "x1"]


def test_round_trip_through_evaluate(tiny_model_dir, tmp_path):
    proc = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir))
    (doc,) = lines(proc.stdout)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    proc = run("evaluate", str(gold), "--model", str(tiny_model_dir), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    # the model's own predictions as gold: everything it predicts is right
    assert report["n_documents"] == 1 and report["n_sentences"] == 11
    if doc["entities"]:
        assert report["entities"]["micro"]["f1"] == pytest.approx(1.0)
    if any(s["events"] for s in doc["sentences"]):
        assert report["events"]["micro"]["f1"] == pytest.approx(1.0)
    table = run("evaluate", str(gold), "--model", str(tiny_model_dir))
    assert table.returncode == 0 and b"micro" in table.stdout


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_help(command):
    proc = run(command, "--help")
    assert proc.returncode == 0 and b"--model" in proc.stdout


def test_errors_are_one_line_without_traceback(tiny_model_dir, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "text": "x"}\n{not json\n', encoding="utf-8")
    cases = [
        ("predict", str(bad), "--model", str(tiny_model_dir)),
        ("predict", str(tmp_path / "missing.txt"), "--model", str(tiny_model_dir)),
        ("predict", str(EXAMPLE), "--model", str(tmp_path / "no-model")),
        ("evaluate", str(broken), "--model", str(tiny_model_dir)),
    ]
    for args in cases:
        proc = run(*args)
        assert proc.returncode == 2, args
        err = proc.stderr.decode().strip()
        assert "Traceback" not in err and err.startswith("error:") and "\n" not in err, err
    assert run("predict", "--batch-size", "0").returncode == 2


def test_resume_skips_finished_documents_and_repairs_a_partial_line(tiny_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(4):
        (folder / f"{k}.txt").write_text(f"قال الوزير {k}. هجوم على القاعدة.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run("predict", str(folder), "--model", str(tiny_model_dir), "-o", str(out)).returncode == 0
    full = out.read_bytes()
    first_two = b"".join(full.splitlines(keepends=True)[:2])
    out.write_bytes(first_two + full.splitlines(keepends=True)[2][:25])  # killed while writing the third
    proc = run("predict", str(folder), "--model", str(tiny_model_dir), "-o", str(out), "--resume")
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.read_bytes() == full


def test_processes_share_the_work(tiny_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(5):
        (folder / f"{k}.txt").write_text(f"قال الوزير {k}.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    ids = []
    for rank in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "nlp", "predict", str(folder), "--model", str(tiny_model_dir), "-o", str(out)],
            capture_output=True, cwd=REPO, env={**ENV, "WORLD_SIZE": "2", "RANK": str(rank)}, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        ids.append([d["id"] for d in lines(Path(f"{out}.rank{rank}").read_bytes())])
    assert ids == [["0", "2", "4"], ["1", "3"]]
