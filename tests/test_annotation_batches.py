"""Annotation round trip: batches for annotators, the sheet checker, and import to standoff records."""

import json

from nlp.articles import Article
from nlp.data import read_standoff
from training.annotation.annotation_batches import check_sheet, make_batches
from training.annotation.import_annotations import main as import_main

TEXTS = {
    "snn-a": "استقبل الملك سلمان في الرياض وزير الخارجية الأمريكي. وبحث الجانبان العلاقات الثنائية.",
    "snn-b": "قصفت طائرات التحالف مواقع في صنعاء. ونفت الجماعة سقوط قتلى.",
}


def _corpus(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"id": k, "text": v, "title": ""}, ensure_ascii=False) + "\n" for k, v in TEXTS.items()), encoding="utf-8")
    return path


def _sheet(batch, path, events, entities):
    with open(path, "w", encoding="utf-8") as handle:
        for line in batch.read_text(encoding="utf-8").splitlines():
            article = json.loads(line)
            record = {"id": article["id"], "sentences": [{"i": s["i"], "events": events.get((article["id"], s["i"]), [])} for s in article["sentences"]]}
            if article["tag_entities"]:
                record["entities"] = entities[article["id"]]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def test_batches_check_and_import(tmp_path):
    corpus = _corpus(tmp_path)
    (batch,) = make_batches(["snn-a", "snn-b"], str(corpus), tmp_path / "round", n_batches=1, entities=1)
    lines = [json.loads(line) for line in batch.read_text(encoding="utf-8").splitlines()]
    assert [line["tag_entities"] for line in lines] == [True, False]
    assert [s["text"] for s in lines[0]["sentences"]] == ["استقبل الملك سلمان في الرياض وزير الخارجية الأمريكي.", "وبحث الجانبان العلاقات الثنائية."]

    sheet = tmp_path / "sheet.jsonl"
    entities = {"snn-a": [{"i": 0, "text": "سلمان", "label": "PER"}, {"i": 0, "text": "الرياض", "label": "LOC"}]}
    _sheet(batch, sheet, {("snn-a", 0): ["CONSULT"], ("snn-b", 0): ["ASSAULT"], ("snn-b", 1): ["REJECT"]}, entities)
    assert check_sheet(str(batch), str(sheet)) == []

    import_main(["--corpus", str(corpus), "--sheets", str(sheet), "--output-dir", str(tmp_path / "out"), "--prefix", "round", "--train-only"])
    articles = {a.id: a for a in read_standoff(tmp_path / "out" / "round_train.jsonl", corpus)}
    assert isinstance(articles["snn-a"], Article)
    a = articles["snn-a"]
    assert [(a.text[e.start:e.end], e.label) for e in a.entities] == [("سلمان", "PER"), ("الرياض", "LOC")]
    assert [s.events for s in articles["snn-b"].sentences] == [("ASSAULT",), ("REJECT",)]


def test_checker_names_each_problem(tmp_path):
    corpus = _corpus(tmp_path)
    (batch,) = make_batches(["snn-a", "snn-b"], str(corpus), tmp_path / "round", n_batches=1, entities=1)
    sheet = tmp_path / "sheet.jsonl"
    _sheet(batch, sheet, {("snn-b", 0): ["BOMBING"]}, {"snn-a": [{"i": 0, "text": "جدة", "label": "LOC"}]})
    problems = check_sheet(str(batch), str(sheet))
    assert any("BOMBING" in p for p in problems)
    assert any("جدة" in p for p in problems)  # an entity text that is not in its sentence


def test_checker_stops_at_a_sheet_in_another_order(tmp_path):
    corpus = _corpus(tmp_path)
    (batch,) = make_batches(["snn-a", "snn-b"], str(corpus), tmp_path / "round", n_batches=1, entities=0)
    sheet = tmp_path / "sheet.jsonl"
    _sheet(batch, sheet, {}, {})
    lines = sheet.read_text(encoding="utf-8").splitlines()
    sheet.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    assert check_sheet(str(batch), str(sheet)) == ["the sheet must list the batch's 2 article ids in the same order, one object per line"]
