"""Run an exported ONNX model (fp32 or int8) with onnxruntime, giving the same results as `Predictor`.

Only the forward pass changes: sentence splitting, normalization, windows and decoding are the
torch predictor's own, so offsets and output structure are identical.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from .model import load_tokenizer, read_lexicon, read_settings, read_token_frame, token_frame
from .predictor import Predictor

ONNX_FILE = "model.onnx"
EXPORT_INFO_FILE = "export.json"
INSTALL_HINT = 'onnxruntime is not installed: pip install "arabic-news-events[onnx]" (or pip install onnxruntime)'
#: sentences per onnxruntime call when none is given: with int8 matrices the fp32 attention (scores, softmax)
#: dominates, and batches of 8 keep it in cache (measured about 15% faster than 32 for int8 on CPU)
ONNX_BATCH_SIZE = 8


def is_onnx_model(directory: str | os.PathLike[str]) -> bool:
    """True for a directory written by `nlp.export.export_onnx` (it holds model.onnx)."""
    return (Path(directory) / ONNX_FILE).is_file()


def check_cpu_device(device: str | torch.device | None, directory: str | os.PathLike[str]) -> torch.device:
    """The CPU device, or a ValueError for any other request (exported models run on the CPU)."""
    try:
        on_cpu = device is None or torch.device(device).type == "cpu"
    except (RuntimeError, TypeError):
        on_cpu = False
    if not on_cpu:
        raise ValueError(
            f"{directory} is an exported ONNX model, which runs on the CPU; use device='cpu' or the torch model directory"
        )
    return torch.device("cpu")


class OnnxPredictor(Predictor):
    """A Predictor whose forward pass runs an exported ONNX model on the CPU with onnxruntime."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        batch_size: int | None = None,
        num_threads: int | None = None,
        workers: int | None = None,
    ):
        """`num_threads` CPU threads (default: torch's thread count), split between `workers` batches run at
        once, each call with `num_threads // workers` threads (at least one). Default: two workers when there
        are two threads or more (on 2 cores two single-thread calls ran about 12% faster than one two-thread
        call: with small batches onnxruntime leaves a thread idle in its serial parts)."""
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ImportError(INSTALL_HINT) from err
        directory = Path(directory)
        if not is_onnx_model(directory):
            raise FileNotFoundError(
                f"{directory / ONNX_FILE} is missing: export a model first with "
                f"python -m nlp export --format onnx --model MODEL_DIR --out {directory}"
            )
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        # same thread count as torch by default, so both backends compare on equal terms
        threads = num_threads or torch.get_num_threads()
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
        self.workers = min(2, threads) if workers is None else workers
        # threads start on first use; a shared pool, so that predictors used from several threads stay bounded
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="nlp-onnx") if self.workers > 1 else None
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads // self.workers)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(directory / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own error types for corrupt files
            raise ValueError(f"{directory / ONNX_FILE} could not be loaded by onnxruntime (truncated or corrupted?): {err}") from err
        info_path = directory / EXPORT_INFO_FILE
        self.export_info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
        self.device = torch.device("cpu")
        self.model = None
        self.directory = directory
        settings = read_settings(directory)
        batch_size = ONNX_BATCH_SIZE if batch_size is None else batch_size
        frame = read_token_frame(directory) or token_frame(load_tokenizer(directory))
        self._bind(frame, settings, batch_size, read_lexicon(directory, settings))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], device: str | torch.device | None = None, batch_size: int | None = None) -> "OnnxPredictor":
        check_cpu_device(device, directory)
        return cls(directory, batch_size=batch_size)

    def _forward_batches(self, batches: Iterable[list[list[int]]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Up to `workers` onnxruntime calls at once (it releases the GIL), results in order; the look-ahead
        is bounded so that memory stays flat on long texts."""
        if self._pool is None:
            yield from map(self._forward, batches)
            return
        pending: deque = deque()
        try:
            for batch in batches:
                pending.append(self._pool.submit(self._forward, batch))
                if len(pending) > 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # the caller stopped early or a batch failed: drop what has not started
            for future in pending:
                future.cancel()

    def _forward(self, sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        ids, mask = self._pad_batch(sequences)
        events, ner = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return events, ner
