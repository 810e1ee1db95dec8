"""Command line: `python -m nlp predict` and `python -m nlp evaluate`; thin wrappers over the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import deque
from pathlib import Path
from typing import Iterator, Sequence


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CliError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        return data.decode("utf-8")  # bytes as given: no newline translation, so offsets match the file
    except UnicodeDecodeError as err:
        raise CliError(f"{path} is not UTF-8 text (invalid byte at position {err.start}); convert it to UTF-8") from None


def _skip_or_raise(err: CliError, skip_errors: bool) -> None:
    if not skip_errors:
        raise err
    print(f"warning: skipped: {err}", file=sys.stderr)


def _iter_inputs(sources: Sequence[str], skip_errors: bool = False) -> Iterator[tuple[str, str]]:
    """(id, raw text) for each input: files, folders of .txt files, JSONL files with 'text', or '-'.

    With `skip_errors`, an unreadable file is reported on stderr and skipped instead of stopping.
    """
    for source in sources:
        if source == "-":
            try:
                text = sys.stdin.buffer.read().decode("utf-8")
            except UnicodeDecodeError as err:
                raise CliError(f"standard input is not UTF-8 text (invalid byte at position {err.start})") from None
            yield "stdin", text
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.txt") if p.is_file())
            if not files:
                raise CliError(f"folder {path} holds no .txt files")
            for file in files:
                try:
                    yield str(file.relative_to(path).with_suffix("")), _read_text(file)
                except CliError as err:
                    _skip_or_raise(err, skip_errors)
        elif path.suffix == ".jsonl" and path.is_file():
            try:
                yield from _iter_jsonl(path)
            except CliError as err:
                _skip_or_raise(err, skip_errors)
        elif path.is_file():
            try:
                yield path.stem, _read_text(path)
            except CliError as err:
                _skip_or_raise(err, skip_errors)
        else:
            _skip_or_raise(CliError(f"{path}: no such file or folder"), skip_errors)


def _iter_jsonl(path: Path) -> Iterator[tuple[str, str]]:
    from .articles import iter_json_lines

    try:
        for where, record in iter_json_lines(path):
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise CliError(f"{where}each line needs a JSON object with a string 'text'")
            yield str(record.get("id", where.rstrip(": "))), record["text"]
    except ValueError as err:
        raise CliError(str(err)) from None


def _shard() -> tuple[int, int, int]:
    """(rank, world size, local rank) from the environment set by accelerate launch / torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    return rank, world, int(os.environ.get("LOCAL_RANK", str(rank)))


def _check_inputs(sources: Sequence[str], skip_errors: bool) -> None:
    """Fail fast (before the model loads) on inputs that do not exist or folders without .txt files."""
    if skip_errors:
        return  # reported one by one while reading, and the others go on
    for source in sources:
        path = Path(source)
        if source == "-" or path.is_file():
            continue
        if not path.is_dir():
            raise CliError(f"{path}: no such file or folder")
        if not any(p.is_file() for p in path.rglob("*.txt")):
            raise CliError(f"folder {path} holds no .txt files")


def _csv_row(row: dict) -> dict:
    """A table row for CSV, its score rounded to 4 decimals as in the JSON output."""
    return {**row, "score": round(row["score"], 4)}


def _cmd_predict(args: argparse.Namespace) -> None:
    from .inference import load_predictor
    from .output import Output, check_writable

    if not args.inputs:
        if sys.stdin is None or sys.stdin.isatty():  # nothing piped in: show how to call it instead of waiting on the keyboard
            args.usage_error("no input: give files or folders, pipe text in, or '-' to type it on standard input")
        args.inputs = ["-"]
    _check_inputs(args.inputs, args.on_error == "skip")

    rank, world, local_rank = _shard()
    output = args.output
    device = args.device
    if world > 1:
        if not output:
            raise CliError("with several processes (accelerate launch / torchrun), give -o OUTPUT: each process writes OUTPUT.rankN")
        output = f"{output}.rank{rank}"
        if device is None:
            import torch

            device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    if args.resume and not output:
        raise CliError("--resume needs -o OUTPUT (the file to continue)")
    if args.resume and args.format != "jsonl":
        raise CliError("--resume works with --format jsonl")
    # outputs are checked (and a resumed one read) before the model loads; nothing changes until writing starts
    if args.html:
        check_writable(args.html)
    # with --html and no -o the page is the output: no JSON on the terminal as well
    out = Output(output if output or not args.html else os.devnull, resume=args.resume, resumable=args.format == "jsonl")
    try:
        predictor = load_predictor(args.model, device=device, batch_size=args.batch_size)
    except BaseException:
        out.discard()
        raise
    ids: deque[str] = deque()

    def texts() -> Iterator[str]:
        inputs = _iter_inputs(args.inputs, skip_errors=args.on_error == "skip")
        for index, (doc_id, text) in enumerate(inputs):
            # each line already in a resumed output stands for one document with its id (repeats counted)
            if index % world != rank or out.done.take(doc_id):
                continue
            ids.append(doc_id)
            yield text

    kept = []  # results for --html (held in memory)
    with out:
        out.start()
        if args.format == "csv":
            import csv
            import io

            from .tables import COLUMNS, to_rows

            def csv_text(rows, header: bool = False) -> str:
                buffer = io.StringIO()
                writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS))
                if header:
                    writer.writeheader()
                writer.writerows(rows)
                return buffer.getvalue()

            out.write(csv_text([], header=True), document=False)
        # results stream out as each chunk of documents is done, one whole document per write
        for result in predictor.predict_iter(texts(), progress=args.progress):
            result.id = ids.popleft()
            if args.format == "csv":
                out.write(csv_text([_csv_row(row) for row in to_rows(result)]))
            else:
                out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            if args.html:
                kept.append(result)
        out.warn_unmatched()
    if args.html:
        from .render import render

        try:
            Path(args.html).write_text(render(kept), encoding="utf-8")
        except OSError as err:
            raise CliError(f"cannot write {args.html}: {err.strerror or err}") from None


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluation import evaluate, evaluate_conll, format_report

    fmt = args.format or ("conll" if Path(args.gold).suffix in (".conll", ".txt", ".bio", ".tsv") else "jsonl")
    options = dict(model=args.model, batch_size=args.batch_size, device=args.device, progress=args.progress)
    details = None
    if fmt == "conll":
        report = evaluate_conll(args.gold, **options)
    else:
        report, details = evaluate(args.gold, corpus=args.corpus, return_details=True, **options)
    if args.report:
        from .inference import default_model_path
        from .report import write_report

        path = write_report(report, details, args.report, model=str(args.model or default_model_path()), data=args.gold)
        print(f"report written to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))


def _cmd_export(args: argparse.Namespace) -> None:
    from .export import export_onnx
    from .inference import default_model_path

    model = args.model or str(default_model_path())
    if args.fp32_layers is not None and args.quantize != "int8":
        raise CliError(f"--fp32-layers only applies to --quantize int8 (got --quantize {args.quantize})")
    layers = {} if args.fp32_layers is None else {"fp32_layers": args.fp32_layers}
    out = export_onnx(model, args.out, quantize=None if args.quantize == "none" else args.quantize,
                      calibration=args.calibration, check_text=args.check_text, **layers)
    info = json.loads((out / "export.json").read_text(encoding="utf-8"))
    kept = f", fp32 feed-forward layers {info['fp32_feed_forward_layers']}" if "fp32_feed_forward_layers" in info else ""
    print(f"exported {model} to {out} ({args.format}, quantize={info['quantize']}{kept})", file=sys.stderr)
    print(_check_summary(info["check"]), file=sys.stderr)


def _check_summary(check: dict) -> str:
    """One line on how the export's predictions differ from the model's (export.json's "check")."""
    return (
        f"check against the model on the sentences of {Path(check['check_text']).name}: "
        f"{check['event_sets_changed']} of {check['sentences']} sentences changed their event labels; "
        f"entity spans: {check['entity_spans_missing']} of {check['entity_spans']} missing, {check['entity_spans_added']} added; "
        f"largest probability difference on a random batch: events {check['max_event_prob_diff']:.2g}, "
        f"entities {check['max_ner_prob_diff']:.2g}"
    )


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nlp",
        description="Arabic news event extraction: PLOVER events per sentence and named entities.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{predict,evaluate,export}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default=None, help="model directory (default: the model shipped in models/default)")
        p.add_argument("--batch-size", type=_positive_int, default=None, help="sentences per forward pass (default 16 on CPU, 8 for ONNX exports, 256 on GPU)")
        p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
        bar = p.add_mutually_exclusive_group()
        bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a progress bar on stderr (default: only on a terminal, for runs of more than a few seconds)")
        bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")

    p = sub.add_parser(
        "predict",
        help="annotate raw text, write article-format JSON Lines",
        description=(
            "Read raw UTF-8 text from files, folders of .txt files, JSONL files (one object with "
            "'text' and optional 'id' per line) or standard input ('-', the default when text is piped in), and write one "
            "JSON object per document in the article format (FORMAT.md) plus scores. Offsets index "
            "the text exactly as read (no newline translation)."
        ),
    )
    p.add_argument("inputs", nargs="*", metavar="FILE|DIR|-", help="inputs (default: standard input when text is piped in)")
    p.add_argument("-o", "--output", default=None, help="write JSON Lines here instead of standard output (with --html and no -o, only the page is written)")
    p.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl",
        help="jsonl: article format per document (default); csv: one row per sentence-event and per entity",
    )
    p.add_argument(
        "--resume", action="store_true",
        help="continue an interrupted run: skip the documents already in -o OUTPUT (matched by id, each line "
             "standing for one document, so repeated ids count) and append the rest",
    )
    p.add_argument("--html", default=None, metavar="OUT.html", help="also write an HTML page showing the results (right to left)")
    p.add_argument(
        "--on-error", choices=("stop", "skip"), default="stop",
        help="unreadable or non-UTF-8 input file: stop with an error (default) or warn on stderr and go on",
    )
    common(p)
    p.set_defaults(func=_cmd_predict, usage_error=p.error)

    e = sub.add_parser(
        "evaluate",
        help="score a model on annotated articles",
        description=(
            "Score a model on gold articles in the article format (JSON Lines): event P/R/F1 per "
            "PLOVER type on the gold sentence spans, micro and macro averages, has-any-event "
            "accuracy, and exact-match entity P/R/F1. With a CoNLL file (token and tag per line, "
            "e.g. ANERcorp), the standard entity-level (conlleval/seqeval) scores."
        ),
    )
    e.add_argument("gold", metavar="GOLD", help="annotated articles (FORMAT.md JSON Lines) or a CoNLL file")
    e.add_argument(
        "--format", choices=("jsonl", "conll"), default=None,
        help="format of GOLD (default: conll for .conll/.txt/.bio/.tsv files, else jsonl)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    e.add_argument("--report", default=None, metavar="DIR", help="also write DIR/report.md with PNG charts (needs matplotlib)")
    e.add_argument(
        "--corpus", action="append", default=None,
        help=(
            "GOLD is a standoff file (ids and offsets only); take each article's text from this corpus "
            "(JSONL/JSONL.gz with id and text, or a CoNLL file: one document per sentence); repeatable"
        ),
    )
    common(e)
    e.set_defaults(func=_cmd_evaluate)

    x = sub.add_parser(
        "export",
        help="export a model to ONNX (optionally int8) for onnxruntime",
        description=(
            "Write an ONNX copy of a model directory that predict/evaluate accept as --model and that "
            "runs on the CPU with onnxruntime (pip install 'arabic-news-events[onnx]'). int8 uses "
            "dynamic quantization of the weight matrices: smaller and faster, slightly different scores."
        ),
    )
    x.add_argument("--format", choices=("onnx",), default="onnx", help="export format (onnx)")
    x.add_argument("--model", default=None, help="model directory (default: the model shipped in models/default)")
    x.add_argument("--out", required=True, metavar="DIR", help="output directory")
    x.add_argument(
        "--quantize", choices=("none", "int8", "int8-full"), default="none",
        help="none: fp32 (default); int8: int8 weights except the feed-forward outputs of the --fp32-layers layers "
             "with the largest activations on calibration text (within about 1 F1 point of fp32); "
             "int8-full: every weight matrix in int8 (fastest, 1-2 F1 points lower)",
    )
    x.add_argument(
        "--fp32-layers", type=int, default=None, metavar="N",
        help="int8: how many feed-forward output layers stay in fp32 (default: nlp.export.INT8_FP32_LAYERS, "
             "chosen on dev data; more is closer to fp32 and slower)",
    )
    x.add_argument(
        "--calibration", default=None, metavar="FILE",
        help="int8: UTF-8 text, one sentence per line, that picks the layers kept in fp32 (default: built-in news sentences)",
    )
    x.add_argument(
        "--check-text", default=None, metavar="FILE",
        help="UTF-8 text, one sentence per line, on which the export's events and entities are compared with the "
             "model's (default: the calibration sentences)",
    )
    x.set_defaults(func=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except (ValueError, TypeError, OSError, ImportError) as err:  # OSError: FileNotFoundError, nlp.output.OutputError
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
