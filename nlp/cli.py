"""Command line: `python -m nlp predict` and `python -m nlp evaluate`; thin wrappers over the library."""

from __future__ import annotations

import argparse
import json
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


def _iter_inputs(sources: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(id, raw text) for each input: files, folders of .txt files, JSONL files with 'text', or '-'."""
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
                yield str(file.relative_to(path).with_suffix("")), _read_text(file)
        elif path.suffix == ".jsonl" and path.is_file():
            yield from _iter_jsonl(path)
        elif path.is_file():
            yield path.stem, _read_text(path)
        else:
            raise CliError(f"{path}: no such file or folder")


def _iter_jsonl(path: Path) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CliError(f"{path}:{number}: invalid JSON ({err.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise CliError(f"{path}:{number}: each line needs a JSON object with a string 'text'")
        yield str(record.get("id", f"{path.stem}:{number}")), record["text"]


def _cmd_predict(args: argparse.Namespace) -> None:
    from .predictor import load_predictor

    predictor = load_predictor(args.model, device=args.device, batch_size=args.batch_size)
    ids: deque[str] = deque()

    def texts() -> Iterator[str]:
        for doc_id, text in _iter_inputs(args.inputs or ["-"]):
            ids.append(doc_id)
            yield text

    out = open(args.output, "w", encoding="utf-8", newline="\n") if args.output else sys.stdout
    try:
        # results stream out as each chunk of documents is done
        for result in predictor.predict_iter(texts(), progress=args.progress):
            out.write(json.dumps(result.to_dict(id=ids.popleft()), ensure_ascii=False) + "\n")
        out.flush()
    finally:
        if out is not sys.stdout:
            out.close()


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluation import evaluate, evaluate_conll, format_report

    fmt = args.format or ("conll" if Path(args.gold).suffix in (".conll", ".txt", ".bio", ".tsv") else "jsonl")
    scorer = evaluate_conll if fmt == "conll" else evaluate
    report = scorer(args.gold, model=args.model, batch_size=args.batch_size, device=args.device, progress=args.progress)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))


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
    sub = parser.add_subparsers(dest="command", required=True, metavar="{predict,evaluate}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default=None, help="model directory (default: the model shipped in models/default)")
        p.add_argument("--batch-size", type=_positive_int, default=32, help="sentences per forward pass (default 32)")
        p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
        bar = p.add_mutually_exclusive_group()
        bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a progress bar on stderr")
        bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")

    p = sub.add_parser(
        "predict",
        help="annotate raw text, write article-format JSON Lines",
        description=(
            "Read raw UTF-8 text from files, folders of .txt files, JSONL files (one object with "
            "'text' and optional 'id' per line) or standard input ('-', the default), and write one "
            "JSON object per document in the article format (FORMAT.md) plus scores. Offsets index "
            "the text exactly as read (no newline translation)."
        ),
    )
    p.add_argument("inputs", nargs="*", metavar="FILE|DIR|-", help="inputs (default: standard input)")
    p.add_argument("-o", "--output", default=None, help="write JSON Lines here instead of standard output")
    common(p)
    p.set_defaults(func=_cmd_predict)

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
    common(e)
    e.set_defaults(func=_cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
