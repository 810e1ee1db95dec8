"""Speed of `predict()` against the plain-transformers baseline a user would write, in one process.

    python benchmarks/predict_speed.py [--model DIR] [--seeds ../shared/seeds] [--threads 2] [--device cpu]

(a) `nlp.predict()` over whole articles: one forward pass per sentence window for both tasks,
    length-bucketed batches, inference mode.
(b) baseline: a transformers token-classification pipeline plus a text-classification pipeline
    built on the same encoder weights, each sentence passed separately (as most users do).
(c) the same model exported to ONNX (fp32 and int8) and run by onnxruntime (needs the onnx extra;
    --no-onnx skips it), with its event micro-F1 and entity F1 on the gold test split next to torch's.
Both get the same texts: the seed articles repeated to >= 2,000 sentences, and a set of short texts.
Prints tables with sentences/s, characters/s, peak RSS growth and the ratios; the cold start of
`import nlp` + first `predict()` in a fresh process; and time and peak memory of a 1 MB article
against a 100 kB one (10x longer).
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
    """Give freed heap memory back to the OS, then restart the peak-RSS counter (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
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
    parser.add_argument("--batch-size", type=int, default=None, help="default: each backend's own default (what predict() uses)")
    parser.add_argument("--min-sentences", type=int, default=2000)
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX rows")
    parser.add_argument("--scale-kb", type=int, default=100, help="size of the small article of the scale test (the long one is 10x)")
    parser.add_argument("--gold", default=str(REPO / "data" / "annotations" / "snn_test.jsonl"), help="standoff gold for the ONNX accuracy check")
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "saudinewsnet" / "saudinewsnet.jsonl.gz"))
    parser.add_argument("--conll-gold", default=str(REPO.parent / "shared" / "data" / "anercorp_camellab" / "ANERCorp_CamelLab_test.txt"), help="CoNLL gold for the ONNX entity check")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    cold = _cold_start(args.model, args.threads)
    from nlp import JointModel, Predictor
    from nlp.preprocess import normalize, split_sentences

    from benchmarks.texts import benchmark_articles

    model = JointModel.from_pretrained(args.model)  # transformers' BertModel: the baseline's weights and the export
    # predict() as users get it: the same weights on the inference encoder (nlp.encoder)
    predictor = Predictor(JointModel.from_pretrained(args.model, for_inference=True), device=args.device, batch_size=args.batch_size)

    articles, docs, per_round = benchmark_articles(args.seeds, args.min_sentences)
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

    share = _forward_share(predictor, docs)
    print(f"device: {args.device}, threads: {args.threads}, batch size: {args.batch_size or 'default per backend'}, model: {args.model} ({model.settings.encoder})")
    print(f"share of predict() time spent in the model forward pass (articles): {share:.0%}")
    print(f"cold start in a fresh process (import nlp + load the model + first predict() of one sentence): {cold:.2f} s")
    print()
    print("| texts | sentences | predict() sent/s | baseline sent/s | ratio (a)/(b) | predict() chars/s | baseline chars/s | peak RSS growth (a) / (b) MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n_sent, chars, t_a, m_a, t_b, m_b in rows:
        print(
            f"| {name} | {n_sent} | {n_sent / t_a:,.0f} | {n_sent / t_b:,.0f} | {t_b / t_a:.2f} | "
            f"{chars / t_a:,.0f} | {chars / t_b:,.0f} | {m_a:.0f} / {m_b:.0f} |"
        )
    print()

    if not args.no_onnx and args.device == "cpu":
        _onnx_rows(args, model, predictor, docs, len(sentences))

    # scale: one article of about scale_kb kB of UTF-8 and one 10x longer, each in a fresh process
    # (the peak memory of this process already holds everything measured above)
    unit = "\n".join(articles)
    small = "\n".join([unit] * max(1, -(-args.scale_kb * 1000 // len(unit.encode("utf-8")))))
    large = "\n".join([small] * 10)
    results = [_scale_run(args.model, text, args.threads, args.batch_size) for text in (small, large)]
    print("| article | UTF-8 size | sentences | seconds | peak RSS MB (whole process) | RSS growth during predict() MB |")
    print("|---|---|---|---|---|---|")
    for name, text, (t, peak, growth) in zip(("small", "10x longer"), (small, large), results):
        print(f"| {name} | {len(text.encode('utf-8')) / 1e6:.2f} MB | {len(split_sentences(text))} | {t:.1f} | {peak:.0f} | {growth:.0f} |")
    print()
    (t_small, peak_small, _), (t_large, peak_large, _) = results
    print(f"10x longer article: time ratio {t_large / t_small:.2f} (linear = 10), peak RSS ratio {peak_large / peak_small:.2f}")


def _scale_run(model_dir: str, text: str, threads: int, batch_size: int | None) -> tuple[float, float, float]:
    """(seconds, peak RSS MB, RSS growth MB) of predict() on one text, in a fresh process after loading."""
    import subprocess
    import tempfile

    code = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(REPO)!r})
import torch
torch.set_num_threads({threads})
from nlp import load_predictor
def status(key):
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
predictor = load_predictor({model_dir!r}, device='cpu')
predictor.predict('قال الوزير إن المحادثات ستستمر.')
text = Path(sys.argv[1]).read_text(encoding='utf-8')
before = status('VmRSS:')
t = time.perf_counter()
predictor.predict(text, batch_size={batch_size}, progress=False)
t = time.perf_counter() - t
peak = status('VmHWM:')
print(t, peak, peak - before)
"""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as handle:
        handle.write(text)
    try:
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        out = subprocess.run([sys.executable, "-c", code, handle.name], capture_output=True, text=True, env=env, check=True)
    finally:
        os.unlink(handle.name)
    t, peak, growth = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    return t, peak, growth


def _forward_share(predictor, docs) -> float:
    """Fraction of predict() time spent in the forward pass (the rest: splitting, tokenizing, decoding);
    with several concurrent workers, of the workers' combined time."""
    spent = [0.0]
    forward = predictor._forward

    def timed(sequences):
        start = time.perf_counter()
        out = forward(sequences)
        spent[0] += time.perf_counter() - start
        return out

    predictor._forward = timed
    try:
        start = time.perf_counter()
        predictor.predict(docs, progress=False)
        total = time.perf_counter() - start
    finally:
        del predictor._forward  # back to the class's method
    return spent[0] / (total * getattr(predictor, "workers", 1))  # concurrent calls (ONNX) overlap in time


def _cold_start(model_dir: str, threads: int) -> float:
    """Seconds from a fresh interpreter to the first predict() result (imports and loading included)."""
    import subprocess

    code = (
        "import time; t = time.perf_counter(); import torch; torch.set_num_threads(%d); import nlp; "
        "nlp.predict('قال الوزير إن المحادثات ستستمر في الرياض.', model=%r, device='cpu'); "
        "print(time.perf_counter() - t)" % (threads, model_dir)
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"}
    times = []
    for _ in range(3):  # the first run also warms the file cache
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times[1:])


def _onnx_rows(args, model, predictor, docs, n_sentences: int) -> None:
    """Throughput and accuracy of the ONNX exports (fp32, int8) against the torch predictor."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("ONNX rows skipped: onnxruntime is not installed (pip install -e '.[onnx]')\n")
        return
    import tempfile

    from nlp.evaluation import evaluate, evaluate_conll
    from nlp.export import export_onnx
    from nlp.onnx_predictor import OnnxPredictor

    gold_ok = Path(args.gold).is_file() and Path(args.corpus).is_file()
    corpus_articles = None
    if gold_ok:
        from nlp.data import read_standoff

        corpus_articles = read_standoff(args.gold, args.corpus)

    conll_ok = Path(args.conll_gold).is_file()

    def scores(p) -> tuple[float, ...]:
        report = evaluate(corpus_articles, model=p, batch_size=args.batch_size, progress=False)
        out = (report["events"]["micro"]["f1"], report["entities"]["micro"]["f1"])
        if conll_ok:
            out += (evaluate_conll(args.conll_gold, model=p, batch_size=args.batch_size, progress=False)["entities"]["micro"]["f1"],)
        return out

    base_scores = scores(predictor) if gold_ok else None
    with tempfile.TemporaryDirectory() as tmp:
        runners = {"torch fp32": predictor}
        for quantize in (None, "int8", "int8-full"):
            out = export_onnx(model, Path(tmp) / (quantize or "fp32"), quantize=quantize)
            runners[f"onnxruntime {quantize or 'fp32'}"] = OnnxPredictor(out, batch_size=args.batch_size, num_threads=args.threads)
        # alternate the backends over three rounds and keep each one's best time, so that a slower
        # spell of a shared machine does not fall on one backend only
        best = {name: float("inf") for name in runners}
        for runner in runners.values():
            runner.predict(docs[:1], progress=False)  # warm-up
        for _ in range(3):
            for name, runner in runners.items():
                t, _ = _measure(lambda texts, r=runner: r.predict(texts, progress=False), docs)
                best[name] = min(best[name], t)
        print("| backend | sentences/s | ratio to torch fp32 | event micro-F1 | entity F1 | ANERcorp test entity F1 | forward share |")
        print("|---|---|---|---|---|---|---|")
        for name, runner in runners.items():
            if not gold_ok:
                cells = "- | - | -"
            elif runner is predictor:
                cells = " | ".join(f"{v:.4f}" for v in base_scores)
            else:
                cells = " | ".join(f"{v:.4f} ({100 * (v - b):+.1f} pt)" for v, b in zip(scores(runner), base_scores))
            t = best[name]
            print(f"| {name} | {n_sentences / t:,.0f} | {best['torch fp32'] / t:.2f} | {cells} | {_forward_share(runner, docs):.0%} |")
    if not gold_ok:
        print(f"(accuracy columns skipped: {args.gold} or {args.corpus} is absent)")
    print()


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
