import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from nlp import predict, render

from .conftest import example_text

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
BROWSER_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class _Marks(HTMLParser):
    """Collects the text inside each <mark class="ent"> element."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[str, str]] = []
        self._open: list[str] | None = None
        self._label = ""
        self.root_dir = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root_dir = attrs.get("dir")
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


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium) for the browser check")
def test_page_in_a_real_browser(predictor, seed_articles, tmp_path):
    results = predict([a["text"] for a in seed_articles], model=predictor)
    page = tmp_path / "seeds.html"
    page.write_text(render(results, titles=[a["id"] for a in seed_articles]), encoding="utf-8")
    profile = tmp_path / "profile"
    common = [BROWSER, *BROWSER_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(common + ["--dump-dom", page.as_uri()], capture_output=True, timeout=120)
    assert dom.returncode == 0, dom.stderr.decode()[-2000:]
    _check(dom.stdout.decode("utf-8"), results)  # the DOM as the browser built it
    shot = tmp_path / "seeds.png"
    run = subprocess.run(
        common + ["--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1100,1400", page.as_uri()],
        capture_output=True, timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert b"CONSOLE" not in run.stderr and b"Uncaught" not in run.stderr


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
