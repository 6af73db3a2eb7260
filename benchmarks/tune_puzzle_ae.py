"""Which score and budget for Puzzle-AE: validation tasks from training data only.

The task: Fashion-MNIST's *training* split only, as in ``tune_crbnd.py``. For
each normal class k of ``--classes``, a seeded 80 % of the class's training
images train; the other 20 % and as many images of the nine other classes
(drawn from the training split, seeded) validate. The official test split is
never read.

Each configuration is fitted once per class, and every score below comes from
that one fit (they differ at scoring only):

- ``puzzle max`` / ``puzzle mean``: the paper's score, the normalised puzzle
  errors aggregated over the permutations with the maximum (the paper's choice
  for Fashion-MNIST) or the mean;
- ``features``: the Mahalanobis distance of the U-Net's pooled encoder
  features (the spatial mean of every level) to the training images'
  (OAS-shrunk covariance);
- ``puzzle+features``: the sum of ``puzzle max`` and ``features``, each
  divided by its median absolute deviation over the held-out normal images
  (``anomaly_score="puzzle+features"``, the default; the committed rows were
  computed when each term was also centred on its median, a constant shift
  that leaves every AUC as it is).

Rows are appended to ``results/puzzle_ae_tune.jsonl`` as each fit ends, and a
rerun skips the (configuration, class) pairs already there.

Run (about 5 minutes per fit on two threads for the defaults)::

    python benchmarks/tune_puzzle_ae.py --threads 2

Writes ``results/puzzle_ae_tune.md`` and ``results/puzzle_ae_tune.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from skanomaly import PuzzleAE
from skanomaly.datasets import load_fashion_mnist

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# the same validation tasks as CRBND's tuning
from tune_crbnd import validation_task, write_rows_json  # noqa: E402

CONFIGS = {
    "defaults": {},
    "25 epochs": {"max_epochs": 25},
}
SCORES = ("puzzle max", "puzzle mean", "features", "puzzle+features")


def validation_scores(det, X_val):
    """Every score of ``SCORES`` (larger = more anomalous) from one fit."""
    normalised = det.permutation_scores(X_val)
    features = det._map_batches(
        det._prepare_input(X_val), det._feature_score(), np.float64
    )
    det.set_params(anomaly_score="puzzle+features", aggregation="max")
    return {
        "puzzle max": normalised.max(axis=1),
        "puzzle mean": normalised.mean(axis=1),
        "features": features,
        "puzzle+features": -det.score_samples(X_val),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[0, 6, 8])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = args.results_dir / "puzzle_ae_tune.jsonl"
    rows = []
    if checkpoint.exists():
        rows = [json.loads(line) for line in checkpoint.read_text().splitlines()]
    done = {(r["config"], r["class"]) for r in rows}
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X = X.reshape(-1, 1, 28, 28)
    for name in args.configs:
        for k in args.classes:
            if (name, k) in done:
                continue
            X_train, X_val, y_val = validation_task(X, y, k, args.seed)
            det = PuzzleAE(random_state=args.seed, **CONFIGS[name])
            start = time.perf_counter()
            det.fit(X_train)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            scores = validation_scores(det, X_val)
            score_s = time.perf_counter() - start
            row = {
                "config": name,
                "class": k,
                **{s: roc_auc_score(y_val, scores[s]) for s in SCORES},
                "epochs": len(det.net_.history),
                "fit_s": fit_s,
                "score_s": score_s,
                "threads": args.threads,
            }
            rows.append(row)
            with checkpoint.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"{name:12s} class {k} "
                + " ".join(f"{s} {row[s]:.4f}" for s in SCORES)
                + f" fit {fit_s:.0f}s",
                flush=True,
            )
    write(rows, args)


def write(rows, args):
    env = write_rows_json(args.results_dir / "puzzle_ae_tune.json", rows, args.seed)
    lines = [
        "# Puzzle-AE: validation tasks (Fashion-MNIST training split only)",
        "",
        "Written by `benchmarks/tune_puzzle_ae.py`. Normal class k: a seeded",
        "80 % of its training images train (of which Puzzle-AE holds out 15 %",
        "for its normalisers); the other 20 % and as many training images of",
        f"other classes validate. Seed {args.seed}, device cpu, torch",
        f"{env.get('torch')}, skanomaly {env.get('skanomaly')}, "
        f"{env.get('cpu_count')} cores. ROC AUC per class; every score of a row",
        "comes from one fit. Fit seconds are wall clock with the row's torch",
        "threads; other jobs may have shared the machine (upper bounds).",
        "",
        "| configuration | class | epochs | "
        + " | ".join(SCORES)
        + " | fit s | threads |",
        "|---|---:|---:|" + "---:|" * len(SCORES) + "---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['class']} | {r['epochs']} | "
            + " | ".join(f"{r[s]:.4f}" for s in SCORES)
            + f" | {r['fit_s']:.0f} | {r['threads']} |"
        )
    for name in dict.fromkeys(r["config"] for r in rows):
        sub = [r for r in rows if r["config"] == name]
        classes = ",".join(str(r["class"]) for r in sub)
        lines.append(
            f"| **{name}, mean** | {classes} | | "
            + " | ".join(f"{np.mean([r[s] for r in sub]):.4f}" for s in SCORES)
            + f" | {np.mean([r['fit_s'] for r in sub]):.0f} | |"
        )
    (args.results_dir / "puzzle_ae_tune.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
