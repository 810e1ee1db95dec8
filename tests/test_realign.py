"""The label-realignment workflow: cue rules, blind batches, adjudication, changes files; and non-event writing selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.data import read_standoff
from nlp.lexicon import Lexicon
from training.annotation import realign, select_discussion

TEXT_A = "قصفت الطائرات مواقع المسلحين أمس. يذكر أن الجيش اعتقل عشرة أشخاص الشهر الماضي. وقع الوزيران مذكرة تفاهم."
TEXT_B = "إذا هاجمت القوات المدينة فإن الرد سيكون قاسيا. ارتفعت أسعار النفط."


def _spans(text: str) -> list[tuple[int, int]]:
    from nlp.preprocess import split_sentences

    return split_sentences(text)


@pytest.fixture()
def workspace(tmp_path: Path) -> dict[str, Path]:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        json.dumps({"id": "a", "text": TEXT_A, "title": "عنوان"}, ensure_ascii=False) + "\n"
        + json.dumps({"id": "b", "text": TEXT_B, "title": ""}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    a, b = _spans(TEXT_A), _spans(TEXT_B)
    gold = tmp_path / "gold.jsonl"
    records = [
        {"id": "a", "source": "test", "sentences": [
            {"start": a[0][0], "end": a[0][1], "events": ["ASSAULT"]},
            {"start": a[1][0], "end": a[1][1], "events": []},          # background arrest labelled none (old rule)
            {"start": a[2][0], "end": a[2][1], "events": ["SUPPORT"]},
        ]},
        {"id": "b", "source": "test", "sentences": [
            {"start": b[0][0], "end": b[0][1], "events": ["ASSAULT"]},  # conditional attack labelled as an event
            {"start": b[1][0], "end": b[1][1], "events": []},
        ]},
    ]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return {"corpus": corpus, "gold": gold, "out": tmp_path / "realign", "changes": tmp_path / "changes"}


def test_cue_rules_select_only_labels_the_rule_could_change() -> None:
    background = "يذكر أن الجيش اعتقل عشرة أشخاص."
    assert "time-background" in realign.cue_rules(background, [])
    assert "time-background" not in realign.cue_rules(background, ["COERCE"])
    toll = "ارتفعت حصيلة القتلى إلى عشرين."
    assert "time-toll" in realign.cue_rules(toll, [])
    assert "time-toll" not in realign.cue_rules(toll, ["ASSAULT"])
    assert "not-event" in realign.cue_rules("إذا هاجمت القوات المدينة فإن الرد سيكون قاسيا.", ["ASSAULT"])
    assert realign.cue_rules("ارتفعت أسعار النفط.", []) == []


def test_realign_round_trip_writes_final_labels_and_changes(workspace: dict[str, Path]) -> None:
    out = workspace["out"]
    assert realign.main(["candidates", "--corpus", str(workspace["corpus"]), "--files", str(workspace["gold"]),
                         "--random-share", "0", "--out-dir", str(out)]) == 0
    records = [json.loads(line) for line in open(out / "sentences.jsonl", encoding="utf-8")]
    selected = {(r["id"], r["i"]): r["rules"] for r in records if r["rules"]}
    assert selected[("a", 1)] == ["time-background"]
    assert "agreements" in selected[("a", 2)]
    assert "not-event" in selected[("b", 0)]
    assert ("b", 1) not in selected

    assert realign.main(["batches", str(out), "--batches", "1", "--second-pass", "0"]) == 0
    batch = [json.loads(line) for line in open(out / "batch_1.jsonl", encoding="utf-8")]
    assert len(batch) == len(selected)
    for item in batch:  # blind: no old label, no file or article id in the key
        assert set(item) == {"key", "title", "before", "text", "after"}
        assert "gold" not in item["key"] and "#" not in item["key"]

    by_text = {item["text"]: item["key"] for item in batch}
    a, b = _spans(TEXT_A), _spans(TEXT_B)
    verdict = {TEXT_A[a[1][0]:a[1][1]]: ["COERCE"], TEXT_A[a[2][0]:a[2][1]]: ["SUPPORT"], TEXT_B[b[0][0]:b[0][1]]: ["THREATEN"]}
    sheet = out / "sheet.jsonl"
    sheet.write_text("".join(json.dumps({"key": by_text[t], "events": e}) + "\n" for t, e in verdict.items()), encoding="utf-8")
    assert realign.check_sheet(str(out / "batch_1.jsonl"), str(sheet)) == []

    assert realign.main(["adjudication", str(out), "--sheets", str(sheet), "--batches", "1"]) == 0
    adjudicate = [json.loads(line) for line in open(out / "adjudicate_1.jsonl", encoding="utf-8")]
    assert len(adjudicate) == 2  # the SUPPORT verdict agrees with the old label
    # the adjudicator keeps the new label for the background arrest and the old one... none for the conditional attack
    decided = out / "adjudicated.jsonl"
    final = {by_text[TEXT_A[a[1][0]:a[1][1]]]: ["COERCE"], by_text[TEXT_B[b[0][0]:b[0][1]]]: []}
    decided.write_text("".join(json.dumps({"key": k, "events": e}) + "\n" for k, e in final.items()), encoding="utf-8")
    assert realign.main(["apply", str(out), "--sheets", str(sheet), "--adjudicated", str(decided),
                         "--changes-dir", str(workspace["changes"])]) == 0

    articles = {art.id: art for art in read_standoff(workspace["gold"], workspace["corpus"])}
    assert [s.events for s in articles["a"].sentences] == [("ASSAULT",), ("COERCE",), ("SUPPORT",)]
    assert [s.events for s in articles["b"].sentences] == [(), ()]
    assert [(s.start, s.end) for s in articles["a"].sentences] == a  # offsets unchanged
    changes = [json.loads(line) for line in open(workspace["changes"] / "gold.changes.jsonl", encoding="utf-8")]
    assert [(c["id"], c["old"], c["new"]) for c in changes] == [("a", [], ["COERCE"]), ("b", ["ASSAULT"], [])]
    assert changes[0]["start"] == a[1][0] and changes[0]["rule"] == ["time-background"]


def test_apply_refuses_an_unadjudicated_difference(workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = workspace["out"]
    realign.main(["candidates", "--corpus", str(workspace["corpus"]), "--files", str(workspace["gold"]),
                  "--random-share", "0", "--out-dir", str(out)])
    realign.main(["batches", str(out), "--batches", "1", "--second-pass", "0"])
    batch = [json.loads(line) for line in open(out / "batch_1.jsonl", encoding="utf-8")]
    sheet = out / "sheet.jsonl"
    sheet.write_text("".join(json.dumps({"key": item["key"], "events": ["PROTEST"]}) + "\n" for item in batch), encoding="utf-8")
    assert realign.main(["apply", str(out), "--sheets", str(sheet), "--changes-dir", str(workspace["changes"])]) == 2
    assert "no adjudication" in capsys.readouterr().err


def test_check_sheet_names_missing_and_invalid_lines(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"key": "r1", "text": "x"}\n{"key": "r2", "text": "y"}\n', encoding="utf-8")
    sheet = tmp_path / "sheet.jsonl"
    sheet.write_text('{"key": "r1", "events": ["RIOT"]}\n', encoding="utf-8")
    problems = realign.check_sheet(str(batch), str(sheet))
    assert any("PLOVER" in p for p in problems) and any("no line" in p for p in problems)


def test_discussion_selection_takes_event_words_from_non_news_only(tmp_path: Path) -> None:
    opinion = "الكاتب يرى أن الحرب لا تحل شيئا. قصفت الطائرات المدينة أمس. الطقس جميل اليوم في المدينة."
    news = "قصفت الطائرات المدينة أمس وقتل عشرة أشخاص."
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"id": "op", "text": opinion, "title": "رأي", "url": "http://www.alwatan.com.sa/Articles/Detail.aspx?ArticleId=1", "source": "SaudiNewsNet/alwatan"},
        {"id": "nw", "text": news, "title": "خبر", "url": "http://www.alwatan.com.sa/Politics/News_Detail.aspx?ArticleID=2", "source": "SaudiNewsNet/alwatan"},
    ]
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    lexicon = Lexicon.from_yaml("data/lexicon/plover_ar.yaml")
    chosen = select_discussion.select(str(corpus), lexicon, n_sentences=10, per_article=2, exclude=set(), seed=0)
    assert {c["id"] for c in chosen} == {"op"}
    assert len(chosen) == 2
    assert all(opinion[c["start"]:c["end"]] == c["text"] for c in chosen)
    assert not any("الطقس" in c["text"] for c in chosen)

    out = tmp_path / "disc"
    out.mkdir()
    with open(out / "chosen.jsonl", "w", encoding="utf-8") as handle:
        for c in chosen:
            handle.write(json.dumps(c, ensure_ascii=False) + "\n")
    sheet = out / "sheet.jsonl"
    sheet.write_text("".join(json.dumps({"key": c["key"], "events": ["ASSAULT"] if "قصفت" in c["text"] else []}) + "\n" for c in chosen))
    counts = select_discussion.import_sheets(out, [str(sheet)], str(tmp_path / "discussion"))
    assert counts["train"] + counts["heldout"] == 2
    part = "heldout" if select_discussion.held_aside("op") else "train"
    articles = read_standoff(tmp_path / f"discussion_{part}.jsonl", corpus)
    assert [(s.events, opinion[s.start:s.end]) for s in articles[0].sentences] == sorted(
        [(("ASSAULT",) if "قصفت" in c["text"] else (), c["text"]) for c in chosen], key=lambda x: opinion.index(x[1])
    )


def test_model_disagreements_select_sentences(workspace: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gold = str(workspace["gold"])
    predicted = {f"{gold}#a#0": ["ASSAULT"], f"{gold}#a#1": [], f"{gold}#a#2": ["SUPPORT"], f"{gold}#b#0": ["ASSAULT"], f"{gold}#b#1": ["AID"]}
    predictions = workspace["out"].parent / "pred.json"
    predictions.write_text(json.dumps(predicted), encoding="utf-8")
    out = workspace["out"]
    assert realign.main(["candidates", "--corpus", str(workspace["corpus"]), "--files", gold, "--random-share", "0",
                         "--predictions", str(predictions), "--out-dir", str(out)]) == 0
    rules = {(r["id"], r["i"]): r["rules"] for r in map(json.loads, open(out / "sentences.jsonl", encoding="utf-8"))}
    assert rules[("b", 1)] == [realign.MODEL_RULE]  # the model gives AID where the gold has none
    assert realign.MODEL_RULE not in rules[("a", 0)]

    del predicted[f"{gold}#b#1"]
    predictions.write_text(json.dumps(predicted), encoding="utf-8")
    assert realign.main(["candidates", "--corpus", str(workspace["corpus"]), "--files", gold,
                         "--predictions", str(predictions), "--out-dir", str(out)]) == 2
    assert "no model prediction" in capsys.readouterr().err


def test_compare_models_table_pools_files_and_reads_conll(tiny_model_dir: Path, tmp_path: Path) -> None:
    from training import compare_models

    gold = Path("data/examples/article_gold.jsonl")
    conll = Path("data/examples/ner_sample.conll")
    out = tmp_path / "compare.json"
    code = compare_models.main(["--model", f"a={tiny_model_dir}", "--model", f"b={tiny_model_dir}",
                                "--gold", f"one={gold}", "--gold", f"twice={gold},{gold}",
                                "--conll", f"ner={conll}", "--output", str(out), "--no-progress"])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["a"] == results["b"]  # the same model scores the same
    assert results["a"]["twice"]["sentences"] == 2 * results["a"]["one"]["sentences"] > 0
    assert results["a"]["twice"]["micro"] == pytest.approx(results["a"]["one"]["micro"])
    assert 0.0 <= results["a"]["ner"]["entities"] <= 1.0
    assert compare_models.main(["--model", "no-equals-sign"]) == 2


def test_discussion_files_split_by_article_and_hold_enough_sentences() -> None:
    root = Path(__file__).resolve().parent.parent / "data" / "annotations"
    parts = {}
    for part in ("train", "heldout"):
        records = [json.loads(line) for line in open(root / f"discussion_{part}.jsonl", encoding="utf-8")]
        parts[part] = records
        assert all(select_discussion.held_aside(r["id"]) == (part == "heldout") for r in records)
    assert not {r["id"] for r in parts["train"]} & {r["id"] for r in parts["heldout"]}
    n = {part: sum(len(r["sentences"]) for r in records) for part, records in parts.items()}
    assert n["train"] + n["heldout"] >= 1500 and n["heldout"] >= 0.15 * (n["train"] + n["heldout"])
    annotated = {json.loads(line)["id"] for path in root.glob("snn_*.jsonl") for line in open(path, encoding="utf-8")}
    assert not annotated & {r["id"] for records in parts.values() for r in records}  # new articles only
