"""Score several models on several gold sets and print one table (the model card's comparisons).

    python -m training.compare_models --model old=models/default --model new=runs/candidate \
        --gold dev=data/annotations/snn_dev.jsonl \
        --gold random=data/annotations/snn_round5_random.jsonl,data/annotations/snn_round7_random.jsonl \
        --conll anercorp-test=../shared/data/anercorp_camellab/ANERCorp_CamelLab_test.txt \
        --corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz --output runs/compare.json

A gold set of several comma-separated files is scored pooled (one set of sentences). Standoff files take their
text from `--corpus`. Each row gives event micro/macro F1, the share of no-event sentences given an event, and
entity F1 where the set has entities.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from nlp.articles import iter_json_lines, read_articles
from nlp.data import read_standoff
from nlp.evaluation import evaluate, evaluate_conll
from nlp.inference import load_predictor


def _pairs(items: Sequence[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{what} must look like NAME=PATH, got {item!r}")
        out.append((name, value))
    return out


def _articles(paths: str, corpus: Sequence[str]) -> list:
    articles = []
    for path in paths.split(","):
        first = next((record for _, record in iter_json_lines(path)), None)  # standoff records carry no text
        standoff = isinstance(first, dict) and "text" not in first
        articles += read_standoff(path, corpus) if standoff else read_articles(path)
    return articles


def compare(models: list[tuple[str, str]], gold: list[tuple[str, str]], conll: list[tuple[str, str]],
            corpus: Sequence[str], progress: bool | None = None) -> dict[str, dict[str, Any]]:
    """{model: {set: scores}} with events micro/macro/no-event-flagged and entity F1."""
    sets = {name: _articles(paths, corpus) for name, paths in gold}
    results: dict[str, dict[str, Any]] = {}
    for model_name, directory in models:
        predictor = load_predictor(directory)
        mine: dict[str, Any] = {}
        for name, articles in sets.items():
            report = evaluate(articles, model=predictor, progress=progress)
            row: dict[str, Any] = {"sentences": report.get("n_sentences", 0)}
            if "events" in report:
                e = report["events"]
                row.update(micro=e["micro"]["f1"], macro=e["macro"]["f1"], no_event_flagged=e["no_event_flagged"],
                           no_event_sentences=e["no_event_sentences"])
            if "entities" in report:
                row["entities"] = report["entities"]["micro"]["f1"]
            mine[name] = row
        for name, path in conll:
            report = evaluate_conll(path, model=predictor, progress=progress)
            mine[name] = {"sentences": report.get("n_sentences", 0), "entities": report["entities"]["micro"]["f1"]}
        results[model_name] = mine
    return results


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """A markdown table, one row per gold set, one column group per model."""
    models = list(results)
    sets = list(next(iter(results.values())))
    head = "| set | " + " | ".join(f"{m} events micro / macro | {m} no-event flagged | {m} entities" for m in models) + " |"
    lines = [head, "|---|" + "---|---|---|" * len(models)]
    for name in sets:
        cells = []
        for m in models:
            row = results[m][name]
            ev = f"{row['micro']:.3f} / {row['macro']:.3f}" if "micro" in row else "–"
            flagged = f"{row['no_event_flagged']:.3f} of {row['no_event_sentences']}" if row.get("no_event_sentences") else "–"
            ent = f"{row['entities']:.3f}" if "entities" in row else "–"
            cells += [ev, flagged, ent]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.compare_models", description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=DIR (repeatable)")
    parser.add_argument("--gold", action="append", default=[], help="NAME=FILE[,FILE…] article-format or standoff JSONL")
    parser.add_argument("--conll", action="append", default=[], help="NAME=FILE CoNLL entity set (e.g. ANERcorp test)")
    parser.add_argument("--corpus", action="append", default=[], help="corpus holding the text of standoff files")
    parser.add_argument("--output", type=Path, default=None, help="also write the scores as JSON")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args(argv)
    try:
        results = compare(_pairs(args.model, "--model"), _pairs(args.gold, "--gold"), _pairs(args.conll, "--conll"),
                          args.corpus, args.progress)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
