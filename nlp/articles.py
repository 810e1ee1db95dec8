"""Annotated articles in the JSON Lines format of FORMAT.md: data classes, a validating reader, a writer."""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .labels import check_entity_label, check_event_types


@dataclass(frozen=True)
class GoldSentence:
    start: int
    end: int
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoldEntity:
    start: int
    end: int
    label: str


@dataclass
class Article:
    """One annotated article; `sentences`/`entities` are None when that layer is not annotated."""

    id: str
    text: str
    sentences: list[GoldSentence] | None = None
    entities: list[GoldEntity] | None = None
    source: str | None = None
    date: str | None = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "date": self.date,
            "title": self.title,
            "text": self.text,
        }
        if self.sentences is not None:
            out["sentences"] = [{"start": s.start, "end": s.end, "events": list(s.events)} for s in self.sentences]
        if self.entities is not None:
            out["entities"] = [
                {"start": e.start, "end": e.end, "label": e.label, "text": self.text[e.start : e.end]}
                for e in self.entities
            ]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "") -> "Article":
        """Validate one article record; errors start with `where` (e.g. 'file.jsonl:3: ')."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}expected a JSON object, got {type(data).__name__}")
        text = data.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{where}'text' must be a string")
        doc_id = data.get("id")
        if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool):
            raise ValueError(f"{where}'id' must be a string")
        sentences = None
        if data.get("sentences") is not None:
            sentences = []
            previous_end = 0
            for k, s in enumerate(_list(data["sentences"], "sentences", where)):
                start, end = _span(s, len(text), f"{where}sentence {k}: ")
                if start < previous_end:
                    raise ValueError(f"{where}sentence {k} ({start}, {end}) overlaps or precedes the previous sentence")
                events = s.get("events", [])
                if not isinstance(events, list):
                    raise ValueError(f"{where}sentence {k}: 'events' must be a list of PLOVER types")
                check_event_types(events, f"{where}sentence {k}: ")
                sentences.append(GoldSentence(start, end, tuple(events)))
                previous_end = end
        entities = None
        if data.get("entities") is not None:
            entities = []
            for k, e in enumerate(_list(data["entities"], "entities", where)):
                start, end = _span(e, len(text), f"{where}entity {k}: ")
                label = check_entity_label(e.get("label"), f"{where}entity {k}: ")
                if "text" in e and e["text"] != text[start:end]:
                    raise ValueError(
                        f"{where}entity {k}: 'text' {e['text']!r} does not match text[{start}:{end}] = {text[start:end]!r}"
                    )
                entities.append(GoldEntity(start, end, label))
            ordered = sorted(entities, key=lambda e: (e.start, e.end))
            for a, b in zip(ordered, ordered[1:]):
                if b.start < a.end:
                    raise ValueError(f"{where}entities ({a.start}, {a.end}) and ({b.start}, {b.end}) overlap")
        known = {"id", "text", "sentences", "entities", "source", "date", "title"}
        return cls(
            id=str(doc_id),
            text=text,
            sentences=sentences,
            entities=entities,
            source=data.get("source"),
            date=data.get("date"),
            title=data.get("title"),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _list(value: Any, name: str, where: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{where}'{name}' must be a list")
    return value


def _span(item: Any, length: int, where: str) -> tuple[int, int]:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}expected an object with 'start' and 'end'")
    start, end = item.get("start"), item.get("end")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise ValueError(f"{where}'start' and 'end' must be integers")
    if not 0 <= start < end <= length:
        raise ValueError(f"{where}span ({start}, {end}) is empty or outside the text (length {length})")
    return start, end


def iter_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[str, Any]]:
    """Yield ('file:line: ', parsed value) for each non-blank line of a JSON Lines file (.gz too).

    Unreadable files, invalid UTF-8 and invalid JSON raise errors that name the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}: "
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{where}not valid UTF-8 ({err.reason} at byte {err.start})") from None
            if not line.strip():
                continue
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}invalid JSON: {err.msg} (column {err.colno})") from None


def iter_articles(path: str | os.PathLike[str]) -> Iterator[Article]:
    """Yield validated articles from a JSON Lines file; errors name the file and line."""
    for where, data in iter_json_lines(path):
        yield Article.from_dict(data, where)


def read_articles(path: str | os.PathLike[str]) -> list[Article]:
    """All validated articles of a JSON Lines file."""
    articles = list(iter_articles(path))
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise ValueError(f"{path}: duplicate article id {article.id!r}")
        seen.add(article.id)
    return articles


def write_articles(articles: Iterable[Article | Mapping[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write articles (Article objects or format dicts) as UTF-8 JSON Lines."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for article in articles:
            data = article.to_dict() if isinstance(article, Article) else dict(article)
            handle.write(json.dumps(data, ensure_ascii=False) + "\n")
