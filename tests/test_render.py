import json
import subprocess
from html.parser import HTMLParser

import pytest

from nlp import predict, render

from .browser import find_chromium
from .conftest import SHARED, example_text

BROWSER = find_chromium()


class _Marks(HTMLParser):
    """Collects the text inside each <mark class="ent"> element."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[str, str]] = []
        self._open: list[str] | None = None
        self._label = ""
        self.root_dir = None
        self.sentence_dirs: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root_dir = attrs.get("dir")
        if tag == "p" and "sent" in (attrs.get("class") or "").split():
            self.sentence_dirs.append(attrs.get("dir"))
        if tag == "mark" and "ent" in (attrs.get("class") or ""):
            self._open, self._label = [], attrs.get("data-label", "")

    def handle_endtag(self, tag):
        if tag == "mark" and self._open is not None:
            self.marks.append(("".join(self._open), self._label))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)


def _check(page: str, results) -> None:
    parser = _Marks()
    parser.feed(page)
    assert parser.root_dir == "rtl"
    assert parser.sentence_dirs == ["rtl"] * sum(len(r.sentences) for r in results)  # explicit, not "auto"
    assert parser.marks == [(e.text, e.label) for r in results for e in r.entities]


def test_render_marks_every_entity_with_its_exact_text(predictor):
    texts = [example_text(), 'قال <b>"الوزير"</b> & غادر.', ""]
    results = predict(texts, model=predictor)
    page = render(results, titles=["example", "markup", "empty"])
    _check(page, results)
    assert "<script" not in page.lower() and "http" not in page.split("<body>")[1]
    assert page.count('<section class="doc"') == 3 and "<nav>" in page
    with pytest.raises(TypeError):
        render(["not a result"])


def test_cli_writes_html(tiny_model_dir, tmp_path):
    import os
    import sys

    from .conftest import EXAMPLE, REPO

    out = tmp_path / "view.html"
    proc = subprocess.run(
        [sys.executable, "-m", "nlp", "predict", str(EXAMPLE), "--model", str(tiny_model_dir), "--html", str(out)],
        capture_output=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# For every sentence: its computed direction, its content box, the rectangles of its badges and of each visible
# character of its text.
LAYOUT_PROBE = r"""
(() => {
  const chars = (node) => {  // [left, right, top, bottom, character] for each visible character, in text order
    const out = [], walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      for (let i = 0; i < t.data.length; i++) {
        if (/\s/.test(t.data[i])) continue;
        const r = document.createRange(); r.setStart(t, i); r.setEnd(t, i + 1);
        const b = r.getBoundingClientRect();
        if (b.width > 0) out.push({left: b.left, right: b.right, top: b.top, bottom: b.bottom, char: t.data[i]});
      }
    }
    return out;
  };
  return [...document.querySelectorAll("p.sent")].map((p) => {
    const style = getComputedStyle(p), box = p.getBoundingClientRect();
    return {
      direction: style.direction,
      right: box.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight),
      badges: [...p.querySelectorAll(".badge")].map((e) => {
        const b = e.getBoundingClientRect();
        return {left: b.left, right: b.right, top: b.top, bottom: b.bottom,
                direction: getComputedStyle(e).direction, label: e.firstChild.data.trim()};
      }),
      chars: chars(p.querySelector(".text")),
    };
  });
})()
"""


def _same_line(a: dict, b: dict) -> bool:
    return min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0


def _with_events(results) -> None:
    """Every other sentence gets events (the tiny model's own are random), so each page shows badges."""
    import dataclasses

    for doc in results:
        doc.sentences = [
            dataclasses.replace(s, events=(("CONSULT", 0.91), ("ASSAULT", 0.42))[: 1 + i % 2]) if i % 2 == 0 else s
            for i, s in enumerate(doc.sentences)
        ]


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium) for the browser check")
def test_page_in_a_real_browser_is_right_to_left(predictor, tmp_path):
    from .browser import Browser

    seeds = SHARED / "data" / "seeds_gold.jsonl"  # the staged seed articles when present, else the example only
    articles = [json.loads(line) for line in seeds.read_text(encoding="utf-8").splitlines() if line.strip()] if seeds.is_file() else []
    texts = [a["text"] for a in articles] + [example_text(), "قال الوزير إن المحادثات ستستمر في Geneva."]
    results = predict(texts, model=predictor)
    _with_events(results)
    page = tmp_path / "seeds.html"
    page.write_text(render(results, titles=[a["id"] for a in articles] + ["example", "latin"]), encoding="utf-8")
    with Browser(BROWSER, width=1000, height=1400) as browser:
        browser.open(page.as_uri())
        _check(browser.evaluate("document.documentElement.outerHTML"), results)  # the DOM as the browser built it
        browser.evaluate("document.fonts.ready.then(() => true)")
        sentences = browser.evaluate(LAYOUT_PROBE)
        shot = browser.screenshot(tmp_path / "seeds.png")
    assert len(sentences) == sum(len(r.sentences) for r in results)
    expected = [[label for label, _ in s.events] for r in results for s in r.sentences]
    punctuated = 0
    for index, (sentence, labels) in enumerate(zip(sentences, expected)):
        where = f"sentence {index}"
        assert sentence["direction"] == "rtl", where
        chars, badges = sentence["chars"], sentence["badges"]
        first_line = [c for c in chars if _same_line(c, chars[0])]
        start = max(c["right"] for c in first_line)  # where the text starts: the right end of its first line
        assert [b["label"] for b in badges] == labels, where
        if badges:
            # the badges open the first line at the right, in reading order (first badge rightmost), then the text
            assert abs(badges[0]["right"] - sentence["right"]) < 2, where
            assert all(b["direction"] == "ltr" for b in badges), where
            assert all(a["left"] > b["right"] for a, b in zip(badges, badges[1:])), where
            assert _same_line(badges[-1], chars[0]) and start < badges[-1]["left"], where
        else:
            assert abs(start - sentence["right"]) < 2, where
        final = chars[-1]
        if final["char"] in ".!?؟":
            # the final punctuation ends the last line on the left, next to its word or to the entity label after it
            others = [c["left"] for c in chars[:-1] if _same_line(c, final)]
            assert others and -1 < min(others) - final["right"] < 40, (where, final, min(others, default=None))
            punctuated += 1
    assert punctuated > len(sentences) // 2
    assert shot.stat().st_size > 10_000


def test_tables_have_one_row_per_event_and_entity(predictor):
    from nlp.tables import COLUMNS, to_rows

    results = predict([example_text(), "قال الوزير."], model=predictor)
    for i, r in enumerate(results):
        r.id = f"d{i}"
    rows = to_rows(results)
    n_events = sum(len(s.events) for r in results for s in r.sentences)
    n_entities = sum(len(r.entities) for r in results)
    assert len(rows) == n_events + n_entities
    assert all(set(row) == set(COLUMNS) for row in rows)
    text = {r.id: r.text for r in results}
    assert all(text[row["doc_id"]][row["start"] : row["end"]] == row["text"] for row in rows)
    pd = pytest.importorskip("pandas")
    from nlp import to_dataframe

    frame = to_dataframe(results[0])
    assert isinstance(frame, pd.DataFrame) and len(frame) == sum(1 for row in rows if row["doc_id"] == "d0")
