import json

import numpy as np

from training.pretrain_mlm import main, mask_batch

from .conftest import EXTRA_TEXTS, example_text


def test_whole_word_masking(tiny_model):
    tok = tiny_model.tokenizer
    enc = tok.backend_tokenizer.encode(["الاجتماع", "في", "عمان"], is_pretokenized=True, add_special_tokens=False)
    wids = [w for w in enc.word_ids]
    ids, attention, labels = mask_batch([enc.ids] * 50, [wids] * 50, tok, 0.4, np.random.default_rng(0))
    for row in range(50):
        masked = (labels[row, 1:-1] != -100).tolist()
        for w in set(wids):  # every subword of a word is masked, or none is
            assert len({m for m, wid in zip(masked, wids) if wid == w}) == 1
        assert any(masked)


def _encoder_and_corpus(tiny_model, tmp_path):
    """The tiny model's encoder saved as a directory, and a small JSONL corpus of distinct documents."""
    encoder = tmp_path / "encoder"
    tiny_model.encoder.save_pretrained(encoder)
    tiny_model.tokenizer.save_pretrained(encoder)
    corpus = tmp_path / "corpus.jsonl"
    lines = [example_text(), *EXTRA_TEXTS] * 4
    corpus.write_text("".join(json.dumps({"id": str(i), "text": t + f" {i}"}, ensure_ascii=False) + "\n" for i, t in enumerate(lines)), encoding="utf-8")
    return encoder, corpus


def test_mlm_run_logs_before_and_after_and_resumes(tiny_model, tmp_path):
    encoder, corpus = _encoder_and_corpus(tiny_model, tmp_path)
    out = tmp_path / "mlm"
    common = ["--encoder", str(encoder), "--corpus", f"[{corpus}]", "--output_dir", str(out), "--held_out_every", "3",
              "--batch_size", "4", "--max_length", "32", "--eval_every", "3", "--warmup_steps", "1"]
    config = tmp_path / "mlm.yaml"
    config.write_text("seed: 1\n")
    main(["--config", str(config), *common, "--max_steps", "3"])
    main(["--config", str(config), *common, "--max_steps", "6"])
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "mlm_loss" in r]
    assert [r["step"] for r in evals] == [0, 3, 6]
    assert (out / "encoder" / "model.safetensors").is_file()


def test_head_only_steps_leave_the_encoder_unchanged(tiny_model, tmp_path):
    import torch
    from safetensors.torch import load_file

    encoder, corpus = _encoder_and_corpus(tiny_model, tmp_path)
    config = tmp_path / "mlm.yaml"
    config.write_text("seed: 1\n")
    out = tmp_path / "mlm"
    main(["--config", str(config), "--encoder", str(encoder), "--corpus", f"[{corpus}]", "--output_dir", str(out),
          "--held_out_every", "3", "--batch_size", "4", "--max_length", "32", "--eval_every", "2", "--warmup_steps", "0",
          "--learning_rate", "0.01", "--head_only_steps", "2", "--max_steps", "2"])
    before, after = load_file(str(encoder / "model.safetensors")), load_file(str(out / "encoder" / "model.safetensors"))
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if "mlm_loss" in line]
    assert evals[-1]["mlm_loss"] < evals[0]["mlm_loss"]  # the head alone learned something
