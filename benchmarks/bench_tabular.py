"""Small tabular novelty tasks: do the detectors learn with default parameters?

Every skanomaly detector is fitted with its default parameters (no epochs,
batch size or learning rate given), beside PyOD's AutoEncoder, KNN and IForest
with theirs, on tabular tasks built offline:

- ``blobs-50`` / ``blobs-500``: generated. The normal class is a mixture of
  three Gaussian clusters in 10 (20) dimensions; 50 (500) rows train. The
  anomalies are half uniform in the normal data's bounding box, half drawn
  from the clusters with three times their spread. Three data seeds each.
- ``breast-cancer``: scikit-learn's bundled data in its raw units (30
  features); benign tumours are normal, malignant ones anomalies.
- ``wine``: scikit-learn's bundled data (13 raw features); each cultivar is
  normal in turn (about 48 training rows).
- ``digits-pca16``: scikit-learn's digits projected on 16 principal components
  fitted on the training rows; each digit normal in turn.
- ``fashion-mnist-pca32``: Fashion-MNIST (protocol 2: the official training
  images of one class train, the whole test set tests) projected on 32
  principal components fitted on the training rows; 6,000 rows train.
  Skipped, with a note, when the idx files are absent.

Tasks without an official split train on 80 % of the normal rows and test on
the rest plus as many anomalies. A fit "on the plateau" is one that raised
skanomaly's ConvergenceWarning (every input reconstructed alike). The budget
constants behind the defaults were chosen on validation tasks from the digits
data set (see docs/conventions.md, "Training budget"), not on these tasks.

Run (the lock keeps heavy jobs apart; a rerun skips finished rows)::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_tabular.py

Writes ``results/tabular_defaults.{md,json}`` and the checkpoint
``results/tabular_defaults.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA

import skanomaly
from skanomaly.benchmarking import environment_info
from skanomaly.benchmarking._checkpoint import Checkpoint, task_fingerprint
from skanomaly.benchmarking._engine import (
    _flagging_convergence_warnings,
    _preserved_global_random_state,
)
from skanomaly.datasets import load_fashion_mnist
from skanomaly.metrics import anomaly_score, novelty_roc_auc

RESULTS = Path(__file__).resolve().parent / "results"


def _skanomaly_detectors(seed):
    """Every public skanomaly detector that takes tabular data, with defaults."""
    from skanomaly.utils import all_estimators

    return {
        name: cls(device="cpu", random_state=seed)
        for name, cls in all_estimators()
        if not cls._requires_image
    }


def detectors(seed):
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN

    from skanomaly import DenoisingAE

    return {
        **_skanomaly_detectors(seed),
        # the paper's all-sigmoid network at the same automatic budget
        "DenoisingAE (sigmoid)": DenoisingAE(
            activation="sigmoid", device="cpu", random_state=seed
        ),
        "PyOD AutoEncoder": AutoEncoder(random_state=seed, device="cpu", verbose=0),
        "PyOD KNN": KNN(),
        "PyOD IForest": IForest(random_state=seed),
    }


# ------------------------------------------------------------------- tasks
def _holdout(normal, anomalies, rng, train_fraction=0.8):
    """Train on a share of the normal rows; test on the rest and as many anomalies."""
    order = rng.permutation(len(normal))
    n_train = int(round(train_fraction * len(normal)))
    train, rest = normal[order[:n_train]], normal[order[n_train:]]
    picked = anomalies[rng.choice(len(anomalies), len(rest), replace=False)]
    X_test = np.concatenate([rest, picked])
    y_test = np.r_[np.zeros(len(rest)), np.ones(len(picked))].astype(int)
    return train, X_test, y_test


def blobs(n_train, n_features, seed):
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-5, 5, size=(3, n_features))
    n_normal = int(np.ceil(n_train / 0.8))
    labels = rng.randint(3, size=n_normal)
    normal = centres[labels] + rng.normal(size=(n_normal, n_features))
    lo, hi = normal.min(axis=0), normal.max(axis=0)
    n_anomalies = n_normal
    uniform = rng.uniform(lo, hi, size=(n_anomalies // 2, n_features))
    far_labels = rng.randint(3, size=n_anomalies - len(uniform))
    spread = centres[far_labels] + 3 * rng.normal(size=(len(far_labels), n_features))
    return _holdout(normal, np.concatenate([uniform, spread]), rng)


def labelled(X, y, normal_label, seed):
    rng = np.random.RandomState(seed)
    return _holdout(X[y == normal_label], X[y != normal_label], rng)


def projected(X_train, X_test, n_components, seed):
    pca = PCA(n_components=n_components, random_state=seed).fit(X_train)
    return pca.transform(X_train), pca.transform(X_test)


def tasks(seed):
    """Yield ``(family, name, X_train, X_test, y_test)``."""
    for n_train, n_features in ((50, 10), (500, 20)):
        for data_seed in range(3):
            yield (
                f"blobs-{n_train}",
                f"blobs-{n_train}-seed{data_seed}",
                *blobs(n_train, n_features, data_seed),
            )
    X, y = load_breast_cancer(return_X_y=True)
    yield ("breast-cancer", "breast-cancer", *labelled(X, y, 1, seed))
    X, y = load_wine(return_X_y=True)
    for k in np.unique(y):
        yield ("wine", f"wine-{k}", *labelled(X, y, k, seed))
    X, y = load_digits(return_X_y=True)
    for k in range(10):
        X_train, X_test, y_test = labelled(X, y, k, seed)
        yield (
            "digits-pca16",
            f"digits-pca16-{k}",
            *projected(X_train, X_test, 16, seed),
            y_test,
        )
    try:
        train = load_fashion_mnist(split="train")
        test = load_fashion_mnist(split="test")
    except (OSError, FileNotFoundError) as exc:  # idx files absent
        print(f"fashion-mnist-pca32 skipped: {exc}", file=sys.stderr)
        return
    for k in range(10):
        X_train = train.data[train.target == k]
        y_test = (test.target != k).astype(int)
        yield (
            "fashion-mnist-pca32",
            f"fashion-mnist-pca32-{k}",
            *projected(X_train, test.data, 32, seed),
            y_test,
        )


# -------------------------------------------------------------------- run
def measure(template, X_train, X_test, y_test):
    row = {}
    with _preserved_global_random_state("cpu"):
        estimator = clone(template)
        start = time.perf_counter()
        with _flagging_convergence_warnings() as flagged:
            estimator.fit(X_train)
        row["fit_s"] = time.perf_counter() - start
        row["plateau"] = bool(flagged)
        row["roc_auc"] = novelty_roc_auc(y_test, anomaly_score(estimator, X_test))
    for name in ("batch_size_", "n_epochs_"):
        if hasattr(estimator, name):
            row[name] = int(getattr(estimator, name))
    return row


def summarise(rows, metadata):
    families = list(dict.fromkeys(r["family"] for r in rows))
    names = list(dict.fromkeys(r["detector"] for r in rows))
    lines = [
        "# Default parameters on small tabular novelty tasks",
        "",
        f"Written by `benchmarks/bench_tabular.py` (command: `{metadata['command']}`).",
        "",
        *(f"- {k}: {v}" for k, v in metadata.items() if k != "command"),
        "",
        "Mean ROC AUC per task family (anomalies positive); every detector with "
        "its default parameters. `(k plateau)`: k fits warned that training "
        "ended on the plateau where every input is reconstructed alike. Fit "
        "seconds are means per task.",
        "",
        "| detector | " + " | ".join(families) + " | mean | plateau fits | fit s |",
        "|---|" + "---:|" * (len(families) + 3),
    ]
    for name in names:
        mine = [r for r in rows if r["detector"] == name]
        cells = []
        for family in families:
            part = [r for r in mine if r["family"] == family]
            flags = sum(r["plateau"] for r in part)
            auc = np.mean([r["roc_auc"] for r in part])
            cells.append(f"{auc:.3f}" + (f" ({flags} plateau)" if flags else ""))
        family_means = [
            np.mean([r["roc_auc"] for r in mine if r["family"] == f]) for f in families
        ]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {np.mean(family_means):.3f} | {sum(r['plateau'] for r in mine)}"
            + f" | {np.mean([r['fit_s'] for r in mine]):.2f} |"
        )
    lines += [
        "",
        "## Per task",
        "",
        "| task | detector | AUC | plateau | fit s | batch | epochs |",
    ]
    lines.append("|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['detector']} | {r['roc_auc']:.4f} | "
            f"{'yes' if r['plateau'] else ''} | {r['fit_s']:.2f} | "
            f"{r.get('batch_size_', '')} | {r.get('n_epochs_', '')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--name", default="tabular_defaults")
    parser.add_argument(
        "--families", nargs="*", default=None, help="task families to run"
    )
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    templates = detectors(args.seed)
    checkpoint = Checkpoint(RESULTS / f"{args.name}.jsonl")
    rows = []
    for family, task, X_train, X_test, y_test in tasks(args.seed):
        if args.families and family not in args.families:
            continue
        for name, template in templates.items():
            key = task_fingerprint(
                {
                    "task": task,
                    "seed": args.seed,
                    "detector": name,
                    # every parameter, defaults included: a changed default
                    # computes the row again
                    "params": json.dumps(
                        template.get_params(deep=False), default=str, sort_keys=True
                    ),
                    "skanomaly": skanomaly.__version__,
                }
            )
            if key in checkpoint.rows:
                rows.append(checkpoint.rows[key])
                continue
            row = {
                "family": family,
                "task": task,
                "detector": name,
                "n_train": int(len(X_train)),
                "n_features": int(X_train.shape[1]),
                **measure(template, X_train, X_test, y_test),
                "error": "",
            }
            checkpoint.append(key, row)
            rows.append(row)
            print(
                f"{task:24s} {name:18s} AUC {row['roc_auc']:.4f} "
                f"{'PLATEAU ' if row['plateau'] else ''}{row['fit_s']:.2f}s",
                flush=True,
            )
    metadata = {
        "command": "python " + " ".join(["benchmarks/bench_tabular.py", *sys.argv[1:]]),
        "seed": args.seed,
        "budget": "every detector's defaults",
        "detectors": {k: " ".join(repr(v).split()) for k, v in templates.items()},
        **environment_info("cpu"),
        "wall_s (this invocation)": round(time.perf_counter() - started, 1),
    }
    (RESULTS / f"{args.name}.md").write_text(summarise(rows, metadata))
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps({"metadata": metadata, "rows": rows}, indent=2, default=str) + "\n"
    )
    print(f"wrote {RESULTS / (args.name + '.md')}")


if __name__ == "__main__":
    main()
