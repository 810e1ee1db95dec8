"""Faults around predict's output: resume with repeated ids, outputs that cannot be written, errors that name the place."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nlp import output as output_module
from nlp.cli import main
from nlp.output import DoneDocuments, Output, OutputError, read_output_ids

from .conftest import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
TEXTS = ["قال الوزير في بغداد.", "هجوم على القاعدة.", "اجتماع في عمان.", "وأضاف أن المحادثات ستستمر."]


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run the command line in this process: exit status and stderr."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.run([sys.executable, "-m", "nlp", *map(str, args)], cwd=REPO, env=ENV, timeout=300, **streams)


def one_error_line(stderr: str | bytes) -> str:
    err = (stderr.decode() if isinstance(stderr, bytes) else stderr).strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def jsonl(path: Path, ids: list[str]) -> Path:
    path.write_text(
        "".join(json.dumps({"id": i, "text": TEXTS[k % len(TEXTS)]}, ensure_ascii=False) + "\n" for k, i in enumerate(ids)),
        encoding="utf-8",
    )
    return path


def keep_lines(path: Path, n: int) -> bytes:
    """Cut `path` to its first n lines (an interrupted run) and return its whole former content."""
    full = path.read_bytes()
    path.write_bytes(b"".join(full.splitlines(keepends=True)[:n]))
    return full


# ---- 1. repeated ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("kept", [0, 1, 2])
def test_resume_keeps_every_document_with_repeated_ids(tiny_model_dir, tmp_path, capsys, kept):
    inputs = jsonl(tmp_path / "in.jsonl", ["a", "a", "b"])
    out = tmp_path / "out.jsonl"
    assert cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out)[0] == 0
    full = keep_lines(out, kept)
    assert [json.loads(line)["id"] for line in full.splitlines()] == ["a", "a", "b"]
    code, err = cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--resume")
    assert code == 0 and err == ""
    assert out.read_bytes() == full


def test_resume_keeps_the_same_file_name_in_two_folders(tiny_model_dir, tmp_path, capsys):
    folders = [tmp_path / "one", tmp_path / "two"]
    for k, folder in enumerate(folders):
        folder.mkdir()
        (folder / "x.txt").write_text(TEXTS[k], encoding="utf-8")
        (folder / "y.txt").write_text(TEXTS[k + 2], encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert cli(capsys, "predict", *folders, "--model", tiny_model_dir, "-o", out)[0] == 0
    full = keep_lines(out, 3)
    assert [json.loads(line)["id"] for line in full.splitlines()] == ["x", "y", "x", "y"]
    assert cli(capsys, "predict", *folders, "--model", tiny_model_dir, "-o", out, "--resume")[0] == 0
    assert out.read_bytes() == full


def test_resume_with_several_processes_keeps_repeated_ids(tiny_model_dir, tmp_path, capsys, monkeypatch):
    inputs = jsonl(tmp_path / "in.jsonl", ["a", "a", "a", "b", "a"])
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("WORLD_SIZE", "2")
    full = {}
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        assert cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--device", "cpu")[0] == 0
        full[rank] = keep_lines(Path(f"{out}.rank{rank}"), 1)
    assert [[json.loads(line)["id"] for line in full[r].splitlines()] for r in (0, 1)] == [["a", "a", "a"], ["a", "b"]]
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        assert cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--device", "cpu", "--resume")[0] == 0
        assert Path(f"{out}.rank{rank}").read_bytes() == full[rank]


def test_done_documents_count_repeats():
    done = DoneDocuments(["a", "b", "a"])
    assert done.total == 3
    assert [done.take(i) for i in ["a", "a", "a", "c", "b", "b"]] == [True, True, False, False, True, False]
    assert done.unmatched == 0
    assert DoneDocuments(["z"]).unmatched == 1


def test_lines_matching_no_input_are_kept_with_a_warning(tiny_model_dir, tmp_path, capsys):
    inputs = jsonl(tmp_path / "in.jsonl", ["a", "b"])
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "other", "text": ""}\n', encoding="utf-8")
    code, err = cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--resume")
    assert code == 0 and "warning: 1 line(s) of" in err
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["other", "a", "b"]


# ---- 2. outputs that cannot be written --------------------------------------------------------------


def test_output_folder_is_refused_before_the_model_loads(tmp_path):
    # a model directory that does not exist: the output is checked first, so its error is the one reported
    for args in (["-o", tmp_path], ["-o", tmp_path / "missing" / "out.jsonl"], ["--html", tmp_path]):
        proc = run("predict", "-", "--model", tmp_path / "no-model", *args, input=b"x")
        assert proc.returncode == 2
        err = one_error_line(proc.stderr)
        assert str(tmp_path) in err and "no-model" not in err, err


def test_read_only_place_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch):
    place = tmp_path / "read-only"
    place.mkdir()
    place.chmod(0o555)
    if os.access(place, os.W_OK):  # root writes anyway: refuse the open as a read-only place would
        def refuse(path, *args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

        monkeypatch.setattr(output_module, "open", refuse, raising=False)
    try:
        code, err = cli(capsys, "predict", "-", "--model", tmp_path / "no-model", "-o", place / "out.jsonl")
    finally:
        place.chmod(0o755)
    assert code == 2
    assert one_error_line(err) == f"error: cannot write {place / 'out.jsonl'}: Permission denied"
    assert not (place / "out.jsonl").exists()


def test_a_model_that_fails_to_load_leaves_the_output_as_it_was(tmp_path, capsys):
    existing = tmp_path / "old.jsonl"
    existing.write_text('{"id": "a"}\n{"id": "b"', encoding="utf-8")
    for args in (["-o", existing], ["-o", existing, "--resume"], ["-o", tmp_path / "new.jsonl"]):
        code, err = cli(capsys, "predict", "-", "--model", tmp_path / "no-model", *args)
        assert code == 2 and "no-model" in one_error_line(err)
    assert existing.read_text(encoding="utf-8") == '{"id": "a"}\n{"id": "b"'
    assert not (tmp_path / "new.jsonl").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_full_device_gives_one_error_line(tiny_model_dir, tmp_path, fmt):
    inputs = jsonl(tmp_path / "in.jsonl", ["a", "b"])
    proc = run("predict", inputs, "--model", tiny_model_dir, "--format", fmt, "-o", "/dev/full")
    assert proc.returncode == 2
    err = one_error_line(proc.stderr)
    assert "/dev/full" in err and "No space left on device" in err and "after 0 document(s)" in err
    with open("/dev/full", "wb") as full:  # standard output on a full device too
        proc = run("predict", inputs, "--model", tiny_model_dir, stdout=full)
    assert proc.returncode == 2
    assert "cannot write to standard output: No space left on device" in one_error_line(proc.stderr)


def failing_writes(monkeypatch, documents: int) -> None:
    """The disk fills up during document `documents` + 1: part of it is written, then ENOSPC."""
    calls = {"n": 0}
    real = Output._write_bytes

    def write(self, data):
        calls["n"] += 1
        if calls["n"] <= documents:
            return real(self, data)
        if calls["n"] == documents + 1:
            return real(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Output, "_write_bytes", write)


def test_full_disk_mid_run_names_the_file_and_can_be_resumed(tiny_model_dir, tmp_path, capsys, monkeypatch):
    inputs = jsonl(tmp_path / "in.jsonl", ["a", "b", "a", "c"])
    out = tmp_path / "out.jsonl"
    assert cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out)[0] == 0
    full = out.read_bytes()
    out.unlink()
    with monkeypatch.context() as patch:
        failing_writes(patch, 2)
        code, err = cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out)
    assert code == 2
    err = one_error_line(err)
    assert str(out) in err and "No space left on device after 2 document(s) were written" in err and "--resume" in err
    assert out.read_bytes() == b"".join(full.splitlines(keepends=True)[:2])  # whole documents only
    with monkeypatch.context() as patch:  # the disk fills up again while resuming
        failing_writes(patch, 1)
        code, err = cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--resume")
    assert code == 2 and "after 1 document(s) were written (3 in the file" in one_error_line(err)
    assert cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--resume")[0] == 0
    assert out.read_bytes() == full


def test_output_writes_whole_documents_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    out = Output(path)
    assert path.read_bytes() == b"old\n"  # untouched until start()
    failing_writes(monkeypatch, 1)
    with out:
        out.start()
        out.write('{"id": "a"}\n')
        with pytest.raises(OutputError, match=r"out.jsonl: No space left on device after 1 document\(s\)"):
            out.write('{"id": "b", "text": "a longer line"}\n')
    assert path.read_bytes() == b'{"id": "a"}\n'
    assert out.written == 1


def test_interrupted_write_keeps_whole_documents(tmp_path, monkeypatch):
    path = tmp_path / "out.jsonl"
    out = Output(path)
    real = Output._write_bytes

    def interrupted(self, data):
        if b'"b"' in bytes(data):
            real(self, data[:5])
            raise KeyboardInterrupt
        return real(self, data)

    monkeypatch.setattr(Output, "_write_bytes", interrupted)
    with out:
        out.start()
        out.write('{"id": "a"}\n')
        with pytest.raises(KeyboardInterrupt):
            out.write('{"id": "b"}\n')
    assert path.read_bytes() == b'{"id": "a"}\n'


def test_output_in_a_folder_or_missing_folder_raises(tmp_path):
    with pytest.raises(OutputError, match="it is a folder"):
        Output(tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        Output(tmp_path / "missing" / "out.jsonl")


# ---- 3. errors that name the place -------------------------------------------------------------------


BAD_LINES = [
    (b"garbage\n", "invalid JSON: Expecting value"),
    (b'{"text": "no id"}\n', "the object has no 'id'"),
    (b"[1,2]\n", "expected a JSON object with an 'id', got an array"),
    (b'{"id": null}\n', "'id' must be a string"),
    (b"\xff\xfe\n", "not valid UTF-8"),
]


@pytest.mark.parametrize("bad, reason", BAD_LINES)
def test_bad_line_in_a_resumed_output_names_file_and_line(tiny_model_dir, tmp_path, capsys, bad, reason):
    inputs = jsonl(tmp_path / "in.jsonl", ["a", "b", "c"])
    out = tmp_path / "out.jsonl"
    assert cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out)[0] == 0
    lines = out.read_bytes().splitlines(keepends=True)
    damaged = b"\n" + lines[0] + bad + lines[1]  # a blank line first: the 3rd line of the file is bad
    out.write_bytes(damaged)
    code, err = cli(capsys, "predict", inputs, "--model", tiny_model_dir, "-o", out, "--resume")
    assert code == 2
    assert one_error_line(err).startswith(f"error: {out}:3: {reason}"), err
    assert out.read_bytes() == damaged
    with pytest.raises(ValueError, match=f"out.jsonl:3: {reason}"):
        read_output_ids(out)


def test_bad_line_error_from_a_separate_process(tiny_model_dir, tmp_path):
    inputs = jsonl(tmp_path / "in.jsonl", ["a"])
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "x"}\n[1,2]\n', encoding="utf-8")
    proc = run("predict", inputs, "--model", tiny_model_dir, "-o", out, "--resume")
    assert proc.returncode == 2 and f"{out}:2:" in one_error_line(proc.stderr)


def test_read_output_ids_cuts_only_a_half_written_last_line(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"id": "a"}\n\n{"id": 7}\n{"id": "b", "te')
    assert read_output_ids(path) == (["a", "7"], len(b'{"id": "a"}\n\n{"id": 7}\n'))
