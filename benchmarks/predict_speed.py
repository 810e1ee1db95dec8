"""Speed of `predict()` against the plain-transformers baseline a user would write, in one process.

    python benchmarks/predict_speed.py [--model DIR] [--seeds ../shared/seeds] [--threads 2] [--device cpu]

(a) `nlp.predict()` over whole articles: one forward pass per sentence window for both tasks,
    length-bucketed batches, inference mode.
(b) baseline: a transformers token-classification pipeline plus a text-classification pipeline
    built on the same encoder weights, each sentence passed separately (as most users do).
Both get the same texts: the seed articles repeated to >= 2,000 sentences, and a set of short texts.
Prints a table with sentences/s, characters/s, peak RSS growth and the ratio (a)/(b); also the
cold-start load time, and the time ratio of one 10x longer article.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(fn, *args) -> tuple[float, float]:
    """(seconds, peak RSS growth in MB) of one call."""
    import gc

    gc.collect()
    _reset_peak()
    base = _peak_mb()
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start, max(0.0, _peak_mb() - base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(REPO / "models" / "default"))
    parser.add_argument("--seeds", default=str(REPO.parent / "shared" / "seeds"), help="folder of raw .txt articles")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--min-sentences", type=int, default=2000)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    from nlp import JointModel, Predictor
    from nlp.preprocess import normalize, split_sentences

    model = JointModel.from_pretrained(args.model)
    predictor = Predictor(model, device=args.device, batch_size=args.batch_size)
    cold = time.perf_counter() - t0

    seeds = sorted(Path(args.seeds).glob("*.txt")) if Path(args.seeds).is_dir() else []
    articles = [p.read_bytes().decode("utf-8") for p in seeds] or [(REPO / "data" / "examples" / "article.txt").read_text(encoding="utf-8")]
    per_round = sum(len(split_sentences(a)) for a in articles)
    repeats = -(-args.min_sentences // per_round)
    docs = articles * repeats
    sentences = [a[s:e] for a in docs for s, e in split_sentences(a)]
    short = [s for s in sentences[:per_round]] * 20  # short texts: single sentences as separate documents
    n_chars = sum(len(d) for d in docs)

    # (b) the baseline: two pipelines on the same encoder weights, one sentence at a time
    from transformers import BertForSequenceClassification, BertForTokenClassification, pipeline

    base = {k: v for k, v in model.encoder.config.to_dict().items() if k not in ("id2label", "label2id")}
    config_class = model.encoder.config.__class__
    tok_model = BertForTokenClassification(config_class(**{**base, "num_labels": len(model.settings.bio_tags)}))
    cls_model = BertForSequenceClassification(
        config_class(**{**base, "num_labels": len(model.settings.event_types), "problem_type": "multi_label_classification"})
    )
    for head_model in (tok_model, cls_model):
        head_model.bert.load_state_dict(model.encoder.state_dict(), strict=False)
        head_model.eval()
    device = 0 if args.device.startswith("cuda") else -1
    ner_pipe = pipeline("token-classification", model=tok_model, tokenizer=model.tokenizer, device=device, aggregation_strategy="simple")
    cls_pipe = pipeline("text-classification", model=cls_model, tokenizer=model.tokenizer, device=device, top_k=None)
    norm = model.settings.normalization_config

    def baseline(texts):
        for text in texts:
            for s, e in split_sentences(text):
                sentence = normalize(text[s:e], norm).text
                ner_pipe(sentence)
                cls_pipe(sentence, truncation=True)

    def ours(texts):
        predictor.predict(texts, progress=False)

    ours(articles)  # warm-up both
    baseline(articles[:1])
    rows = []
    for name, texts, n_sent, chars in (
        ("articles", docs, len(sentences), n_chars),
        ("short texts", short, len(short), sum(map(len, short))),
    ):
        t_a, m_a = _measure(ours, texts)
        t_b, m_b = _measure(baseline, texts)
        rows.append((name, n_sent, chars, t_a, m_a, t_b, m_b))

    long_article = "\n".join(articles * 10)
    t_one, _ = _measure(ours, articles[:1] * 1 if len(articles) == 1 else ["\n".join(articles)])
    t_ten, _ = _measure(ours, [long_article] if len(articles) == 1 else ["\n".join(articles * 10)])

    print(f"device: {args.device}, torch threads: {args.threads}, model: {args.model} ({model.settings.encoder})")
    print(f"cold start (import + load + first predictor): {cold:.2f} s")
    print()
    print("| texts | sentences | predict() sent/s | baseline sent/s | ratio (a)/(b) | predict() chars/s | baseline chars/s | peak RSS growth (a) / (b) MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n_sent, chars, t_a, m_a, t_b, m_b in rows:
        print(
            f"| {name} | {n_sent} | {n_sent / t_a:,.0f} | {n_sent / t_b:,.0f} | {t_b / t_a:.2f} | "
            f"{chars / t_a:,.0f} | {chars / t_b:,.0f} | {m_a:.0f} / {m_b:.0f} |"
        )
    print()
    print(f"10x longer article: time ratio {t_ten / t_one:.2f} (linear = 10)")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
