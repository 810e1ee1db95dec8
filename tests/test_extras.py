"""The lean install: predict() needs no training extra, and a tool that needs a missing extra names it."""

import json
import subprocess
import sys

import pytest

from .conftest import EXAMPLE, REPO

TRAINING_MODULES = ("datasets", "accelerate", "sklearn", "seqeval")
SAMPLE_CONLL = REPO / "data" / "examples" / "ner_sample.conll"


def hide(monkeypatch, *modules: str) -> None:
    """Make `import NAME` fail as if the package were not installed (None in sys.modules stops the import)."""
    for name in list(sys.modules):
        if name.partition(".")[0] in modules:
            monkeypatch.delitem(sys.modules, name)
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_require_names_the_extra(monkeypatch):
    from nlp.extras import require

    hide(monkeypatch, "seqeval")
    with pytest.raises(ImportError, match=r'scoring needs the \[eval\] extra .*pip install "arabic-news-events\[eval\]"'):
        require("seqeval", "eval", "scoring")
    assert require("json", "eval", "x") is json
    with pytest.raises(ValueError, match="unknown extra"):
        require("json", "evaluate", "x")


def test_conll_evaluation_without_seqeval_says_install_eval(monkeypatch, capsys, tiny_model_dir):
    from nlp.cli import main
    from nlp.evaluation import evaluate_conll

    hide(monkeypatch, "seqeval")
    with pytest.raises(ImportError, match=r"arabic-news-events\[eval\]"):
        evaluate_conll(SAMPLE_CONLL, model=tiny_model_dir, progress=False)
    assert main(["evaluate", str(SAMPLE_CONLL), "--model", str(tiny_model_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: scoring a CoNLL file") and 'pip install "arabic-news-events[eval]"' in err


def test_datasets_helpers_without_datasets_say_install_train(monkeypatch):
    from nlp.data import conll_dataset

    hide(monkeypatch, "datasets")
    with pytest.raises(ImportError, match=r'pip install "arabic-news-events\[train\]"'):
        conll_dataset(SAMPLE_CONLL)


@pytest.mark.parametrize(
    ("module", "argv", "hidden"),
    [
        ("training.train", ["--config", "configs/smoke.yaml"], "accelerate"),
        ("training.pretrain_mlm", ["--config", "configs/mlm-e5.yaml"], "datasets"),
        ("training.annotation.agreement", ["a.jsonl", "b.jsonl"], "sklearn"),
    ],
)
def test_training_commands_without_their_extra_exit_with_the_install_line(monkeypatch, capsys, module, argv, hidden):
    from importlib import import_module

    main = import_module(module).main
    hide(monkeypatch, hidden)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: python -m " + module) and 'pip install "arabic-news-events[train]"' in err


def test_predict_needs_no_training_or_evaluation_package(tiny_model_dir, tmp_path):
    """In a fresh interpreter where the training/evaluation packages cannot be imported, the library and the CLI
    still predict."""
    out = tmp_path / "out.jsonl"
    code = (
        "import sys\n"
        f"for name in {TRAINING_MODULES!r}: sys.modules[name] = None\n"
        "import nlp\n"
        f"doc = nlp.predict('قال الوزير في بغداد.', model={str(tiny_model_dir)!r}, device='cpu')\n"
        "assert doc.sentences, doc\n"
        "from nlp.cli import main\n"
        f"sys.exit(main(['predict', {str(EXAMPLE)!r}, '--model', {str(tiny_model_dir)!r}, '--device', 'cpu', '-o', {str(out)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["sentences"] and all(doc["text"][e["start"] : e["end"]] == e["text"] for e in doc["entities"])


def test_base_dependencies_leave_training_packages_to_extras_and_dev_installs_everything():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements):
        return {r.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}

    base = names(project["dependencies"])
    extras = {extra: names(reqs) for extra, reqs in project["optional-dependencies"].items()}
    assert not base & {"datasets", "accelerate", "scikit-learn", "seqeval"}
    assert {"datasets", "accelerate", "scikit-learn", "seqeval"} <= extras["train"] and "seqeval" in extras["eval"]
    from nlp.extras import EXTRAS

    assert set(EXTRAS) <= set(extras)
    for extra, packages in extras.items():  # the README's set-up command installs [dev]: everything
        assert packages <= extras["dev"], extra
