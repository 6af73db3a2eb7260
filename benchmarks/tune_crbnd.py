"""How CRBND's fast defaults were chosen: validation tasks from training data only.

The task (``fmnist-val``): Fashion-MNIST's *training* split only. For each
normal class k of ``--classes``, a seeded 80 % of the class's training images
train; the other 20 % and as many images of the nine other classes (drawn from
the training split, seeded) are the validation set. The official test split is
never read.

Every configuration reports the AUC of both scores from one fit (the
classifier's, CRBND's own, and the reconstructor's error, the ablation), the
classifier's accuracy on its own training samples, the fit time and any
plateau warning. The configurations differ from the defaults by the listed
parameters.

Run (about 30 minutes on one core)::

    python benchmarks/tune_crbnd.py

Writes ``results/crbnd_tune.md`` and ``results/crbnd_tune.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from skanomaly import CRBND
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist

HERE = Path(__file__).resolve().parent

CONFIGS = {
    "negatives: blurred or noisy reconstructions (the default)": {},
    "negatives: blurred reconstructions": {"negative_distortion": "blur"},
    "negatives: blurred inputs (the authors' code)": {
        "distortion_source": "input",
        "negative_distortion": "blur",
    },
}


def validation_task(X, y, k, seed):
    rng = np.random.RandomState(seed + k)
    normal = rng.permutation(np.flatnonzero(y == k))
    n_train = int(0.8 * len(normal))
    held_out = normal[n_train:]
    others = rng.choice(np.flatnonzero(y != k), size=len(held_out), replace=False)
    X_val = np.concatenate([X[held_out], X[others]])
    y_val = np.r_[np.zeros(len(held_out)), np.ones(len(others))].astype(int)
    return X[normal[:n_train]], X_val, y_val


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[0, 6])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X = X.reshape(-1, 1, 28, 28)
    rows = []
    for name in args.configs:
        for k in args.classes:
            X_train, X_val, y_val = validation_task(X, y, k, args.seed)
            det = CRBND(random_state=args.seed, **CONFIGS[name])
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                det.fit(X_train)
            fit_s = time.perf_counter() - start
            auc = {}
            for score in ("classifier", "reconstruction"):
                det.set_params(anomaly_score=score)
                auc[score] = roc_auc_score(y_val, -det.score_samples(X_val))
            row = {
                "config": name,
                "class": k,
                "auc_classifier": auc["classifier"],
                "auc_reconstruction": auc["reconstruction"],
                "classifier_train_accuracy": det.classifier_train_accuracy_,
                "epochs": det.n_epochs_per_stage_,
                "batch_size": det.batch_size_,
                "fit_s": fit_s,
                "plateau": any(
                    issubclass(w.category, ConvergenceWarning) for w in caught
                ),
            }
            rows.append(row)
            print(
                f"{name:30s} class {k} classifier {auc['classifier']:.4f} "
                f"reconstruction {auc['reconstruction']:.4f} "
                f"acc {row['classifier_train_accuracy']:.3f} fit {fit_s:.0f}s",
                flush=True,
            )
    write(rows, args)


def write_rows_json(path, rows, seed):
    """Write ``rows`` with the environment and the seed to ``path``; return the
    environment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    env = environment_info()
    path.write_text(
        json.dumps({"environment": env, "seed": seed, "rows": rows}, indent=1)
    )
    return env


def write(rows, args):
    env = write_rows_json(args.results_dir / "crbnd_tune.json", rows, args.seed)
    lines = [
        "# CRBND: validation tasks (Fashion-MNIST training split only)",
        "",
        "Written by `benchmarks/tune_crbnd.py`. Normal class k: a seeded 80 % of",
        "its training images train; the other 20 % and as many training images",
        "of other classes validate. Seed "
        f'{args.seed}, classes {args.classes}, budgets `"auto"` (10 epochs of',
        f"batch 64 for the reconstructor, 3 for the classifier), {args.threads}",
        f"torch thread(s), device cpu, torch {env.get('torch')}, skanomaly "
        f"{env.get('skanomaly')}. Fit times were taken while other jobs shared",
        "the 2-core machine: upper bounds.",
        "",
        "| configuration | mean AUC, classifier | mean AUC, reconstruction "
        "| classifier train accuracy | mean fit (s) | plateau |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(r["config"] for r in rows):
        sub = [r for r in rows if r["config"] == name]
        lines.append(
            f"| {name} | {np.mean([r['auc_classifier'] for r in sub]):.4f} "
            f"| {np.mean([r['auc_reconstruction'] for r in sub]):.4f} "
            f"| {np.mean([r['classifier_train_accuracy'] for r in sub]):.3f} "
            f"| {np.mean([r['fit_s'] for r in sub]):.0f} "
            f"| {sum(r['plateau'] for r in sub)}/{len(sub)} |"
        )
    lines += [
        "",
        "Per class:",
        "",
        "| configuration | class | classifier | reconstruction |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['class']} | {r['auc_classifier']:.4f} "
            f"| {r['auc_reconstruction']:.4f} |"
        )
    (args.results_dir / "crbnd_tune.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
