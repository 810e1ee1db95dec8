"""Reading YAML recipes into dataclasses, with `--key value` overrides from the command line."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Sequence, TypeVar, get_type_hints

import yaml

T = TypeVar("T")


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Convert YAML/command-line scalars to the field's type (int, float, bool); others pass through."""
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    if hint in (int, float) and not isinstance(value, bool):
        try:
            return hint(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: expected {hint.__name__}, got {value!r}") from None
    return value


def load_config(cls: type[T], path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()) -> T:
    """Build dataclass `cls` from a YAML file plus `key=value` / `--key value` overrides.

    Unknown keys are errors (a typo must not silently fall back to a default).
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: invalid YAML: {err}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: the top level must be a mapping of option: value")
        values.update(loaded)
    values.update(parse_overrides(overrides))
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {cls.__name__}; known: {sorted(names)}")
    return cls(**{k: _coerce(v, hints[k], k) for k, v in values.items()})


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """['--lr', '3e-5', 'epochs=2'] -> {'lr': 3e-5, 'epochs': 2}; values parsed as YAML scalars/lists."""
    result: dict[str, Any] = {}
    items = list(items)
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("--"):
            key = item[2:]
            if "=" in key:
                key, raw = key.split("=", 1)
            else:
                if i + 1 >= len(items):
                    raise ValueError(f"option {item} needs a value")
                raw = items[i + 1]
                i += 1
        elif "=" in item:
            key, raw = item.split("=", 1)
        else:
            raise ValueError(f"cannot read override {item!r}; use --key value or key=value")
        result[key.replace("-", "_")] = yaml.safe_load(raw)
        i += 1
    return result
