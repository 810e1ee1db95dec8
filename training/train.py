"""Train the joint model (NER + sentence events) from a YAML recipe.

    python -m training.train --config configs/smoke.yaml [--output-dir DIR] [--key value ...]
    accelerate launch -m training.train --config configs/arabert-base.yaml    # one or several GPUs

Resumes from DIR/checkpoints/last when it exists; the best model (by dev score, with per-type
event thresholds tuned on dev) is written to DIR/model.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from nlp.backbones import frozen_prefixes
from nlp.bio import decode_words, tags_to_spans, word_log_probs
from nlp.config import load_config
from nlp.data import Example, corpus_paths, load_examples
from nlp.extras import require
from nlp.metrics import entity_scores, event_scores, tune_thresholds
from nlp.model import JointModel, ModelSettings, copy_notices, frame_token_ids
from nlp.preprocess import NormalizationConfig
from nlp.wordpieces import encode_words
from training.checkpoints import latest_checkpoint, swap_in

REPO = Path(__file__).resolve().parent.parent


@dataclass
class TrainConfig:
    """A training recipe; every field can be overridden on the command line (--key value)."""

    # model
    encoder: str = "tiny"  # hub name or local path of a BERT-family encoder, or "tiny" (random, for smoke runs)
    init_model: str | None = None  # continue from a saved joint model directory instead
    tiny_corpus: list[str] = field(default_factory=lambda: ["data/examples/article.txt"])
    tiny_hidden_size: int = 64
    tiny_layers: int = 2
    max_length: int = 128
    window_stride: int = 32
    pooling: str = "mean"
    dropout: float = 0.1
    normalization: dict[str, bool] = field(default_factory=dict)
    # data (paths relative to the repository or absolute)
    ner_train: list[str] = field(default_factory=list)  # CoNLL files
    ner_dev: list[str] = field(default_factory=list)
    articles_train: list[str] = field(default_factory=list)  # article-format JSONL (events and/or entities)
    articles_dev: list[str] = field(default_factory=list)
    standoff_train: list[str] = field(default_factory=list)  # standoff annotations (ids + offsets)
    standoff_dev: list[str] = field(default_factory=list)
    # standoff_train or standoff_dev files whose entity layer is left out (their events are still used)
    standoff_events_only: list[str] = field(default_factory=list)
    corpus: str | list[str] | None = None  # corpus (or corpora) holding the standoff annotations' text
    silver_train: list[str] = field(default_factory=list)  # silver standoff files (python -m training.silver)
    silver_types: list[str] = field(default_factory=list)  # event types whose silver labels are trusted (empty: all)
    silver_weight: float = 0.3  # event-loss weight of a silver sentence relative to a gold one
    silver_max_sentences: int = 5000  # silver sentences sampled (seeded), half with a silver event where possible
    dev_fraction: float = 0.1  # with no dev files for a source type, hold out the last part of train
    # optimisation
    output_dir: str = "runs/default"
    batch_size: int = 16
    grad_accum: int = 1
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    freeze_layers: int = 0  # keep the encoder's embeddings and its first N layers fixed (0 = train all)
    gradient_checkpointing: bool = False  # recompute layer activations in the backward pass (less memory, ~30% slower)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    epochs: float = 3.0
    max_steps: int = 0  # > 0 overrides epochs
    eval_every: int = 200
    patience: int = 5  # evaluations without improvement before stopping; 0 = never stop early
    event_loss_weight: float = 1.0
    ner_loss_weight: float = 1.0
    # later stages: keep the entity tagger's token distributions close to init_model's (KL, all tokens of
    # every batch), so new event training does not drift the tagger; 0 = off
    ner_distill_weight: float = 0.0
    # dev-tuned event thresholds: a type with n dev positives gets (n * own + k * shared) / (n + k), so rare
    # types stay near the one threshold best for all (nlp.metrics.tune_thresholds); 0 = each type on its own
    threshold_prior_strength: float = 10.0
    seed: int = 42
    mixed_precision: str = "auto"  # auto (bf16 on a GPU that has it, else fp32), no, bf16, fp16
    num_threads: int = 0  # CPU threads; 0 = all cores
    save_dtype: str = "float32"  # float32 or float16 for the final model weights

    def __post_init__(self) -> None:
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise ValueError("mixed_precision must be auto, no, bf16 or fp16")
        if self.save_dtype not in ("float32", "float16"):
            raise ValueError("save_dtype must be float32 or float16")
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers must be >= 0, got {self.freeze_layers}")
        if self.ner_distill_weight < 0:
            raise ValueError(f"ner_distill_weight must be >= 0, got {self.ner_distill_weight}")
        if self.ner_distill_weight > 0 and not self.init_model:
            raise ValueError("ner_distill_weight needs init_model: the model whose entity tagging is kept")
        if self.threshold_prior_strength < 0:
            raise ValueError(f"threshold_prior_strength must be >= 0, got {self.threshold_prior_strength}")
        if self.batch_size < 1 or self.grad_accum < 1 or self.eval_every < 1:
            raise ValueError("batch_size, grad_accum and eval_every must be positive")
        if not (self.ner_train or self.articles_train or self.standoff_train or self.init_model):
            raise ValueError("no training data: set ner_train, articles_train or standoff_train")
        unknown = sorted(set(self.standoff_events_only) - set(self.standoff_train) - set(self.standoff_dev))
        if unknown:
            raise ValueError(f"standoff_events_only lists files that are not in standoff_train or standoff_dev: {unknown}")


def _path(p: str) -> str:
    return p if os.path.isabs(p) else str(REPO / p)


# --- data ----------------------------------------------------------------------------------


def split_data(config: TrainConfig, normalization: NormalizationConfig) -> tuple[list[Example], list[Example]]:
    """Train and dev examples; sources without a dev file give up their last `dev_fraction`."""
    train: list[Example] = []
    dev: list[Example] = []
    corpus = [_path(c) for c in corpus_paths(config.corpus)] or None
    for kind, train_files, dev_files in (
        ("conll", config.ner_train, config.ner_dev),
        ("articles", config.articles_train, config.articles_dev),
        ("standoff", config.standoff_train, config.standoff_dev),
    ):
        def read(path: str) -> list[Example]:
            examples = load_examples(**{kind: [_path(path)]}, corpus=corpus, normalization=normalization)
            if kind == "standoff" and path in config.standoff_events_only:
                for example in examples:
                    example.tags = None
            return examples

        for path in train_files:
            examples = read(path)
            if not dev_files and config.dev_fraction > 0:
                cut = len(examples) - max(1, int(round(len(examples) * config.dev_fraction)))
                train += examples[:cut]
                dev += examples[cut:]
            else:
                train += examples
        for path in dev_files:
            dev += read(path)
    train += silver_examples(config, normalization)
    return [e for e in train if e.words], [e for e in dev if e.words]


def silver_examples(config: TrainConfig, normalization: NormalizationConfig) -> list[Example]:
    """A seeded sample of silver sentences, supervised only on the trusted types and down-weighted."""
    if not config.silver_train:
        return []
    corpus = [_path(c) for c in corpus_paths(config.corpus)] or None
    pool: list[Example] = []
    for path in config.silver_train:
        pool += load_examples(standoff=[_path(path)], corpus=corpus, normalization=normalization)
    trusted = list(config.silver_types) or None
    for example in pool:
        example.event_mask = trusted
        example.weight = config.silver_weight
        if trusted is not None:
            example.events = [e for e in example.events or [] if e in trusted]
    rng = random.Random(config.seed)
    positive = [e for e in pool if e.events]
    negative = [e for e in pool if not e.events]
    rng.shuffle(positive)
    rng.shuffle(negative)
    half = config.silver_max_sentences // 2
    chosen = positive[:half]
    chosen += negative[: config.silver_max_sentences - len(chosen)]
    return chosen


def encode(examples: Sequence[Example], model: JointModel) -> list[dict[str, Any]]:
    """Token ids with CLS/SEP, NER labels on first subwords (-100 elsewhere), event vectors (-1 = none)."""
    tokenizer = model.tokenizer
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    cls_id, sep_id = frame_token_ids(tokenizer)
    tag_index = {t: i for i, t in enumerate(model.settings.bio_tags)}
    event_index = {t: i for i, t in enumerate(model.settings.event_types)}
    limit = model.settings.max_length - 2
    encodings = encode_words(backend, [e.words for e in examples])
    features = []
    for example, enc in zip(examples, encodings):
        ids = list(enc.ids[:limit])
        word_ids = list(enc.word_ids[:limit])
        labels = [-100] * len(ids)
        first = [-1] * len(example.words)
        previous = None
        for pos, w in enumerate(word_ids):
            if w is not None and w != previous:
                first[w] = pos + 1  # position in the framed sequence
                if example.tags is not None:
                    labels[pos] = tag_index[example.tags[w]]
            previous = w
        events = [-1.0] * len(event_index)
        if example.events is not None:
            supervised = event_index if example.event_mask is None else example.event_mask
            for name in supervised:
                events[event_index[name]] = 0.0
            for name in example.events:
                if name in supervised:
                    events[event_index[name]] = 1.0
        features.append(
            {"input_ids": [cls_id] + ids + [sep_id], "ner_labels": [-100] + labels + [-100], "event_labels": events,
             "first": first, "weight": example.weight}
        )
    return features


def collate(features: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    length = max(len(f["input_ids"]) for f in features)
    ids = torch.full((len(features), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(features), length), dtype=torch.long)
    ner = torch.full((len(features), length), -100, dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        ids[row, :n] = torch.tensor(f["input_ids"])
        mask[row, :n] = 1
        ner[row, :n] = torch.tensor(f["ner_labels"])
    events = torch.tensor([f["event_labels"] for f in features], dtype=torch.float)
    weights = torch.tensor([f.get("weight", 1.0) for f in features], dtype=torch.float)
    return {"input_ids": ids, "attention_mask": mask, "ner_labels": ner, "event_labels": events, "example_weights": weights}


def ner_distillation_loss(student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean KL(teacher || student) of the tag distributions over the attended tokens.

    Keeps a further training stage's entity tagger near the model it started from on every sentence it sees.
    """
    log_student = torch.log_softmax(student.float(), dim=-1)
    log_teacher = torch.log_softmax(teacher.float(), dim=-1)
    per_token = (log_teacher.exp() * (log_teacher - log_student)).sum(-1)
    mask = attention_mask.to(per_token.dtype)
    return (per_token * mask).sum() / mask.sum().clamp(min=1.0)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar length: sort within shuffled pools of 50 batches, shuffle batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def freeze_encoder_layers(model: JointModel, count: int) -> None:
    """Fix the encoder's embeddings and its first `count` layers, so a further stage cannot pull them away."""
    if count == 0:
        return
    layers = model.encoder.config.num_hidden_layers
    if count > layers:
        raise ValueError(f"freeze_layers is {count} but the encoder has {layers} layers")
    frozen = frozen_prefixes(model.encoder, count)
    for name, param in model.encoder.named_parameters():
        if name.startswith(frozen):
            param.requires_grad_(False)


# --- evaluation ----------------------------------------------------------------------------


@torch.no_grad()
def dev_scores(
    model: JointModel, examples: list[Example], features: list[dict[str, Any]], batch_size: int, prior_strength: float
) -> dict[str, Any]:
    """Entity F1 (exact word spans) and event micro-F1 at thresholds tuned on these examples."""
    model.eval()
    device = model.device
    pad = model.tokenizer.pad_token_id or 0
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    n_types = len(model.settings.event_types)
    probs = np.zeros((len(features), n_types), dtype=np.float32)
    word_logp: list[np.ndarray] = [np.zeros(0)] * len(features)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = collate([features[i] for i in idx], pad)
        out = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device))
        ev, ner = (t.cpu().numpy() for t in out.probabilities())
        for row, i in enumerate(idx):
            probs[i] = ev[row]
            word_logp[i] = word_log_probs(ner[row], features[i]["first"], ner.shape[-1], model.settings.bio_tags.index("O"))
    report: dict[str, Any] = {}
    tagged = [i for i, e in enumerate(examples) if e.tags is not None]
    if tagged:
        gold, pred = [], []
        paths, _ = decode_words([word_logp[i] for i in tagged], model.settings.bio_tags)
        for i, path in zip(tagged, paths):
            gold.append(set(tags_to_spans(examples[i].tags)))
            pred.append(set(tags_to_spans([model.settings.bio_tags[t] for t in path])))
        report["entities"] = entity_scores(gold, pred, sorted({l for s in gold for *_, l in s} | {"PER", "ORG", "LOC", "MISC"}))
    with_events = [i for i, e in enumerate(examples) if e.events is not None]
    if with_events:
        types = model.settings.event_types
        gold_matrix = np.asarray([[1.0 if t in examples[i].events else 0.0 for t in types] for i in with_events])
        thresholds = tune_thresholds(probs[with_events], gold_matrix, types, prior_strength=prior_strength)
        cut = np.asarray([thresholds[t] for t in types])
        predicted = [{t for t, p, c in zip(types, probs[i], cut) if p >= c} for i in with_events]
        report["events"] = event_scores([set(examples[i].events) for i in with_events], predicted, types)
        report["thresholds"] = thresholds
    parts = []
    if "entities" in report:
        parts.append(report["entities"]["micro"]["f1"])
    if "events" in report:
        parts.append(report["events"]["micro"]["f1"])
    report["score"] = float(np.mean(parts)) if parts else 0.0
    model.train()
    return report


# --- main ----------------------------------------------------------------------------------


def build_model(config: TrainConfig) -> JointModel:
    settings = ModelSettings(
        max_length=config.max_length,
        window_stride=config.window_stride,
        pooling=config.pooling,
        dropout=config.dropout,
        normalization=NormalizationConfig.from_dict(config.normalization).to_dict(),
    )
    if config.init_model:
        return JointModel.from_pretrained(_path(config.init_model))
    if config.encoder == "tiny":
        from nlp.testing import build_tiny_model

        texts = [Path(_path(p)).read_bytes().decode("utf-8") for p in config.tiny_corpus]
        model = build_tiny_model(
            texts, seed=config.seed, hidden_size=config.tiny_hidden_size, num_layers=config.tiny_layers,
            max_length=config.max_length, window_stride=config.window_stride,
        )
        settings.encoder = "tiny-random-bert"
        model.settings = settings
        return model
    return JointModel.from_encoder(config.encoder, settings)


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) training; returns the best dev report."""
    require("accelerate", "train", "training")
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    mixed = config.mixed_precision
    if mixed == "auto":
        mixed = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=config.grad_accum)
    if accelerator.device.type == "cpu":
        torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
    set_seed(config.seed)
    output_dir = Path(_path(config.output_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    main = accelerator.is_main_process

    model = build_model(config)
    train_examples, dev_examples = split_data(config, model.settings.normalization_config)
    if not train_examples:
        raise ValueError("the training data holds no sentences")
    train_features = encode(train_examples, model)
    dev_features = encode(dev_examples, model)
    pad_id = model.tokenizer.pad_token_id or 0
    lengths = [len(f["input_ids"]) for f in train_features]
    batches_per_epoch = math.ceil(len(train_features) / config.batch_size)
    steps_per_epoch = max(1, math.ceil(batches_per_epoch // max(1, accelerator.num_processes) / config.grad_accum))
    total_steps = config.max_steps or max(1, int(math.ceil(config.epochs * steps_per_epoch)))

    teacher = None
    if config.ner_distill_weight > 0:  # init_model as loaded above, before any step or resumed state changes it
        teacher = copy.deepcopy(model).to(accelerator.device).eval().requires_grad_(False)
    freeze_encoder_layers(model, config.freeze_layers)
    if config.gradient_checkpointing:
        enable = getattr(model.encoder, "activation_checkpointing_enable", None)  # transformers >= 5.x
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    decay = [p for n, p in model.encoder.named_parameters() if p.ndim >= 2 and p.requires_grad]
    no_decay = [p for n, p in model.encoder.named_parameters() if p.ndim < 2 and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "lr": config.learning_rate, "weight_decay": config.weight_decay},
            {"params": no_decay, "lr": config.learning_rate, "weight_decay": 0.0},
            {"params": head_params, "lr": config.head_learning_rate, "weight_decay": 0.0},
        ]
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    raw_model: JointModel = accelerator.unwrap_model(model)

    log_path = output_dir / "metrics.jsonl"
    state = {"global_step": 0, "epoch": 0, "batch_in_epoch": 0, "best_score": -1.0, "best_step": 0, "bad_evals": 0}
    checkpoint = latest_checkpoint(output_dir, "trainer_state.json")
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        state.update(json.loads((checkpoint / "trainer_state.json").read_text()))
        if main:
            print(f"resuming from {checkpoint} at step {state['global_step']}")
    if main:
        (output_dir / "train_config.json").write_text(json.dumps(asdict(config), indent=2, ensure_ascii=False))
        if log_path.is_file():  # drop records logged after the checkpoint we resume from
            kept = [line for line in log_path.read_text().splitlines() if json.loads(line)["step"] <= state["global_step"]]
            log_path.write_text("".join(line + "\n" for line in kept))
        print(
            f"train sentences: {len(train_features)}, dev sentences: {len(dev_features)}, "
            f"steps: {total_steps} ({steps_per_epoch}/epoch), device: {accelerator.device}, precision: {mixed}"
        )
    writer = None
    if main:
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(output_dir / "tensorboard"))
        except ImportError:
            writer = None

    def log(record: dict[str, Any]) -> None:
        if not main:
            return
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if writer is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    writer.add_scalar(key, value, record["step"])

    def save_checkpoint() -> None:
        accelerator.wait_for_everyone()
        tmp = output_dir / "checkpoints" / "last.tmp"
        if main and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))
        if main:
            (tmp / "trainer_state.json").write_text(json.dumps(state))
            swap_in(tmp, output_dir / "checkpoints" / "last")
        accelerator.wait_for_everyone()

    def evaluate_and_keep_best() -> bool:
        """Evaluate on dev, keep the best model; returns True when training should stop early."""
        stop = False
        if main:
            report = dev_scores(raw_model, dev_examples, dev_features, config.batch_size * 2, config.threshold_prior_strength) if dev_features else {"score": 0.0}
            record = {"step": state["global_step"], "dev_score": report["score"]}
            if "entities" in report:
                record["dev_entity_f1"] = report["entities"]["micro"]["f1"]
            if "events" in report:
                record["dev_event_micro_f1"] = report["events"]["micro"]["f1"]
                record["dev_event_macro_f1"] = report["events"]["macro"]["f1"]
            log(record)
            if report["score"] > state["best_score"] or not dev_features:
                state.update(best_score=report["score"], best_step=state["global_step"], bad_evals=0)
                if "thresholds" in report:
                    raw_model.set_thresholds(report["thresholds"])
                tmp = output_dir / "model.tmp"
                if tmp.exists():
                    shutil.rmtree(tmp)
                raw_model.save_pretrained(tmp, dtype=torch.float16 if config.save_dtype == "float16" else None)
                copy_notices(_path(config.init_model or config.encoder), tmp)  # e.g. Gemma's terms travel with the model
                (tmp / "dev_report.json").write_text(json.dumps({"step": state["global_step"], **report}, indent=2))
                swap_in(tmp, output_dir / "model")
            else:
                state["bad_evals"] += 1
                stop = config.patience > 0 and state["bad_evals"] >= config.patience
        flag = torch.tensor([1 if stop else 0], device=accelerator.device)
        return bool(accelerator.reduce(flag, reduction="sum").item() > 0)

    bar = tqdm(total=total_steps, initial=state["global_step"], desc="train", disable=not main, unit="step")
    model.train()
    running, running_n, started = state.get("running", 0.0), state.get("running_n", 0), time.time()
    done = state["global_step"] >= total_steps
    while not done:
        epoch = state["epoch"]
        batches = length_grouped_batches(lengths, config.batch_size, config.seed + epoch)
        # each process takes every num_processes-th batch (equal counts), resuming where it stopped;
        # plain slicing keeps the order reproducible and consumes no random numbers
        usable = len(batches) - len(batches) % accelerator.num_processes or len(batches)
        mine = batches[accelerator.process_index : usable : accelerator.num_processes]
        for indices in mine[state["batch_in_epoch"] :]:
            batch = {k: v.to(accelerator.device) for k, v in collate([train_features[i] for i in indices], pad_id).items()}
            with accelerator.accumulate(model):
                out = model(**batch, event_weight=config.event_loss_weight, ner_weight=config.ner_loss_weight)
                loss = out.loss if out.loss is not None else out.event_logits.sum() * 0.0
                if teacher is not None:
                    with torch.no_grad(), accelerator.autocast():  # same precision as the student's pass
                        reference = teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).ner_logits
                    loss = loss + config.ner_distill_weight * ner_distillation_loss(out.ner_logits, reference, batch["attention_mask"])
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            state["batch_in_epoch"] += 1
            running += float(loss.detach())
            running_n += 1
            if not accelerator.sync_gradients:
                continue
            state["global_step"] += 1
            bar.update(1)
            step = state["global_step"]
            if step % 10 == 0 or step == total_steps:
                log({"step": step, "loss": running / running_n, "lr": scheduler.get_last_lr()[0], "elapsed_s": round(time.time() - started, 1)})
                bar.set_postfix(loss=f"{running / running_n:.4f}")
                running, running_n = 0.0, 0
            if step % config.eval_every == 0 or step == total_steps:
                stop = evaluate_and_keep_best()
                state.update(running=running, running_n=running_n)  # so a resumed run logs the same averages
                save_checkpoint()
                if stop:
                    if main:
                        print(f"early stopping at step {step}: no dev improvement in {config.patience} evaluations")
                    done = True
            if step >= total_steps:
                done = True
            if done:
                break
        else:
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
    bar.close()
    if writer is not None:
        writer.close()
    accelerator.wait_for_everyone()
    report_path = output_dir / "model" / "dev_report.json"
    best = json.loads(report_path.read_text()) if report_path.is_file() else {}
    if main:
        print(f"best dev score {state['best_score']:.4f} at step {state['best_step']}; model in {output_dir / 'model'}")
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML recipe, e.g. configs/smoke.yaml")
    parser.add_argument("--output-dir", default=None, help="where checkpoints, logs and the model go")
    args, overrides = parser.parse_known_args(argv)
    if args.output_dir:
        overrides = [*overrides, "--output_dir", args.output_dir]
    try:
        require("accelerate", "train", "python -m training.train")
        config = load_config(TrainConfig, args.config, overrides)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as err:
        parser.exit(2, f"error: {err}\n")
    train(config)


if __name__ == "__main__":
    main()
