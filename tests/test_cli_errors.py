import os
import subprocess
import sys

from .conftest import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}


def test_skip_unreadable_files_in_a_folder(tiny_model_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("قال الوزير.", encoding="utf-8")
    (folder / "b.txt").write_bytes(b"\xff\xfe\x00bad")
    (folder / "c.txt").write_text("هجوم على القاعدة.", encoding="utf-8")
    cmd = [sys.executable, "-m", "nlp", "predict", str(folder), "--model", str(tiny_model_dir)]
    stopped = subprocess.run(cmd, capture_output=True, cwd=REPO, env=ENV, timeout=300)
    assert stopped.returncode == 2 and b"b.txt is not UTF-8" in stopped.stderr and b"Traceback" not in stopped.stderr
    skipped = subprocess.run(cmd + ["--on-error", "skip"], capture_output=True, cwd=REPO, env=ENV, timeout=300)
    assert skipped.returncode == 0, skipped.stderr.decode()
    assert len(skipped.stdout.decode().splitlines()) == 2
    assert b"warning: skipped" in skipped.stderr
