"""Inter-annotator agreement on event labels: Cohen's kappa per PLOVER type and overall.

    python -m training.annotation.agreement data/annotations/agreement/snn_second_pass.jsonl \
        data/annotations/snn_train.jsonl data/annotations/snn_dev.jsonl data/annotations/snn_test.jsonl

The first file is the second pass; the others hold the first pass. Sentences are matched by
article id and offsets (both passes use the same sentence spans).
"""

from __future__ import annotations

import argparse

from nlp.articles import iter_json_lines
from nlp.extras import require
from nlp.labels import EVENT_TYPES


def _sentences(paths: list[str]) -> dict[tuple[str, int, int], set[str]]:
    out = {}
    for path in paths:
        for _, record in iter_json_lines(path):
            for s in record["sentences"]:
                out[(record["id"], s["start"], s["end"])] = set(s["events"])
    return out


def agreement(second: dict, first: dict) -> dict:
    """Kappa per type (binary decisions), pooled over all (sentence, type) decisions, and for 'has any event'."""
    cohen_kappa_score = require("sklearn.metrics", "train", "the agreement tool").cohen_kappa_score
    keys = sorted(second)
    missing = [k for k in keys if k not in first]
    if missing:
        raise ValueError(f"{len(missing)} second-pass sentences have no first-pass label, e.g. {missing[0]}")
    report = {"n_sentences": len(keys), "n_documents": len({k[0] for k in keys}), "per_type": {}}
    pooled_a, pooled_b = [], []
    for name in EVENT_TYPES:
        a = [int(name in first[k]) for k in keys]
        b = [int(name in second[k]) for k in keys]
        pooled_a += a
        pooled_b += b
        kappa = cohen_kappa_score(a, b) if (sum(a) + sum(b)) else float("nan")
        report["per_type"][name] = {"kappa": kappa, "first": sum(a), "second": sum(b)}
    report["overall_kappa"] = cohen_kappa_score(pooled_a, pooled_b)
    report["has_event_kappa"] = cohen_kappa_score([int(bool(first[k])) for k in keys], [int(bool(second[k])) for k in keys])
    report["exact_set_agreement"] = sum(first[k] == second[k] for k in keys) / len(keys)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("second", help="second-pass standoff file")
    parser.add_argument("first", nargs="+", help="first-pass standoff files")
    args = parser.parse_args(argv)
    try:
        require("sklearn.metrics", "train", "python -m training.annotation.agreement")
    except ImportError as err:
        parser.exit(2, f"error: {err}\n")
    report = agreement(_sentences([args.second]), _sentences(args.first))
    print(f"{report['n_documents']} articles, {report['n_sentences']} sentences")
    print("| type | kappa | first pass | second pass |\n|---|---|---|---|")
    for name, row in report["per_type"].items():
        print(f"| {name} | {row['kappa']:.2f} | {row['first']} | {row['second']} |")
    print(f"overall (pooled) kappa {report['overall_kappa']:.3f}; has-any-event kappa {report['has_event_kappa']:.3f}; "
          f"identical label sets {report['exact_set_agreement']:.3f}")


if __name__ == "__main__":
    main()
