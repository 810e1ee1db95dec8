import json

import pytest

from nlp.articles import Article, read_articles, write_articles
from nlp.evaluation import evaluate, format_report
from nlp.labels import ENTITY_LABELS, EVENT_TYPES
from nlp.metrics import entity_scores, event_scores


def test_event_scores_hand_computed():
    gold = [{"ASSAULT"}, {"ASSAULT", "ACCUSE"}, set(), {"PROTEST"}]
    pred = [{"ASSAULT"}, {"ASSAULT"}, {"ACCUSE"}, set()]
    scores = event_scores(gold, pred, EVENT_TYPES)
    assert scores["per_type"]["ASSAULT"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2, "predicted": 2}
    assert scores["per_type"]["ACCUSE"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 1}
    assert scores["per_type"]["PROTEST"]["support"] == 1
    # micro: tp=2, fp=1, fn=2
    assert scores["micro"]["precision"] == pytest.approx(2 / 3)
    assert scores["micro"]["recall"] == pytest.approx(0.5)
    assert scores["micro"]["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # macro over the 3 types present in gold
    assert scores["macro"]["f1"] == pytest.approx(1 / 3)
    # has-any-event: right on sentences 0 and 1, wrong on 2 and 3
    assert scores["has_event_accuracy"] == pytest.approx(0.5)
    # one no-event sentence (2), and it was given ACCUSE
    assert scores["no_event_sentences"] == 1 and scores["no_event_flagged"] == 1.0
    clean = event_scores([set(), set(), {"AID"}], [set(), {"PROTEST"}, {"AID"}], EVENT_TYPES)
    assert clean["no_event_sentences"] == 2 and clean["no_event_flagged"] == pytest.approx(0.5)


def test_entity_scores_hand_computed():
    gold = [{(0, 5, "PER"), (10, 15, "LOC")}, {(3, 8, "ORG")}]
    pred = [{(0, 5, "PER"), (10, 14, "LOC")}, {(3, 8, "LOC")}]
    scores = entity_scores(gold, pred, ENTITY_LABELS)
    assert scores["micro"]["precision"] == pytest.approx(1 / 3)
    assert scores["micro"]["recall"] == pytest.approx(1 / 3)
    assert scores["per_type"]["PER"]["f1"] == 1.0
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 2}
    assert scores["per_type"]["ORG"]["support"] == 1


def test_report_table_shows_types_predicted_but_absent_from_gold():
    report = {"n_documents": 1, "events": event_scores([{"ASSAULT"}, set()], [{"ASSAULT", "AGREE"}, {"AGREE"}], EVENT_TYPES)}
    rows = {line.split()[0]: line.split()[1:] for line in format_report(report).splitlines()[3:] if line and line[0].isupper()}
    assert rows["AGREE"] == ["0.000", "0.000", "0.000", "0", "2"]  # two false positives, no gold: still a row
    assert rows["ASSAULT"][-2:] == ["1", "1"] and "PROTEST" not in rows  # neither in gold nor predicted: no row


def _write(tmp_path, records):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


GOOD = {
    "id": "a1",
    "text": "قصفت الطائرات بغداد. واجتمع الوزير.",
    "sentences": [{"start": 0, "end": 20, "events": ["ASSAULT"]}, {"start": 21, "end": 35, "events": ["CONSULT"]}],
    "entities": [{"start": 14, "end": 19, "label": "LOC", "text": "بغداد"}],
}


def test_reader_round_trip(tmp_path):
    (article,) = read_articles(_write(tmp_path, [GOOD]))
    assert article.sentences[0].events == ("ASSAULT",)
    assert article.text[article.entities[0].start : article.entities[0].end] == "بغداد"
    out = tmp_path / "out.jsonl"
    write_articles([article], out)
    assert read_articles(out)[0] == article


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sentences": [{"start": 0, "end": 20, "events": ["ATTACK"]}]}, "unknown event type"),
        ({"entities": [{"start": 14, "end": 19, "label": "PERSON"}]}, "unknown entity label"),
        ({"entities": [{"start": 14, "end": 99, "label": "LOC"}]}, "outside the text"),
        ({"entities": [{"start": 14, "end": 19, "label": "LOC", "text": "دمشق"}]}, "does not match"),
        (
            {"entities": [{"start": 14, "end": 19, "label": "LOC"}, {"start": 16, "end": 20, "label": "ORG"}]},
            "overlap",
        ),
        ({"sentences": [{"start": 5, "end": 20}, {"start": 10, "end": 30}]}, "overlaps"),
        ({"text": 5}, "'text' must be a string"),
    ],
)
def test_reader_rejects_bad_records_with_file_and_line(tmp_path, change, message):
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "a2", **change}])
    with pytest.raises(ValueError, match=message) as info:
        read_articles(path)
    assert f"{path}:2:" in str(info.value)


def test_reader_rejects_invalid_json(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "text": "a"}\n{oops}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: invalid JSON"):
        read_articles(path)


def test_evaluate_report_shape(tmp_path, predictor):
    only_text = {"id": "a3", "text": "نص بلا تعليقات."}
    report = evaluate(_write(tmp_path, [GOOD, only_text]), model=predictor)
    assert report["n_documents"] == 2 and report["n_sentences"] == 2
    assert set(report["events"]) == {"micro", "macro", "per_type", "has_event_accuracy", "no_event_sentences", "no_event_flagged"}
    assert set(report["events"]["per_type"]) == set(EVENT_TYPES)
    assert set(report["entities"]["per_type"]) == set(ENTITY_LABELS)
    assert "Events" in format_report(report)


def test_evaluate_without_layers_omits_keys(predictor):
    report = evaluate([Article(id="x", text="قال الوزير.")], model=predictor)
    assert "events" not in report and "entities" not in report


def test_evaluate_seed_gold(seed_articles, predictor, tmp_path):
    report = evaluate(_write(tmp_path, seed_articles), model=predictor)
    assert report["n_sentences"] == sum(len(a["sentences"]) for a in seed_articles)
    assert report["entities"]["per_type"]["LOC"]["support"] > 0


def test_conll_report_counts_predicted_entities_per_label():
    from pathlib import Path

    from nlp.evaluation import evaluate_conll

    sample = Path(__file__).resolve().parents[1] / "data" / "examples" / "ner_sample.conll"
    report = evaluate_conll(sample, progress=False)  # the shipped model; the sample uses ANERcorp's PERS tag
    per_type = report["entities"]["per_type"]
    assert sum(s["predicted"] for s in per_type.values()) > 0
    for label, s in per_type.items():  # true positives seen both ways: precision x predicted = recall x support
        assert s["precision"] * s["predicted"] == pytest.approx(s["recall"] * s["support"]), label
    assert per_type["PER"]["support"] > 0 and per_type["PER"]["predicted"] > 0
