"""Sentence-level annotation sheets shared by `realign` and `select_discussion`: blind items, sheets, standoff output.

A blind item shows one sentence with its neighbours and title under a key; a sheet line is {"key", "events"}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from nlp.articles import iter_json_lines
from nlp.labels import EVENT_TYPES

CONTEXT_FIELDS = ("title", "before", "text", "after")


def blind_item(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    """What an annotator sees of a sentence record: the key, the sentence and its context, nothing else."""
    return {"key": key, **{field: record[field] for field in CONTEXT_FIELDS}}


def read_sheets(paths: Iterable[str | Path]) -> dict[str, list[str]]:
    """Verdicts by key from annotators' sheets, each a canonical (PLOVER-ordered, de-duplicated) list of types."""
    verdicts: dict[str, list[str]] = {}
    for path in paths:
        for where, record in iter_json_lines(path):
            events = record.get("events")
            if not isinstance(events, list) or any(e not in EVENT_TYPES for e in events):
                raise ValueError(f"{where}'events' must be a list of PLOVER types, got {events!r}")
            verdicts[record["key"]] = sorted(set(events), key=EVENT_TYPES.index)
    return verdicts


def standoff_records(sentences: Iterable[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Standoff article records from (article id, source, {"start", "end", "events"}) triples: sorted by id, each
    article's sentences by offset (the first source seen for an article is kept)."""
    articles: dict[str, dict[str, Any]] = {}
    for doc_id, source, sentence in sentences:
        articles.setdefault(doc_id, {"id": doc_id, "source": source, "sentences": []})["sentences"].append(sentence)
    for article in articles.values():
        article["sentences"].sort(key=lambda s: s["start"])
    return [articles[doc_id] for doc_id in sorted(articles)]


def write_jsonl(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """UTF-8 JSON Lines, one row per line, LF line ends."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
