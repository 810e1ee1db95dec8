"""Continue masked-language-model pretraining of an encoder on Arabic news (AraBERT-style adaptation).

    python -m training.pretrain_mlm --config configs/mlm-e5.yaml [--key value ...]

Texts are deduplicated and normalized as `nlp.preprocess` does, then masked by whole words (all
subwords of a chosen word, 15% of words; 80% [MASK], 10% random, 10% kept). Runs resume from
OUTPUT_DIR/checkpoints/last. MLM loss and accuracy on held-aside text are logged before training
and at every evaluation; the adapted encoder (BertModel, no MLM head) and tokenizer are saved to
OUTPUT_DIR/encoder, ready for `encoder:` in a training recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from nlp.config import load_config
from nlp.extras import require
from nlp.model import frame_token_ids
from nlp.preprocess import NormalizationConfig, split_words
from training.checkpoints import latest_checkpoint, swap_in

REPO = Path(__file__).resolve().parent.parent


@dataclass
class MlmConfig:
    """A masked-LM adaptation recipe."""

    encoder: str = "outputs/e5-small-ar"
    corpus: list[str] = field(default_factory=list)  # JSONL(.gz) / txt corpora
    output_dir: str = "runs/mlm"
    held_out_every: int = 100  # every N-th deduplicated document is held aside for evaluation
    max_eval_sequences: int = 256
    max_length: int = 128
    mask_probability: float = 0.15
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_steps: int = 200
    max_steps: int = 2000
    eval_every: int = 250
    head_only_steps: int = 0  # train only the (freshly initialized) MLM head first, so its random start does not disturb the encoder
    seed: int = 42
    num_threads: int = 0
    normalization: dict[str, bool] = field(default_factory=dict)


def _path(p: str) -> str:
    return p if os.path.isabs(p) else str(REPO / p)


def sequences(config: MlmConfig, tokenizer) -> tuple[list[list[int]], list[list[int]], list[list[int]], list[list[int]]]:
    """Token ids and word ids of train and held-aside sequences (documents cut into max_length pieces)."""
    from nlp.data import pretraining_dataset

    normalization = NormalizationConfig.from_dict(config.normalization)
    texts = pretraining_dataset([_path(p) for p in config.corpus], normalization)["text"]
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    limit = config.max_length - 2
    out = {"train": ([], []), "held": ([], [])}
    for k in range(0, len(texts), 512):
        batch = texts[k : k + 512]
        words = [[t[a:b] for a, b in split_words(t)] for t in batch]
        for j, enc in enumerate(backend.encode_batch(words, is_pretokenized=True, add_special_tokens=False)):
            part = "held" if (k + j) % config.held_out_every == 0 else "train"
            ids, wids = enc.ids, [w if w is not None else -1 for w in enc.word_ids]
            for start in range(0, len(ids), limit):
                if len(ids) - start < 8:
                    break
                out[part][0].append(ids[start : start + limit])
                out[part][1].append(wids[start : start + limit])
    return out["train"][0], out["train"][1], out["held"][0][: config.max_eval_sequences], out["held"][1][: config.max_eval_sequences]


def mask_batch(ids: list[list[int]], words: list[list[int]], tokenizer, probability: float, rng: np.random.Generator):
    """Whole-word masking; returns input_ids, attention_mask, labels (-100 where not predicted)."""
    cls_id, sep_id = frame_token_ids(tokenizer)
    pad_id = tokenizer.pad_token_id or 0
    mask_id = tokenizer.mask_token_id
    special = set(tokenizer.all_special_ids)
    length = max(len(s) for s in ids) + 2
    input_ids = torch.full((len(ids), length), pad_id, dtype=torch.long)
    labels = torch.full((len(ids), length), -100, dtype=torch.long)
    attention = torch.zeros((len(ids), length), dtype=torch.long)
    vocab = len(tokenizer)
    for row, (seq, wid) in enumerate(zip(ids, words)):
        seq = np.asarray(seq)
        wid = np.asarray(wid)
        chosen_words = {w for w in set(wid.tolist()) if w >= 0 and rng.random() < probability}
        chosen = np.isin(wid, list(chosen_words)) if chosen_words else np.zeros(len(seq), dtype=bool)
        if not chosen.any():  # at least one word per sequence
            chosen = wid == wid[rng.integers(len(wid))]
        target = seq.copy()
        new = seq.copy()
        draw = rng.random(len(seq))
        new[chosen & (draw < 0.8)] = mask_id
        randoms = chosen & (draw >= 0.8) & (draw < 0.9)
        new[randoms] = rng.integers(0, vocab, randoms.sum())
        new[randoms & np.isin(new, list(special))] = mask_id
        input_ids[row, : len(seq) + 2] = torch.tensor([cls_id, *new.tolist(), sep_id])
        labels[row, 1 : len(seq) + 1] = torch.tensor(np.where(chosen, target, -100))
        attention[row, : len(seq) + 2] = 1
    return input_ids, attention, labels


def masked_lm_logits(model, input_ids: torch.Tensor, attention: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets at the masked positions only (about 15% of the tokens; the vocabulary projection
    over every position would cost about a third of a small encoder's step)."""
    hidden = model.bert(input_ids=input_ids, attention_mask=attention).last_hidden_state
    where = labels != -100
    return model.cls(hidden[where]), labels[where]


@torch.no_grad()
def evaluate_mlm(model, ids, words, tokenizer, config: MlmConfig) -> dict[str, float]:
    """Masked-token loss and accuracy on held-aside sequences (fixed masking seed)."""
    model.eval()
    rng = np.random.default_rng(1234)
    total_loss = correct = count = 0.0
    for k in range(0, len(ids), config.batch_size):
        input_ids, attention, labels = mask_batch(ids[k : k + config.batch_size], words[k : k + config.batch_size], tokenizer, config.mask_probability, rng)
        logits, targets = masked_lm_logits(model, input_ids.to(model.device), attention.to(model.device), labels.to(model.device))
        n = int(targets.numel())
        total_loss += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
        correct += float((logits.argmax(-1) == targets).sum())
        count += n
    model.train()
    return {"mlm_loss": total_loss / max(count, 1), "mlm_accuracy": correct / max(count, 1), "masked_tokens": int(count)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    args, overrides = parser.parse_known_args(argv)
    try:
        require("datasets", "train", "python -m training.pretrain_mlm")
    except ImportError as err:
        parser.exit(2, f"error: {err}\n")
    config = load_config(MlmConfig, args.config, overrides)
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, get_linear_schedule_with_warmup

    torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
    torch.manual_seed(config.seed)
    out_dir = Path(_path(config.output_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder_dir = _path(config.encoder)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    checkpoint = latest_checkpoint(out_dir, "state.json")
    source = checkpoint or Path(encoder_dir)
    model = BertForMaskedLM.from_pretrained(str(source), config=BertConfig.from_pretrained(encoder_dir))  # fresh MLM head on first start
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    train_ids, train_words, held_ids, held_words = sequences(config, tokenizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, config.max_steps)
    state = {"step": 0}
    if checkpoint is not None:
        saved = torch.load(checkpoint / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = json.loads((checkpoint / "state.json").read_text())
    log = out_dir / "metrics.jsonl"
    if state["step"] == 0:
        (out_dir / "mlm_config.json").write_text(json.dumps(asdict(config), indent=2))
        before = evaluate_mlm(model, held_ids, held_words, tokenizer, config)
        with open(log, "w") as handle:
            handle.write(json.dumps({"step": 0, **before, "train_sequences": len(train_ids), "held_sequences": len(held_ids)}) + "\n")
        print(f"before: {before}; {len(train_ids)} training sequences")
    rng = np.random.default_rng(config.seed + state["step"])
    order = list(range(len(train_ids)))
    random.Random(config.seed + state["step"]).shuffle(order)
    tokens_seen = state.get("tokens", 0)
    tokens_at_start, started = tokens_seen, time.time()
    position = 0
    while state["step"] < config.max_steps:
        if position + config.batch_size > len(order):
            random.Random(config.seed + state["step"]).shuffle(order)
            position = 0
        pick = order[position : position + config.batch_size]
        position += config.batch_size
        input_ids, attention, labels = mask_batch([train_ids[i] for i in pick], [train_words[i] for i in pick], tokenizer, config.mask_probability, rng)
        head_only = state["step"] < config.head_only_steps
        model.bert.requires_grad_(not head_only)
        logits, targets = masked_lm_logits(model, input_ids.to(device), attention.to(device), labels.to(device))
        loss = torch.nn.functional.cross_entropy(logits, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        state["step"] += 1
        tokens_seen += int(attention.sum())
        state["tokens"] = tokens_seen
        if state["step"] % 10 == 0:
            with open(log, "a") as handle:
                handle.write(json.dumps({"step": state["step"], "loss": float(loss), "tokens": tokens_seen,
                                         "tokens_per_s": round((tokens_seen - tokens_at_start) / max(time.time() - started, 1e-9))}) + "\n")
        if state["step"] % config.eval_every == 0 or state["step"] == config.max_steps:
            report = evaluate_mlm(model, held_ids, held_words, tokenizer, config)
            with open(log, "a") as handle:
                handle.write(json.dumps({"step": state["step"], **report, "tokens": tokens_seen}) + "\n")
            print(f"step {state['step']}: {report}")
            tmp = out_dir / "checkpoints" / "last.tmp"
            if tmp.exists():
                shutil.rmtree(tmp)
            model.save_pretrained(tmp)
            torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
            (tmp / "state.json").write_text(json.dumps(state))
            swap_in(tmp, out_dir / "checkpoints" / "last")
    encoder_out = out_dir / "encoder"
    model.bert.save_pretrained(encoder_out)
    tokenizer.save_pretrained(encoder_out)
    print(f"adapted encoder written to {encoder_out}")


if __name__ == "__main__":
    main()
