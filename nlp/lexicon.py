"""A transparent Arabic trigger lexicon for PLOVER event types, used to make silver sentence labels.

Triggers are normalized like model input and matched with the usual clitics around them; a
negation word right before a trigger, or sports vocabulary for the sports-sensitive types,
cancels the match. The lexicon is a baseline and a source of weak labels, not the model.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .labels import EVENT_TYPES
from .preprocess import NormalizationConfig, normalize

_LETTER = r"[\u0621-\u064A\u0671-\u06D3a-zA-Z0-9]"
_PREFIX = r"(?:[وف]?(?:[بلك]|س)?(?:ال)?)"


def _pattern(trigger: str) -> str:
    """Regex for one trigger: clitic prefixes on the first word, short suffixes on each word."""
    words = trigger.split()
    parts = []
    for k, word in enumerate(words):
        open_ended = word.endswith("*") or (k == len(words) - 1 and len(word) == 1)
        stem = re.escape(word.rstrip("*"))
        suffix = f"{_LETTER}*" if open_ended else f"{_LETTER}{{0,3}}"
        prefix = _PREFIX if len(stem) > 2 or k > 0 else r"(?:[وف]?س?)"
        parts.append(prefix + stem + suffix)
    return r"(?<!" + _LETTER + r")" + r"\s+".join(parts) + r"(?!" + _LETTER + r")"


@dataclass
class Lexicon:
    """Compiled trigger patterns per event type, plus negation and sports cues."""

    patterns: dict[str, re.Pattern[str]]
    negation: frozenset[str]
    sports: re.Pattern[str] | None
    sports_sensitive: frozenset[str] = field(default_factory=frozenset)
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], normalization: NormalizationConfig | None = None) -> "Lexicon":
        """Load `data/lexicon/plover_ar.yaml`-style files; unknown event types are an error."""
        return cls.from_yaml_text(Path(path).read_text(encoding="utf-8"), source=str(path), normalization=normalization)

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "lexicon", normalization: NormalizationConfig | None = None) -> "Lexicon":
        """The same from YAML text (e.g. the copy stored in a model directory); `source` names it in errors."""
        normalization = normalization or NormalizationConfig()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{source}: not valid YAML: {err}") from err
        if not isinstance(data, dict) or not isinstance(data.get("types"), dict):
            raise ValueError(f"{source}: expected a mapping with a 'types' section")
        norm = lambda s: normalize(str(s), normalization).text.strip()  # noqa: E731
        patterns = {}
        for name, triggers in data["types"].items():
            if name not in EVENT_TYPES:
                raise ValueError(f"{source}: unknown event type {name!r}")
            alternatives = sorted({_pattern(norm(t)) for t in triggers or [] if norm(t)}, key=len, reverse=True)
            if alternatives:
                patterns[name] = re.compile("|".join(alternatives))
        cues = [norm(c) for c in data.get("sports_cues", []) if norm(c)]
        sports = re.compile("|".join(_pattern(c) for c in cues)) if cues else None
        return cls(
            patterns=patterns,
            negation=frozenset(norm(n) for n in data.get("negation", [])),
            sports=sports,
            sports_sensitive=frozenset(data.get("sports_sensitive", [])),
            normalization=normalization,
        )

    def only(self, types: Iterable[str]) -> "Lexicon":
        """A copy that looks for the given types only (the predictor needs a few: 4 patterns instead of 16
        made its per-sentence cost about four times smaller)."""
        keep = set(types)
        unknown = keep - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event types {sorted(unknown)}; expected PLOVER types such as {EVENT_TYPES[0]}")
        patterns = {name: pattern for name, pattern in self.patterns.items() if name in keep}
        sports = self.sports if keep & self.sports_sensitive else None
        return dataclasses.replace(self, patterns=patterns, sports=sports)

    def events(self, sentence: str) -> list[str]:
        """PLOVER types whose triggers occur (not negated) in the raw sentence, in canonical order."""
        text = normalize(sentence, self.normalization).text
        sporty = bool(self.sports and self.sports.search(text))
        found = []
        for name in EVENT_TYPES:
            pattern = self.patterns.get(name)
            if pattern is None or (sporty and name in self.sports_sensitive):
                continue
            for match in pattern.finditer(text):
                before = text[max(0, match.start() - 20) : match.start()].split()
                if before and before[-1] in self.negation:
                    continue
                found.append(name)
                break
        return found


def model_lexicon(lexicon_yaml: str | None, lexicon_types: Iterable[str], normalization) -> "Lexicon | None":
    """The trigger lexicon a model stores, restricted to its `lexicon_types` (None when it lists none).

    One place for what predict() applies, so tools that replay its decisions see the same hits.
    """
    types = sorted(set(lexicon_types))
    if not types:
        return None
    if lexicon_yaml is None:
        raise ValueError(f"the model lists lexicon_types {types} but holds no lexicon")
    return Lexicon.from_yaml_text(lexicon_yaml, source="the model's lexicon.yaml", normalization=normalization).only(types)
