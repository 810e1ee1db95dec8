"""Self-contained right-to-left HTML views of predictions: event badges per sentence, highlighted entities.

No network and no JavaScript: one HTML string with inline CSS, readable offline in any browser.
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

from .results import DocumentPrediction

COLOURS = {"PER": "#fde68a", "ORG": "#bfdbfe", "LOC": "#bbf7d0", "MISC": "#f5d0fe"}

_CSS = """
body { font-family: "Noto Naskh Arabic", "Amiri", "Segoe UI", Tahoma, sans-serif; margin: 2rem auto; max-width: 60rem;
       line-height: 2.1; color: #1f2937; background: #fafafa; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; border-bottom: 1px solid #ddd; margin-top: 2.5rem; }
nav ol { column-count: 2; } .doc { background: #fff; padding: 1rem 1.5rem; border-radius: .5rem; box-shadow: 0 1px 3px #0001; }
.sent { margin: .35rem 0; padding: .2rem .4rem; border-inline-start: 3px solid transparent; }
.sent.has-event { border-inline-start-color: #ef4444; background: #fff7f7; }
.badges { unicode-bidi: isolate; display: inline-block; margin-inline-end: .5rem; }
.badge { unicode-bidi: isolate; direction: ltr; display: inline-block; font: 600 .7rem/1.4 ui-monospace, monospace;
         background: #ef4444; color: #fff; border-radius: .7rem; padding: 0 .45rem; }
.badge + .badge { margin-right: .25rem; }
.badge small { font-weight: 400; opacity: .85; }
mark.ent { unicode-bidi: isolate; padding: .05rem .2rem; border-radius: .25rem; }
mark.ent::after { content: attr(data-label); unicode-bidi: isolate; direction: ltr; font: 600 .6rem ui-monospace, monospace;
                  vertical-align: super; margin-inline-start: .15rem; opacity: .7; }
.legend span { display: inline-block; padding: 0 .5rem; margin-inline-end: .4rem; border-radius: .25rem; }
.empty { color: #6b7280; font-style: italic; }
"""


def _entity_mark(text: str, label: str, score: float) -> str:
    colour = COLOURS.get(label, "#e5e7eb")
    return (
        f'<mark class="ent ent-{label}" data-label="{label}" title="{label} {score:.2f}" '
        f'style="background:{colour}">{html.escape(text)}</mark>'
    )


def _sentence_html(doc: DocumentPrediction, sentence) -> str:
    pieces = []
    cursor = sentence.start
    for entity in doc.entities:
        if entity.start < sentence.start or entity.end > sentence.end:
            continue
        pieces.append(html.escape(doc.text[cursor : entity.start]))
        pieces.append(_entity_mark(entity.text, entity.label, entity.score))
        cursor = entity.end
    pieces.append(html.escape(doc.text[cursor : sentence.end]))
    # every sentence is laid out right to left: the badges (Latin labels) come first, at the right, in a group
    # that runs right to left (a <bdi> without dir would take its direction from "CONSULT"); each badge is isolated
    # and left to right inside, so no label turns the paragraph around or moves its final punctuation
    badges = "".join(
        f'<bdi class="badge" dir="ltr" title="{label} {score:.2f}">{label} <small>{score:.2f}</small></bdi>'
        for label, score in sentence.events
    )
    cls, group = ("sent has-event", f'<bdi class="badges" dir="rtl">{badges}</bdi>') if sentence.events else ("sent", "")
    return f'<p class="{cls}" dir="rtl">{group}<span class="text">{"".join(pieces)}</span></p>'


def render(
    results: DocumentPrediction | Sequence[DocumentPrediction],
    titles: Iterable[str] | None = None,
    page_title: str = "Arabic news events",
) -> str:
    """An HTML page (RTL, self-contained) showing each document's sentences, events and entities."""
    docs = [results] if isinstance(results, DocumentPrediction) else list(results)
    for index, doc in enumerate(docs):
        if not isinstance(doc, DocumentPrediction):
            raise TypeError(f"render() expects DocumentPrediction results; item {index} is {type(doc).__name__}")
    names = list(titles) if titles is not None else [doc.id or f"document {i + 1}" for i, doc in enumerate(docs)]
    if len(names) != len(docs):
        raise ValueError(f"{len(names)} titles given for {len(docs)} documents")
    legend = "".join(f'<span style="background:{c}">{label}</span>' for label, c in COLOURS.items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ar" dir="rtl"><head><meta charset="utf-8">',
        f"<title>{html.escape(page_title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(page_title)}</h1>",
        f'<p class="legend">{legend}</p>',
    ]
    if len(docs) > 1:  # an index; each document's counts read left to right, in the order of their English heading
        items = "".join(
            f'<li><a href="#doc-{i}"><bdi>{html.escape(name)}</bdi></a> '
            f'<bdi dir="ltr">({len(doc.sentences)} / {sum(1 for s in doc.sentences if s.events)} / {len(doc.entities)})</bdi></li>'
            for i, (name, doc) in enumerate(zip(names, docs))
        )
        parts.append(f"<nav><p>sentences / with events / entities</p><ol>{items}</ol></nav>")
    for i, (name, doc) in enumerate(zip(names, docs)):
        body = "".join(_sentence_html(doc, s) for s in doc.sentences) or '<p class="empty">(no text)</p>'
        if doc.error:
            body = f'<p class="empty">{html.escape(doc.error)}</p>'
        parts.append(f'<section class="doc" id="doc-{i}"><h2><bdi>{html.escape(name)}</bdi></h2>{body}</section>')
    parts.append("</body></html>")
    return "\n".join(parts)
