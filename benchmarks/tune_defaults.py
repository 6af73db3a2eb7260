"""How the default training budget and activation were chosen (validation tasks).

The tasks use no benchmark test data:

- ``digits-dev``: a random half of scikit-learn's digits (seed 1; the
  benchmark's digits protocol uses all of them, so this is a development
  split of the same source); each digit normal in turn, 80 % of its rows
  train, the rest and as many other digits test.
- ``wine``: scikit-learn's wine data, each cultivar normal in turn (80 % of its
  rows train, the rest and as many others test), raw units.

For the MLP of the ARAE paper (512-256-128) trained as DenoisingAE, with the
paper's sigmoid hidden layers or LeakyReLU ones (sigmoid latent and output
either way), at 300 and 600 optimiser steps (the "auto" batch size: an eighth
of the rows, 8 to 64), it reports the mean AUC and the fits that ended on the
plateau (ConvergenceWarning). Fit seconds are not reported: other jobs shared
the machine.

Run::

    python benchmarks/tune_defaults.py

Writes ``results/tune_defaults.md``.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from skanomaly import DenoisingAE
from skanomaly.benchmarking import environment_info

RESULTS = Path(__file__).resolve().parent / "results"


def _split(normal, anomalies, rng):
    n_train = int(0.8 * len(normal))
    test_normal = normal[n_train:]
    picked = anomalies[rng.choice(len(anomalies), len(test_normal), replace=False)]
    y = np.r_[np.zeros(len(test_normal)), np.ones(len(picked))]
    return normal[:n_train], np.concatenate([test_normal, picked]), y


def digits_dev():
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(1)
    dev = rng.permutation(len(X))[: len(X) // 2]
    X, y = X[dev] / 16.0, y[dev]
    return [_split(X[y == k], X[y != k], rng) for k in range(10)]


def wine():
    X, y = load_wine(return_X_y=True)
    rng = np.random.RandomState(0)
    tasks = []
    for k in range(3):
        normal = X[y == k][rng.permutation(int((y == k).sum()))]
        tasks.append(_split(normal, X[y != k], rng))
    return tasks


def auto_epochs(n_rows, steps):
    batch = min(max(n_rows // 8, 8), 64)
    return batch, max(10, math.ceil(steps / math.ceil(n_rows / batch)))


def evaluate(tasks, activation, steps):
    aucs, plateau = [], 0
    for X_train, X_test, y_test in tasks:
        batch, epochs = auto_epochs(len(X_train), steps)
        det = DenoisingAE(
            activation=activation,
            max_epochs=epochs,
            batch_size=batch,
            device="cpu",
            random_state=0,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            det.fit(X_train)
        plateau += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        aucs.append(roc_auc_score(y_test, -det.score_samples(X_test)))
    return float(np.mean(aucs)), plateau


def main():
    suites = {"digits-dev": digits_dev(), "wine": wine()}
    lines = [
        "# Choosing the default budget and activation (validation tasks)",
        "",
        "Written by `benchmarks/tune_defaults.py`. DenoisingAE (512-256-128, Adam "
        "1e-3, seed 0), batch = rows // 8 in [8, 64]; mean ROC AUC and the number "
        "of fits that ended on the plateau.",
        "",
        *(f"- {k}: {v}" for k, v in environment_info("cpu").items()),
        "",
        "| hidden activation | steps | " + " | ".join(suites) + " |",
        "|---|---:|" + "---:|" * len(suites),
    ]
    for activation in ("sigmoid", "leaky_relu"):
        for steps in (300, 600):
            cells = []
            for name, tasks in suites.items():
                auc, plateau = evaluate(tasks, activation, steps)
                cells.append(
                    f"{auc:.4f}" + (f" ({plateau} plateau)" if plateau else "")
                )
                print(activation, steps, name, cells[-1], file=sys.stderr, flush=True)
            lines.append(f"| {activation} | {steps} | " + " | ".join(cells) + " |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tune_defaults.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
