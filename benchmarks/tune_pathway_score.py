"""How ``anomaly_score="auto"`` and NAP's truncation were chosen (validation tasks).

The tasks read no benchmark test data:

- ``digits-dev`` and ``wine``: the validation tasks of ``tune_defaults.py`` (a
  seeded half of scikit-learn's digits; wine's cultivars, raw units);
- ``fmnist-val``: Fashion-MNIST's *training* split only, classes 0, 3 and 8
  (the validation tasks of ``tune_image_scores.py``), with all 4,800 training
  rows and with a seeded 150 of them.

Each task fits ``DenoisingAE(random_state=0)`` once (the defaults); every
score is computed from that fit: the sum of squared errors, RaPP's NAP with the
principal directions truncated at 1e-12, 1e-6, 1e-4 and 1e-2 of the largest
variance, NAP with an OAS-shrunk covariance instead, and the score ``"auto"``
picks for the task's network; each clean and under a small L-inf PGD attack
(radius 0.02 in [0, 1] pixel units), because a score that small
perturbations overturn is no default.

Run (about 3 minutes on one core)::

    python benchmarks/tune_pathway_score.py --threads 1

Writes ``results/pathway_score_tune.md`` and ``results/pathway_score_tune.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

import skanomaly.nets.pathway as pathway
from skanomaly import DenoisingAE
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist
from skanomaly.robustness import auc_under_attack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tune_defaults import digits_dev, wine  # noqa: E402
from tune_image_scores import validation_task  # noqa: E402

FLOORS = (1e-12, 1e-6, 1e-4, 1e-2)
ATTACK_EPSILON = 0.02


def fmnist_val(rows):
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    tasks = []
    for k in (0, 3, 8):
        X_train, X_val, y_val = validation_task(X, y, k, 0)
        tasks.append((X_train[:rows], X_val, y_val))
    return tasks


def scores(det, X_train, X_test, y_test):
    """``{score: (clean AUC, AUC under attack)}`` from one fitted detector.

    The attack is ``auc_under_attack``'s L-inf PGD (10 steps) of radius
    ``ATTACK_EPSILON``: normal samples pushed to look anomalous, anomalies to
    look normal, through the score itself."""
    fitted_whitening = det.pathway_whitening_
    module = det.net_.module_.eval()
    moments = pathway.PathwayMoments()
    with torch.no_grad():
        x_train = torch.as_tensor(det._prepare_input(X_train))
        moments.update(pathway.pathway_differences(module, x_train))

    def both():
        res = auc_under_attack(
            det, X_test, y_test, epsilons=[0.0, ATTACK_EPSILON], random_state=0
        )
        return tuple(float(a) for a in res.aucs)

    out = {"auto": both()}
    try:
        det.set_params(anomaly_score="reconstruction")
        out["reconstruction"] = both()
        det.set_params(anomaly_score="nap")
        for floor in FLOORS:
            det.pathway_whitening_ = moments.whitening(None, relative_floor=floor)
            out[f"nap, floor {floor:g}"] = both()
        det.pathway_whitening_ = moments.whitening("oas")
        out["nap, OAS"] = both()
    finally:
        det.pathway_whitening_ = fitted_whitening
        det.set_params(anomaly_score="auto")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    suites = {
        "digits-dev": digits_dev(),
        "wine": wine(),
        "fmnist-val, 150 rows": fmnist_val(150),
        "fmnist-val, 4,800 rows": fmnist_val(None),
    }
    rows = []
    for suite, tasks in suites.items():
        aucs, picks = [], set()
        for X_train, X_test, y_test in tasks:
            det = DenoisingAE(random_state=0, device="cpu")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                det.fit(X_train)
            picks.add(det._resolved_anomaly_score())
            aucs.append(scores(det, X_train, X_test, y_test))
        row = {
            "suite": suite,
            "tasks": len(tasks),
            "features": int(tasks[0][0].shape[1]),
            "auto picks": sorted(picks),
            "auc": {key: float(np.mean([a[key][0] for a in aucs])) for key in aucs[0]},
            "auc_attacked": {
                key: float(np.mean([a[key][1] for a in aucs])) for key in aucs[0]
            },
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    write(rows)


def write(rows):
    out = HERE / "results" / "pathway_score_tune"
    env = environment_info()
    out.with_suffix(".json").write_text(
        json.dumps({"environment": env, "rows": rows}, indent=1)
    )
    keys = list(rows[0]["auc"])
    lines = [
        '# anomaly_score="auto" and NAP\'s truncation: validation tasks',
        "",
        "Written by `benchmarks/tune_pathway_score.py`: `DenoisingAE(random_state=0)` "
        "fitted once per task, every score from that fit; mean ROC AUC per suite, "
        f"clean / under an L-inf PGD attack of radius {ATTACK_EPSILON} (10 steps, "
        "`skanomaly.robustness.auc_under_attack`). No benchmark test data is read.",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in env.items()]
    lines += [
        "",
        "| suite | tasks | features | auto picks | " + " | ".join(keys) + " |",
        "|---|---:|---:|---|" + "---:|" * len(keys),
    ]
    for row in rows:
        lines.append(
            f"| {row['suite']} | {row['tasks']} | {row['features']} | "
            f"{', '.join(row['auto picks'])} | "
            + " | ".join(
                f"{row['auc'][k]:.4f} / {row['auc_attacked'][k]:.4f}" for k in keys
            )
            + " |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
