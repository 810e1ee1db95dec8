"""The command line as a person meets it: no input on a terminal, --html alone, missing files, CSV scores."""

import csv
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios

from .conftest import EXAMPLE, REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}


def run(*args: str, stdin=None) -> subprocess.CompletedProcess:
    feed = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin}
    return subprocess.run(
        [sys.executable, "-m", "nlp", *args], capture_output=True, cwd=REPO, env=ENV, timeout=300, **feed
    )


def test_predict_without_input_on_a_terminal_prints_usage(tmp_path):
    terminal, other_end = pty.openpty()
    try:
        # the model does not exist: the usage must come first, without waiting on the keyboard or loading anything
        proc = run("predict", "--model", str(tmp_path / "no-model"), stdin=other_end)
    finally:
        os.close(terminal)
        os.close(other_end)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b""
    assert err.startswith("usage: python -m nlp predict") and "no input" in err and "no-model" not in err


def test_predict_reads_piped_text_without_a_dash(tiny_model_dir):
    proc = run("predict", "--model", str(tiny_model_dir), stdin="قال الوزير في بغداد.".encode("utf-8"))
    assert proc.returncode == 0, proc.stderr.decode()
    (doc,) = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert doc["id"] == "stdin" and doc["text"] == "قال الوزير في بغداد."


def test_html_alone_writes_only_the_page(tiny_model_dir, tmp_path):
    page = tmp_path / "view.html"
    proc = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir), "--html", str(page))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"" and page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    out = tmp_path / "out.jsonl"  # with -o, both
    proc = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir), "--html", str(page), "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == b"" and len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_missing_input_is_reported_before_the_model_loads(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for source, message in [(tmp_path / "missing.txt", "missing.txt: no such file"), (empty, "holds no .txt files")]:
        proc = run("predict", str(EXAMPLE), str(source), "--model", str(tmp_path / "no-model"))
        err = proc.stderr.decode().strip()
        assert proc.returncode == 2 and err.startswith("error:") and message in err and "no-model" not in err, err


def test_csv_scores_are_rounded_like_json(tiny_model_dir):
    as_json = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir))
    as_csv = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir), "--format", "csv")
    assert as_json.returncode == 0 and as_csv.returncode == 0, as_csv.stderr.decode()
    doc = json.loads(as_json.stdout)
    expected = sorted(
        [("event", label, score) for s in doc["sentences"] for label, score in s["scores"].items()]
        + [("entity", e["label"], e["score"]) for e in doc["entities"]]
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.decode("utf-8"))))
    assert rows and all(len(row["score"].partition(".")[2]) <= 4 for row in rows)
    assert sorted((row["kind"], row["label"], float(row["score"])) for row in rows) == expected


def _stderr_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdin and stdout are not); its exit status and what it wrote there."""
    import select

    terminal, other_end = pty.openpty()
    fcntl.ioctl(other_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns, as a terminal has
    proc = subprocess.Popen(
        [sys.executable, "-m", "nlp", *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=other_end,
        cwd=REPO, env=ENV,
    )
    os.close(other_end)
    chunks = []
    try:
        while select.select([terminal], [], [], 300)[0]:
            try:
                data = os.read(terminal, 4096)
            except OSError:  # EIO: the process has closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(terminal)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_for_long_calls(tiny_model_dir, tmp_path):
    from nlp.predictor import PROGRESS_MIN_SENTENCES
    from nlp.preprocess import split_sentences

    from .conftest import example_text

    copies = PROGRESS_MIN_SENTENCES["cpu"] // len(split_sentences(example_text())) + 1
    long = tmp_path / "long.txt"
    long.write_text("\n".join([example_text()] * copies), encoding="utf-8")
    status, shown = _stderr_on_a_terminal("predict", str(long), "--model", str(tiny_model_dir))
    assert status == 0 and "predict:" in shown and "sent" in shown, shown
    status, shown = _stderr_on_a_terminal("predict", str(long), "--model", str(tiny_model_dir), "--no-progress")
    assert status == 0 and "predict:" not in shown, shown
    status, shown = _stderr_on_a_terminal("predict", str(EXAMPLE), "--model", str(tiny_model_dir))  # quick: no bar
    assert status == 0 and "predict:" not in shown, shown
    forced = run("predict", str(EXAMPLE), "--model", str(tiny_model_dir), "--progress")  # stderr is a pipe here
    assert forced.returncode == 0 and b"predict:" in forced.stderr
