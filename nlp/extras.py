"""Optional dependencies: import one, or raise an ImportError that names the extra which installs it.

`pip install arabic-news-events` installs what `predict()` needs; training and evaluation tools need extras.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

DISTRIBUTION = "arabic-news-events"
#: extra -> what it is for (the names of [project.optional-dependencies] in pyproject.toml)
EXTRAS = {
    "train": "training (accelerate, datasets), the agreement tool (scikit-learn) and everything in [eval]",
    "eval": "entity-level scores on CoNLL files (seqeval)",
}


def install_hint(extra: str) -> str:
    """The pip command that installs `extra`, from PyPI or from a checkout."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {sorted(EXTRAS)}")
    return f'pip install "{DISTRIBUTION}[{extra}]" (in a checkout: pip install -e ".[{extra}]")'


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`; if it (or a module it needs) is missing, an ImportError saying that `purpose` needs
    the extra `extra` and how to install it."""
    hint = install_hint(extra)
    try:
        return import_module(module)
    except ImportError as err:
        raise ImportError(f"{purpose} needs the [{extra}] extra ({err}): {hint}") from err
