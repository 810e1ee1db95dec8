"""Evaluation reports as Markdown with PNG charts (matplotlib, an optional extra).

Charts: per-type precision/recall/F1 bars for events and entities, a gold-vs-predicted event
type matrix over sentences, and F1 against the decision threshold for each event type.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import f1_by_threshold


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("evaluation reports need matplotlib: pip install 'arabic-news-events[report]'") from err
    return plt


def _bars(part: dict, title: str, path: Path) -> None:
    plt = _plt()
    labels = [k for k, v in part["per_type"].items() if v["support"] or v["predicted"]]
    if not labels:
        labels = list(part["per_type"])
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(labels) + 2), 4))
    for k, key in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (k - 1) * 0.27, [part["per_type"][l][key] for l in labels], 0.27, label=key)
    ax.set_xticks(x, [f"{l}\n({part['per_type'][l]['support']})" for l in labels], rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.2)  # room above the bars for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_title(f"{title} — micro F1 {part['micro']['f1']:.3f}")
    ax.legend(loc="upper center", ncol=3, fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _confusion(details: dict, path: Path) -> None:
    plt = _plt()
    types = details["event_types"] + ["none"]
    index = {t: i for i, t in enumerate(types)}
    matrix = np.zeros((len(types), len(types)), dtype=int)
    for gold, pred in zip(details["gold_events"], details["pred_events"]):
        for g in gold or {"none"}:
            for p in pred or {"none"}:
                matrix[index[g], index[p]] += 1
    fig, ax = plt.subplots(figsize=(9, 8))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    ax.set_xticks(range(len(types)), types, rotation=90, fontsize=8)
    ax.set_yticks(range(len(types)), types, fontsize=8)
    ax.set_xlabel("predicted type")
    ax.set_ylabel("gold type")
    for i in range(len(types)):
        for j in range(len(types)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6)
    ax.set_title("Event types per sentence: gold × predicted (co-occurrence counts)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _threshold_curves(details: dict, path: Path) -> None:
    plt = _plt()
    types = details["event_types"]
    probs = np.asarray(details["probabilities"], dtype=float)
    gold = np.asarray([[t in g for t in types] for g in details["gold_events"]])
    grid = np.linspace(0.02, 0.98, 49)
    cols = 4
    rows = int(np.ceil(len(types) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows), sharex=True, sharey=True)
    for k, (name, ax) in enumerate(zip(types, np.ravel(axes))):
        ax.plot(grid, f1_by_threshold(probs[:, k], gold[:, k], grid))
        ax.axvline(details["thresholds"][name], color="red", lw=0.8, ls="--")
        ax.set_title(f"{name} (n={int(gold[:, k].sum())})", fontsize=8)
        ax.set_ylim(0, 1)
    for ax in np.ravel(axes)[len(types) :]:
        ax.axis("off")
    fig.suptitle("Event F1 against the decision threshold (dashed: the model's threshold)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(
    report: dict[str, Any], details: dict[str, Any] | None, out_dir: str | os.PathLike[str], model: str, data: str
) -> Path:
    """Write report.md and the PNG charts into `out_dir`; returns the markdown path."""
    from .evaluation import format_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Evaluation report",
        "",
        f"- model: `{model}`",
        f"- data: `{data}`",
        f"- date: {_dt.date.today().isoformat()}",
        f"- documents: {report.get('n_documents')}, sentences: {report.get('n_sentences', '-')}",
        "",
        "```",
        format_report(report),
        "```",
        "",
    ]
    if "events" in report:
        _bars(report["events"], "Events per PLOVER type", out / "events_per_type.png")
        lines += ["## Events", "", "![events per type](events_per_type.png)", ""]
        if details and details.get("gold_events") is not None:
            _confusion(details, out / "event_confusion.png")
            lines += ["![gold vs predicted event types](event_confusion.png)", ""]
        if details and details.get("probabilities"):
            _threshold_curves(details, out / "event_thresholds.png")
            lines += ["![F1 against threshold](event_thresholds.png)", ""]
    if "entities" in report:
        _bars(report["entities"], "Entities per label", out / "entities_per_type.png")
        lines += ["## Entities", "", "![entities per label](entities_per_type.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
