import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from nlp import JointModel, predict

from .conftest import REPO, example_text

ENV = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}


def train(out, *overrides, wait=True):
    cmd = [sys.executable, "-m", "training.train", "--config", "configs/smoke.yaml", "--output-dir", str(out), *overrides]
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return proc


def records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    train(out)
    return out


def test_smoke_training_reduces_loss_and_writes_a_loadable_model(smoke_run):
    losses = [r["loss"] for r in records(smoke_run) if "loss" in r]
    assert losses[-1] < 0.5 * losses[0]
    model = JointModel.from_pretrained(smoke_run / "model")
    report = json.loads((smoke_run / "model" / "dev_report.json").read_text())
    assert model.thresholds == pytest.approx(report["thresholds"])
    result = predict(example_text(), model=model)
    assert all(example_text()[e.start : e.end] == e.text for e in result.entities)
    # the smoke data is tiny and its dev split is its train split: it must be memorised
    assert report["entities"]["micro"]["f1"] > 0.8


def test_resume_after_kill_reaches_the_same_result(tmp_path, smoke_run):
    reference = tmp_path / "reference"
    train(reference, "--max_steps", "120", "--eval_every", "13")
    killed = tmp_path / "killed"
    proc = train(killed, "--max_steps", "120", "--eval_every", "13", wait=False)
    state_file = killed / "checkpoints" / "last" / "trainer_state.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(state_file.read_text())["global_step"] >= 26:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step_at_kill = json.loads(state_file.read_text())["global_step"]
    resumed = train(killed, "--max_steps", "120", "--eval_every", "13")
    if step_at_kill < 120:
        assert "resuming from" in resumed.stdout.decode()
    final = lambda out: json.loads((out / "model" / "dev_report.json").read_text())  # noqa: E731
    a, b = final(reference), final(killed)
    assert a["step"] == b["step"]
    assert a["score"] == pytest.approx(b["score"], abs=1e-6)
    assert [r["step"] for r in records(killed) if "loss" in r] == [r["step"] for r in records(reference) if "loss" in r]
    assert [r["loss"] for r in records(killed) if "loss" in r] == pytest.approx(
        [r["loss"] for r in records(reference) if "loss" in r], rel=1e-4
    )


def test_config_errors_are_reported(tmp_path):
    cmd = [sys.executable, "-m", "training.train", "--config", "configs/smoke.yaml", "--output-dir", str(tmp_path), "--learning_rat", "1"]
    proc = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, timeout=120)
    assert proc.returncode == 2 and b"unknown option(s) ['learning_rat']" in proc.stderr


def write_corpus(tmp_path):
    """A one-article gzipped JSONL corpus (id d1) for standoff annotations."""
    corpus = tmp_path / "corpus.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "d1", "text": "قصفت الطائرات حلب. ورحب الوزير بالقرار."}, ensure_ascii=False) + "\n")
    return corpus


def test_silver_sentences_are_masked_and_down_weighted(tmp_path, tiny_model):
    from training.train import TrainConfig, collate, encode, silver_examples

    corpus = write_corpus(tmp_path)
    silver = tmp_path / "silver.jsonl"
    silver.write_text(
        json.dumps({"id": "d1", "sentences": [{"start": 0, "end": 18, "events": ["ASSAULT"]}, {"start": 19, "end": 39, "events": ["SUPPORT"]}]})
        + "\n",
        encoding="utf-8",
    )
    config = TrainConfig(
        silver_train=[str(silver)], corpus=str(corpus), silver_types=["ASSAULT"], silver_weight=0.25,
        silver_max_sentences=10, articles_train=["data/examples/article_gold.jsonl"],
    )
    examples = silver_examples(config, tiny_model.settings.normalization_config)
    assert len(examples) == 2 and all(e.weight == 0.25 and e.event_mask == ["ASSAULT"] for e in examples)
    features = encode(examples, tiny_model)
    batch = collate(features, 0)
    assault = tiny_model.settings.event_types.index("ASSAULT")
    support = tiny_model.settings.event_types.index("SUPPORT")
    labels = batch["event_labels"]
    assert sorted(labels[:, assault].tolist()) == [0.0, 1.0]  # supervised type: positive and negative
    assert (labels[:, support] == -1).all()  # untrusted type: no supervision at all
    assert batch["example_weights"].tolist() == [0.25, 0.25]
    out = tiny_model(batch["input_ids"], batch["attention_mask"], event_labels=labels, example_weights=batch["example_weights"])
    assert out.event_loss is not None and torch.isfinite(out.event_loss)


def test_events_only_files_keep_their_events_and_drop_their_entities(tmp_path):
    from nlp.preprocess import NormalizationConfig
    from training.train import TrainConfig, split_data

    corpus = write_corpus(tmp_path)
    annotations = tmp_path / "gold.jsonl"
    annotations.write_text(
        json.dumps({"id": "d1", "sentences": [{"start": 0, "end": 18, "events": ["ASSAULT"]}, {"start": 19, "end": 39, "events": ["SUPPORT"]}],
                    "entities": [{"start": 14, "end": 17, "label": "LOC"}]})
        + "\n",
        encoding="utf-8",
    )
    normalization = NormalizationConfig()
    both, _ = split_data(TrainConfig(standoff_train=[str(annotations)], corpus=str(corpus), dev_fraction=0), normalization)
    assert [e.events for e in both] == [["ASSAULT"], ["SUPPORT"]] and both[0].tags == ["O", "O", "B-LOC", "O"]
    config = TrainConfig(standoff_train=[str(annotations)], standoff_events_only=[str(annotations)], corpus=str(corpus), dev_fraction=0)
    events_only, _ = split_data(config, normalization)
    assert [e.events for e in events_only] == [["ASSAULT"], ["SUPPORT"]] and all(e.tags is None for e in events_only)
    # a dev file too (listed in standoff_dev only): its events still choose the step, its entities do not
    config = TrainConfig(ner_train=["data/examples/ner_sample.conll"], dev_fraction=0, standoff_dev=[str(annotations)],
                         standoff_events_only=[str(annotations)], corpus=str(corpus))
    _, dev_part = split_data(config, normalization)
    assert [e.events for e in dev_part] == [["ASSAULT"], ["SUPPORT"]] and all(e.tags is None for e in dev_part)
    with pytest.raises(ValueError, match="not in standoff_train or standoff_dev"):
        TrainConfig(standoff_train=[str(annotations)], standoff_events_only=["other.jsonl"])


def test_negative_threshold_prior_is_rejected():
    from training.train import TrainConfig

    with pytest.raises(ValueError, match="threshold_prior_strength"):
        TrainConfig(ner_train=["x.txt"], threshold_prior_strength=-1)


def test_freezing_keeps_the_embeddings_and_lower_layers_fixed(tiny_model):
    import copy

    from training.train import freeze_encoder_layers

    model = copy.deepcopy(tiny_model)
    freeze_encoder_layers(model, 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(n.startswith(("encoder.embeddings.", "encoder.encoder.layer.0.")) for n in trainable)
    assert any(n.startswith("encoder.encoder.layer.1.") for n in trainable)
    assert any(not n.startswith("encoder.") for n in trainable)  # the heads still learn
    with pytest.raises(ValueError, match="layers"):
        freeze_encoder_layers(copy.deepcopy(tiny_model), 99)


def test_ner_distillation_loss_is_zero_for_the_same_tagger_and_ignores_padding():
    from training.train import ner_distillation_loss

    torch.manual_seed(0)
    teacher = torch.randn(2, 5, 9)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert ner_distillation_loss(teacher, teacher, mask).item() == pytest.approx(0.0, abs=1e-6)
    student = teacher.clone()
    student[0, 3:] += 5 * torch.randn(2, 9)  # differences at padded positions only
    assert ner_distillation_loss(student, teacher, mask).item() == pytest.approx(0.0, abs=1e-6)
    student[1, 0] = -teacher[1, 0]
    # KL(teacher || student) summed over tags, averaged over the 8 attended tokens
    expected = torch.nn.functional.kl_div(
        torch.log_softmax(student, -1), torch.log_softmax(teacher, -1), log_target=True, reduction="none"
    ).sum(-1)[mask.bool()].mean()
    assert ner_distillation_loss(student, teacher, mask).item() == pytest.approx(expected.item()) and expected > 0.01


def test_ner_distillation_needs_a_starting_model():
    from training.train import TrainConfig

    with pytest.raises(ValueError, match="init_model"):
        TrainConfig(ner_train=["x.txt"], ner_distill_weight=1.0)
    with pytest.raises(ValueError, match="ner_distill_weight"):
        TrainConfig(ner_train=["x.txt"], init_model="m", ner_distill_weight=-1.0)


def test_a_distilled_further_stage_trains_from_a_saved_model(tmp_path, smoke_run):
    out = tmp_path / "stage"
    train(out, "--init_model", str(smoke_run / "model"), "--ner_distill_weight", "1", "--max_steps", "20", "--eval_every", "10")
    assert [r["step"] for r in records(out) if "dev_score" in r] == [10, 20]
    model = JointModel.from_pretrained(out / "model")
    assert all(example_text()[e.start : e.end] == e.text for e in predict(example_text(), model=model).entities)
