import subprocess
import sys

from .conftest import REPO


def test_import_does_not_load_torch():
    code = "import sys, nlp; assert nlp.__version__; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_names_resolve():
    import nlp

    assert callable(nlp.predict) and callable(nlp.evaluate)
    assert len(nlp.EVENT_TYPES) == 16


def test_default_model_is_the_wheel_copy_when_installed_else_the_checkout(monkeypatch, tmp_path):
    import nlp.inference as inference

    monkeypatch.delenv(inference.MODEL_ENV, raising=False)
    assert inference.default_model_path() == REPO / "models" / "default"  # checkout / editable install
    packaged = tmp_path / "nlp" / "models" / "default"
    monkeypatch.setattr(inference, "PACKAGED_MODEL", packaged)
    assert inference.default_model_path() == REPO / "models" / "default"  # no copy in the package here
    packaged.mkdir(parents=True)
    assert inference.default_model_path() == packaged  # an installed wheel
    monkeypatch.setenv(inference.MODEL_ENV, str(tmp_path / "mine"))
    assert inference.default_model_path() == tmp_path / "mine"


def test_build_copies_the_shipped_model_into_the_package(tmp_path):
    """setup.py's build_py puts models/default and the model card into nlp/models/ of the built package."""
    import shutil

    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy(REPO / name, source / name)
    for package in ("nlp", "training"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "models").symlink_to(REPO / "models", target_is_directory=True)
    out = tmp_path / "lib"
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(out)],
        capture_output=True, text=True, cwd=source, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    shipped = sorted(p.name for p in (REPO / "models" / "default").iterdir() if p.is_file())
    assert sorted(p.name for p in (out / "nlp" / "models" / "default").iterdir()) == shipped
    weights = "model.safetensors"
    assert (out / "nlp" / "models" / "default" / weights).read_bytes() == (REPO / "models" / "default" / weights).read_bytes()
    assert (out / "nlp" / "models" / "README.md").is_file() and (out / "nlp" / "predictor.py").is_file()
