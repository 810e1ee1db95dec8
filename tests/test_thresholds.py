"""Event threshold tuning: the per-type rule, the pull of rare types towards a shared threshold, and the CLI."""

import hashlib
import json

import numpy as np
import pytest

from nlp.metrics import shared_threshold, tune_thresholds

TYPES = ["A", "C"]


def _table(c_positive_prob: float = 0.9):
    """Type A: 40 positives at 0.35, 40 negatives at 0.1. Type C: one positive, five negatives at 0.8."""
    probs, gold = [], []
    for _ in range(40):
        probs.append([0.35, 0.0]); gold.append([1, 0])
        probs.append([0.1, 0.0]); gold.append([0, 0])
    probs.append([0.0, c_positive_prob]); gold.append([0, 1])
    for _ in range(5):
        probs.append([0.0, 0.8]); gold.append([0, 0])
    return np.asarray(probs), np.asarray(gold)


def test_each_type_alone_without_a_prior():
    probs, gold = _table()
    assert tune_thresholds(probs, gold, TYPES) == {"A": 0.35, "C": 0.85}


def test_a_rare_type_is_pulled_towards_the_shared_threshold():
    probs, gold = _table()
    assert shared_threshold(probs, gold) == 0.35
    tuned = tune_thresholds(probs, gold, TYPES, prior_strength=10)
    assert tuned["A"] == 0.35  # 40 positives: its own optimum, which is also the shared one
    assert tuned["C"] == 0.4  # one positive: (0.85 + 10 * 0.35) / 11, on the grid


def test_forced_decisions_count_as_already_positive():
    probs, gold = _table(c_positive_prob=0.2)
    assert tune_thresholds(probs, gold, TYPES)["C"] == 0.2  # only a low threshold catches the positive
    forced = np.zeros_like(gold, dtype=bool)
    forced[80, 1] = True  # the lexicon finds it: a high threshold now avoids the false positives
    assert tune_thresholds(probs, gold, TYPES, forced=forced)["C"] == 0.85


def test_a_type_without_positives_gets_the_default_even_with_a_prior():
    probs, gold = _table()
    probs = np.hstack([probs, np.full((len(probs), 1), 0.9)])
    gold = np.hstack([gold, np.zeros((len(gold), 1), dtype=int)])
    assert tune_thresholds(probs, gold, TYPES + ["E"], prior_strength=10)["E"] == 0.5


def test_bad_shapes_and_prior_are_rejected():
    probs, gold = _table()
    with pytest.raises(ValueError, match="must all be"):
        tune_thresholds(probs[:, :1], gold, TYPES)
    with pytest.raises(ValueError, match="prior_strength"):
        tune_thresholds(probs, gold, TYPES, prior_strength=-1)


def _gold_file(path):
    text = "وقصفت الطائرات المدينة. وتظاهر الطلاب أمس. وقال الوزير كلاما."
    article = {"id": "d1", "text": text,
               "sentences": [{"start": 0, "end": 23, "events": ["ASSAULT"]}, {"start": 24, "end": 42, "events": ["PROTEST"]},
                             {"start": 43, "end": len(text), "events": []}]}
    path.write_text("\n".join(json.dumps(dict(article, id=f"d{i}"), ensure_ascii=False) for i in range(3)) + "\n", encoding="utf-8")
    return path


def test_cli_stores_new_thresholds_and_leaves_the_weights_alone(tiny_model, tmp_path):
    import copy

    import torch

    from nlp.model import WEIGHTS_FILE, JointModel
    from training.thresholds.tune_thresholds import main

    source = tmp_path / "fp16"
    model = copy.deepcopy(tiny_model)
    model.set_thresholds({t: 0.75 for t in model.settings.event_types})
    model.save_pretrained(source, dtype=torch.float16)  # as the shipped model is stored
    out = tmp_path / "tuned"
    main(["--model", str(source), "--output", str(out), "--gold", str(_gold_file(tmp_path / "gold.jsonl"))])
    report = json.loads((out / "thresholds_report.json").read_text(encoding="utf-8"))
    assert report["n_sentences"] == 9 and report["positives"]["ASSAULT"] == 3
    tuned = JointModel.from_pretrained(out).thresholds
    assert tuned == report["thresholds_after"]
    # types the gold files never label keep their thresholds; the two labelled ones were tuned
    assert {t for t, v in tuned.items() if v == 0.75} >= set(report["kept_without_positives"])
    assert set(report["kept_without_positives"]) == set(tuned) - {"ASSAULT", "PROTEST"}
    digest = [hashlib.sha256((d / WEIGHTS_FILE).read_bytes()).hexdigest() for d in (source, out)]
    assert digest[0] == digest[1]


def test_lexicon_hits_are_forced_decisions_of_the_lexicon_types_only(tiny_model, tmp_path):
    import copy

    from nlp.articles import read_articles
    from training.thresholds.tune_thresholds import sentence_table

    model = copy.deepcopy(tiny_model)
    model.settings.lexicon_types = ["ASSAULT"]
    model.lexicon_yaml = "types:\n  ASSAULT: [قصف]\n  PROTEST: [تظاهر]\n"
    probs, gold, forced = sentence_table(model, read_articles(_gold_file(tmp_path / "gold.jsonl")))
    types = list(model.settings.event_types)
    assert probs.shape == gold.shape == forced.shape == (9, len(types))
    assert forced[:, types.index("ASSAULT")].tolist() == [True, False, False] * 3
    assert not forced[:, types.index("PROTEST")].any()  # in the lexicon file, but not a lexicon type


def test_cli_errors(tiny_model_dir, tmp_path):
    from training.thresholds.tune_thresholds import main

    with pytest.raises(SystemExit):
        main(["--model", str(tiny_model_dir), "--gold", str(tmp_path / "missing.jsonl")])
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"id": "x", "text": "نص بلا جمل موسومة."}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no article in the gold files has sentence annotations"):
        main(["--model", str(tiny_model_dir), "--output", str(tmp_path / "o"), "--gold", str(bare)])


def test_rule_comparison_scores_every_rule_on_held_out_halves(tiny_model, tmp_path):
    from nlp.articles import read_articles
    from training.thresholds.threshold_rules import RULES, compare, f1_scores

    articles = read_articles(_gold_file(tmp_path / "gold.jsonl")) * 2  # 6 articles
    rows = compare(tiny_model, articles, articles[:1], splits=3)
    assert {(s, r) for s, r, *_ in rows} == {(s, r) for s in ("dev half", "dev half + extra") for r in RULES}
    assert all(0.0 <= micro <= 1.0 and 0.0 <= macro <= 1.0 for *_, micro, macro in rows)
    gold = np.array([[True, False], [False, True]])
    assert f1_scores(np.array([[0.9, 0.1], [0.2, 0.8]]), gold, np.zeros_like(gold), np.array([0.5, 0.5])) == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least 4"):
        compare(tiny_model, articles[:3], [])
