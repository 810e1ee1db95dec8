"""Build hook: the wheel carries the shipped model (metadata and options are in pyproject.toml).

`models/` stays at the top of the repository; building a wheel copies models/default and its card
(models/README.md) into the package as nlp/models/, where `nlp.inference.default_model_path()` finds them
after a regular install. Editable installs and checkouts read models/default in place.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
MODEL_DIR = ROOT / "models" / "default"


def model_files() -> list[Path]:
    """The files of the shipped model and its card; a clear error when the model is not there."""
    files = sorted(p for p in MODEL_DIR.iterdir() if p.is_file()) if MODEL_DIR.is_dir() else []
    card = ROOT / "models" / "README.md"
    if not (MODEL_DIR / "model.safetensors").is_file() or not card.is_file():
        raise FileNotFoundError(f"cannot build a wheel without the shipped model: {MODEL_DIR} and {card} must exist")
    return files + [card]


class BuildPyWithModel(build_py):
    """build_py that also copies the shipped model into the built package (not in editable mode)."""

    def _model_targets(self) -> dict[str, str]:
        """Destination in the build folder -> source, for each model file."""
        base = Path(self.build_lib) / "nlp" / "models"
        return {str(base / p.relative_to(ROOT / "models")): str(p) for p in model_files()}

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads models/default in the checkout
            return
        for target, source in self._model_targets().items():
            self.mkpath(str(Path(target).parent))
            self.copy_file(source, target, preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        return outputs if getattr(self, "editable_mode", False) else outputs + list(self._model_targets())

    def get_output_mapping(self) -> dict[str, str]:
        mapping = super().get_output_mapping()
        if not getattr(self, "editable_mode", False):
            mapping.update(self._model_targets())
        return mapping


setup(cmdclass={"build_py": BuildPyWithModel})
