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


def test_cli_stores_new_thresholds_and_leaves_the_weights_alone(tiny_model_dir, tmp_path):
    from nlp.model import WEIGHTS_FILE, JointModel
    from training.tune_thresholds import main

    out = tmp_path / "tuned"
    main(["--model", str(tiny_model_dir), "--output", str(out), "--gold", str(_gold_file(tmp_path / "gold.jsonl"))])
    report = json.loads((out / "thresholds_report.json").read_text(encoding="utf-8"))
    assert report["n_sentences"] == 9 and report["positives"]["ASSAULT"] == 3
    assert JointModel.from_pretrained(out).thresholds == report["thresholds_after"]
    digest = [hashlib.sha256((d / WEIGHTS_FILE).read_bytes()).hexdigest() for d in (tiny_model_dir, out)]
    assert digest[0] == digest[1]


def test_cli_errors(tiny_model_dir, tmp_path):
    from training.tune_thresholds import main

    with pytest.raises(SystemExit):
        main(["--model", str(tiny_model_dir), "--gold", str(tmp_path / "missing.jsonl")])
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"id": "x", "text": "نص بلا جمل موسومة."}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no article in the gold files has sentence annotations"):
        main(["--model", str(tiny_model_dir), "--output", str(tmp_path / "o"), "--gold", str(bare)])
