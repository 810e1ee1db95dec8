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
