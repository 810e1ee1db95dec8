"""Speed of `predict()` on several model directories (torch models or ONNX exports), in one process.

    python benchmarks/compare_speed.py --model e5=models/default --model e5-int8=runs/e5-onnx-int8 \
        --model gemma=runs/gemma-candidate --model gemma-int8=runs/gemma-onnx-int8 [--threads 2]

The first model is the baseline of the ratio column. Every model gets the same texts: the seed articles
repeated to >= --min-sentences sentences, as whole documents, with predict()'s own batching. The models take
turns over --rounds rounds and each keeps its best time, so a slower spell of a shared machine does not fall
on one model only. Prints sentences/s, characters/s, the ratio to the baseline and the directory size.
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


def directory_mb(path: Path) -> float:
    """Size of every file under `path`, in MB (2**20 bytes)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="NAME=DIR; repeat; the first is the baseline")
    parser.add_argument("--seeds", default=str(REPO.parent / "shared" / "seeds"), help="folder of raw .txt articles")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-sentences", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    models = []
    for item in args.model:
        name, sep, directory = item.partition("=")
        if not sep or not name or not Path(directory).is_dir():
            parser.error(f"--model takes NAME=DIR with an existing model directory, got {item!r}")
        models.append((name, Path(directory)))

    import torch

    torch.set_num_threads(args.threads)
    from benchmarks.texts import benchmark_articles
    from nlp.inference import load_predictor

    articles, docs, per_round = benchmark_articles(args.seeds, args.min_sentences)
    n_sentences = per_round * (len(docs) // len(articles))
    n_chars = sum(len(d) for d in docs)

    runners = {}
    for name, directory in models:
        predictor = load_predictor(str(directory), device="cpu")
        predictor.predict(articles[:1], progress=False)  # warm-up
        runners[name] = predictor
    best = {name: float("inf") for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.predict(docs, progress=False)
            best[name] = min(best[name], time.perf_counter() - start)
    baseline = models[0][0]
    print(f"{n_sentences} sentences ({n_chars:,} characters) in {len(docs)} documents; {args.threads} threads; best of {args.rounds} rounds")
    print()
    print(f"| model | directory | size MB | sentences/s | characters/s | speed ratio to {baseline} |")
    print("|---|---|---|---|---|---|")
    for name, directory in models:
        t = best[name]
        print(f"| {name} | {directory} | {directory_mb(directory):.0f} | {n_sentences / t:.1f} | {n_chars / t:,.0f} | {best[baseline] / t:.2f} |")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
