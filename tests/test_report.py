import pytest

from nlp.evaluation import evaluate

from .conftest import REPO

GOLD = REPO / "data" / "examples" / "article_gold.jsonl"


def test_report_writes_markdown_and_charts(predictor, tmp_path):
    pytest.importorskip("matplotlib")
    from nlp.report import write_report

    report, details = evaluate(GOLD, model=predictor, return_details=True)
    assert len(details["probabilities"]) == report["n_sentences"] == 11
    assert all(len(p) == 16 for p in details["probabilities"])
    path = write_report(report, details, tmp_path, model="tiny", data=str(GOLD))
    text = path.read_text(encoding="utf-8")
    for image in ("events_per_type.png", "event_confusion.png", "event_thresholds.png", "entities_per_type.png"):
        assert f"({image})" in text
        assert (tmp_path / image).stat().st_size > 5_000
    assert "model: `tiny`" in text and "date:" in text and str(GOLD) in text
