"""Decisions on unseen normal data: realised false-positive rates of ``predict``.

Every detector is fitted at its defaults three ways, and ``predict`` is read on
*held-out* normal rows and anomalies at ``contamination`` 0.01, 0.05 and 0.1
(one fit serves all three: ``offset_`` follows ``set_params(contamination=...)``):

- ``training``: ``calibration="training"``, the threshold before calibration:
  the ``100 * contamination`` percentile of the training rows' scores;
- ``held-out``: the default, ``calibration=0.2``: 20 % of the training rows are
  held out, the split-conformal threshold of their scores;
- ``cv5`` (digits and the small tabular sets only): the alternative considered,
  out-of-fold scores. Five models trained on four fifths of the rows score the
  fifth they did not see; the threshold of those scores is applied to the
  ``training`` fit, which trained on every row.

For each fit and level: the false-positive rate on the held-out normal rows,
whether it lies in the binomial 95 % interval of the target for that many rows,
the true-positive rate on the anomalies, and ROC AUC. For ``held-out`` and
``cv5`` also Benjamini-Hochberg selection on the conformal p-values at a
false-discovery rate of 0.1: the realised share of normal rows among those
selected (FDP) and the share of anomalies found.

Task families (normal rows split before any fit; nothing is tuned here), each
with its ``seeds`` (and ``classes``) in the declaration's ``families`` table:

- ``digits``: scikit-learn's digits, each digit normal in turn: 120 of its
  images train, the other ~60 test with as many images of the other digits
  (8x8 images, ``input_shape=(1, 8, 8)``; PuzzleAE and CRBND on digits 0, 3
  and 7 only, as they take 15 s a fit).
- ``adbench``: the small sets (at most 4,000 rows, at most 200 features) of
  the ADBench files found (``--data-home`` or ``$SKANOMALY_DATA``), as novelty
  detection: 60 % of the normal rows (at most 3,000) train, the other normal
  rows and every anomaly test, MinMax-scaled on the training rows.
- ``fashion-mnist``: protocol 2: the class's 6,000 training images train; its
  1,000 test images and a seeded draw of 111 images of each other class test.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
from scipy.stats import betabinom, binom
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold
from sklearn.preprocessing import MinMaxScaler

import skanomaly
from skanomaly.benchmarking._checkpoint import task_fingerprint
from skanomaly.benchmarking._engine import (
    _flagging_convergence_warnings,
    _preserved_global_random_state,
)
from skanomaly.calibration import (
    conformal_pvalues,
    conformal_threshold,
    select_anomalies,
)
from skanomaly.datasets import list_adbench, load_adbench, load_fashion_mnist
from skanomaly.metrics import novelty_roc_auc

KEYS = ("families", "detectors", "strategies", "max_train", "budget", "seeds")
CONTAMINATIONS = (0.01, 0.05, 0.1)
#: bumped when what a strategy's row means changes (held-out 2: the auto budget
#: counts its steps over every row passed to fit, held-out ones included)
ROW_VERSIONS = {"training": 1, "held-out": 2, "cv5": 1}
FDR = 0.1
TABULAR = ("DenoisingAE", "ARAE", "LISAE", "RobustGMMDAE")
IMAGE_ONLY = ("PuzzleAE", "CRBND")
#: the ADBench sets small enough for this benchmark (rows, features)
ADBENCH_MAX_ROWS, ADBENCH_MAX_FEATURES = 4000, 200


def digits_tasks(seed=0, classes=None):
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32) / np.float32(16.0)
    for digit in range(10) if classes is None else classes:
        rng = np.random.RandomState(seed + digit)
        normal = rng.permutation(np.flatnonzero(y == digit))
        others = rng.permutation(np.flatnonzero(y != digit))
        train, test_normal = normal[:120], normal[120:]
        yield {
            "family": "digits",
            "seed": seed,
            "task": f"digits-{digit}",
            "input_shape": (1, 8, 8),
            "X_train": X[train],
            "X_normal": X[test_normal],
            "X_anomaly": X[others[: len(test_normal)]],
            # the image-only detectors fit for 15 s on 120 digits: three digits
            "detectors": TABULAR + (IMAGE_ONLY if digit in (0, 3, 7) else ()),
            "cv": True,
        }


def adbench_tasks(folder, seed=0, classes=None):
    names = list_adbench(data_home=folder)
    if not names:
        print(f"adbench skipped: no .npz files in {folder}", file=sys.stderr)
    for name in names:
        X, y = load_adbench(name, data_home=folder, return_X_y=True)
        if len(X) > ADBENCH_MAX_ROWS or X.shape[1] > ADBENCH_MAX_FEATURES:
            continue
        rng = np.random.RandomState(seed)
        normal = rng.permutation(np.flatnonzero(y == 0))
        anomalies = np.flatnonzero(y == 1)
        n_train = min(int(0.6 * len(normal)), 3000)
        train, test_normal = normal[:n_train], normal[n_train:]
        scaler = MinMaxScaler().fit(X[train])
        yield {
            "family": "adbench",
            "seed": seed,
            "task": name,
            "input_shape": None,
            "X_train": scaler.transform(X[train]).astype(np.float32),
            "X_normal": scaler.transform(X[test_normal]).astype(np.float32),
            "X_anomaly": scaler.transform(X[anomalies]).astype(np.float32),
            "detectors": TABULAR,
            "cv": n_train <= 1000,
        }


def fashion_mnist_tasks(seed=0, classes=(0, 6, 8), per_other_class=111):
    try:
        train = load_fashion_mnist(split="train")
        test = load_fashion_mnist(split="test")
    except (OSError, FileNotFoundError) as exc:  # idx files absent
        print(f"fashion-mnist skipped: {exc}", file=sys.stderr)
        return
    for k in classes:
        rng = np.random.RandomState(seed + k)
        others = np.concatenate(
            [
                rng.choice(np.flatnonzero(test.target == c), per_other_class, False)
                for c in range(10)
                if c != k
            ]
        )
        yield {
            "family": "fashion-mnist",
            "seed": seed,
            "task": f"fashion-mnist-{k}",
            "input_shape": (1, 28, 28),
            "X_train": train.data[train.target == k],
            "X_normal": test.data[test.target == k],
            "X_anomaly": test.data[others],
            "detectors": TABULAR + IMAGE_ONLY,
            "cv": False,
        }


def make_detector(name: str, input_shape, seed=0, **params):
    """A skanomaly detector by class name, on the CPU."""
    cls = getattr(skanomaly, name)
    if input_shape is not None:
        params["input_shape"] = input_shape
    return cls(device="cpu", random_state=seed, **params)


def fit(template, X):
    start = time.perf_counter()
    with _flagging_convergence_warnings() as plateau:
        det = clone(template).fit(X)
    return det, time.perf_counter() - start, bool(plateau)


def rates(normal_scores, anomaly_scores, threshold):
    """False- and true-positive rates of flagging scores below ``threshold``."""
    return (
        float(np.mean(normal_scores < threshold)),
        float(np.mean(anomaly_scores < threshold)),
    )


def fdr_selection(calibration_scores, normal_scores, anomaly_scores):
    """Realised false-discovery proportion and power of BH at ``FDR``."""
    pvalues = conformal_pvalues(
        calibration_scores, np.concatenate([normal_scores, anomaly_scores])
    )
    selected = select_anomalies(pvalues, fdr=FDR)
    false = int(selected[: len(normal_scores)].sum())
    found = int(selected[len(normal_scores) :].sum())
    return false / max(false + found, 1), found / len(anomaly_scores)


def measure(task, name, strategy, fitted_training=None, params=None):
    """One row: fit (or reuse) and read the decisions at every level."""
    seed = task["seed"]
    template = make_detector(
        name,
        task["input_shape"],
        seed,
        calibration="training" if strategy in ("training", "cv5") else 0.2,
        **(params or {}),
    )
    X_train = task["X_train"]
    if strategy == "cv5":
        det, fit_s = fitted_training
        plateau = False
        calibration = np.empty(len(X_train))
        folds = KFold(5, shuffle=True, random_state=seed).split(X_train)
        for train_rows, held_rows in folds:
            fold, seconds, fold_plateau = fit(template, X_train[train_rows])
            calibration[held_rows] = fold.score_samples(X_train[held_rows])
            fit_s += seconds
            plateau |= fold_plateau
    else:
        det, fit_s, plateau = fit(template, X_train)
        calibration = det.calibration_scores_
    normal = det.score_samples(task["X_normal"])
    anomaly = det.score_samples(task["X_anomaly"])
    n_normal = len(normal)
    row = {
        "family": task["family"],
        "task": task["task"],
        "seed": seed,
        "detector": name,
        "strategy": strategy,
        "version": ROW_VERSIONS[strategy],
        "n_train": int(len(X_train)),
        "n_calibration": int(len(calibration)),
        "n_normal_test": n_normal,
        "n_anomaly_test": int(len(anomaly)),
        "fit_s": round(fit_s, 2),
        "plateau": plateau,
        "roc_auc": novelty_roc_auc(
            np.r_[np.zeros(n_normal), np.ones(len(anomaly))], -np.r_[normal, anomaly]
        ),
    }
    for c in CONTAMINATIONS:
        if strategy == "cv5":
            threshold = conformal_threshold(calibration, c)
        else:
            threshold = det.set_params(contamination=c).offset_
        fpr, tpr = rates(normal, anomaly, threshold)
        low, high = binom.interval(0.95, n_normal, c)
        row[f"fpr@{c}"] = fpr
        row[f"tpr@{c}"] = tpr
        row[f"within@{c}"] = bool(low / n_normal <= fpr <= high / n_normal)
        row[f"above@{c}"] = bool(fpr > high / n_normal)
    if strategy != "training":
        row["fdp"], row["fdr_power"] = fdr_selection(calibration, normal, anomaly)
    return row, (det, fit_s)


def within_calibration_aware(row, c) -> bool:
    """Whether the realised count of flagged normal rows lies in the 95 %
    interval that the conformal threshold itself predicts.

    With ``n`` calibration rows and ``k = floor(c (n + 1))``, the false-positive
    rate of a split-conformal threshold, given its calibration draw, follows
    Beta(k, n + 1 - k); the flagged count of ``m`` test rows is then
    beta-binomial. The binomial interval of the target ignores the calibration
    draw, and is too narrow when the test set is not small next to it.
    """
    n_calibration, m = row["n_calibration"], row["n_normal_test"]
    count = round(row[f"fpr@{c}"] * m)
    k = math.floor(c * (n_calibration + 1) + 1e-9)
    if k == 0:
        return count == 0
    low, high = betabinom.interval(0.95, m, k, n_calibration + 1 - k)
    return bool(low <= count <= high)


def calibration_aware(rows) -> float:
    """Share of (fit, level) cases in their calibration-aware interval."""
    return float(
        np.mean([within_calibration_aware(r, c) for r in rows for c in CONTAMINATIONS])
    )


def auc_cost_table(rows) -> list[str]:
    """The AUC of the held-out fit minus that of the training fit of the same
    task, detector and seed: mean and median per family and seed."""
    by_key = {
        (r["task"], r["detector"], r.get("seed", 0), r["strategy"]): r for r in rows
    }
    diffs = {}
    for (task, name, seed, strategy), row in by_key.items():
        other = by_key.get((task, name, seed, "training"))
        if strategy == "held-out" and other is not None:
            key = (row["family"], seed)
            diffs.setdefault(key, []).append(row["roc_auc"] - other["roc_auc"])
    lines = [
        "",
        "## What holding out costs: AUC of `held-out` minus `training`",
        "",
        "Same task, detector and seed; the networks of `held-out` train on 80 % "
        "of the rows, for the same number of optimiser steps.",
        "",
        "| family | seed | fits | mean | median | min | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (family, seed), values in sorted(diffs.items()):
        values = np.asarray(values)
        lines.append(
            f"| {family} | {seed} | {len(values)} | {values.mean():+.4f} | "
            f"{np.median(values):+.4f} | {values.min():+.3f} | {values.max():+.3f} |"
        )
    return lines


def summarise(rows):
    """Markdown tables: per family and strategy, per detector, and every row."""
    lines = []
    families = list(dict.fromkeys(r["family"] for r in rows))
    strategies = ["training", "held-out", "cv5"]
    head = "| family | strategy | cases | " + " | ".join(
        f"FPR@{c} (within / above)" for c in CONTAMINATIONS
    )
    lines += [
        "## Realised false-positive rate on held-out normal rows",
        "",
        "Mean realised FPR over the fits, the share of fits whose FPR lies in the "
        "binomial 95 % interval of the target for that many normal test rows, "
        "and the share above it. The last column: the share of (fit, level) "
        "cases in the 95 % interval the conformal threshold predicts for its "
        "number of calibration rows (beta-binomial; `cv5` taken as if its "
        "out-of-fold scores were held out).",
        "",
        head + " | mean TPR@0.1 | mean AUC | FDP@0.1 (power) | calibration-aware |",
        "|---|---|---:|" + "---:|" * len(CONTAMINATIONS) + "---:|---:|---:|---:|",
    ]
    for family in [*families, "all"]:
        for strategy in strategies:
            sel = [
                r
                for r in rows
                if r["strategy"] == strategy and family in ("all", r["family"])
            ]
            if not sel:
                continue
            cells = []
            for c in CONTAMINATIONS:
                fpr = np.mean([r[f"fpr@{c}"] for r in sel])
                within = np.mean([r[f"within@{c}"] for r in sel])
                above = np.mean([r[f"above@{c}"] for r in sel])
                cells.append(f"{fpr:.3f} ({within:.0%} / {above:.0%})")
            fdp = (
                f"{np.mean([r['fdp'] for r in sel]):.3f} "
                f"({np.mean([r['fdr_power'] for r in sel]):.2f})"
                if "fdp" in sel[0]
                else "-"
            )
            lines.append(
                f"| {family} | {strategy} | {len(sel)} | "
                + " | ".join(cells)
                + f" | {np.mean([r['tpr@0.1'] for r in sel]):.3f}"
                + f" | {np.mean([r['roc_auc'] for r in sel]):.4f} | {fdp} | "
                + ("-" if strategy == "training" else f"{calibration_aware(sel):.0%}")
                + " |"
            )
    lines += auc_cost_table(rows)
    lines += [
        "",
        "## By detector (default `held-out` against `training`)",
        "",
        "| detector | strategy | cases | "
        + " | ".join(f"FPR@{c}" for c in CONTAMINATIONS)
        + " | within, all levels | above, all levels | mean AUC |",
        "|---|---|---:|" + "---:|" * len(CONTAMINATIONS) + "---:|---:|---:|",
    ]
    for name in dict.fromkeys(r["detector"] for r in rows):
        for strategy in strategies:
            sel = [
                r for r in rows if r["detector"] == name and r["strategy"] == strategy
            ]
            if not sel:
                continue
            within = np.mean([r[f"within@{c}"] for r in sel for c in CONTAMINATIONS])
            above = np.mean([r[f"above@{c}"] for r in sel for c in CONTAMINATIONS])
            lines.append(
                f"| {name} | {strategy} | {len(sel)} | "
                + " | ".join(
                    f"{np.mean([r[f'fpr@{c}'] for r in sel]):.3f}"
                    for c in CONTAMINATIONS
                )
                + f" | {within:.0%} | {above:.0%}"
                + f" | {np.mean([r['roc_auc'] for r in sel]):.4f} |"
            )
    lines += [
        "",
        "## Every fit",
        "",
        "| task | detector | strategy | train / calib. / normal test | fit s | AUC | "
        + " | ".join(f"FPR@{c}" for c in CONTAMINATIONS)
        + " | TPR@0.1 | FDP | plateau |",
        "|---|---|---|---|---:|---:|"
        + "---:|" * len(CONTAMINATIONS)
        + "---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['detector']} | {r['strategy']} | "
            f"{r['n_train']} / {r['n_calibration']} / {r['n_normal_test']} | "
            f"{r['fit_s']:.1f} | {r['roc_auc']:.4f} | "
            + " | ".join(
                f"{r[f'fpr@{c}']:.3f}{'' if r[f'within@{c}'] else '*'}"
                for c in CONTAMINATIONS
            )
            + f" | {r['tpr@0.1']:.3f} | "
            + (f"{r['fdp']:.3f}" if "fdp" in r else "-")
            + f" | {'yes' if r['plateau'] else ''} |"
        )
    lines += ["", "`*`: outside the binomial 95 % interval of the target."]
    return "\n".join(lines)


TASKS = {
    "digits": digits_tasks,
    "adbench": adbench_tasks,
    "fashion-mnist": fashion_mnist_tasks,
}
STRATEGIES = ("training", "held-out", "cv5")


def _tasks(experiment, context):
    for family, spec in experiment.get("families").items():
        for seed in spec.get("seeds", [0]):
            kwargs = {"seed": seed}
            if "classes" in spec:
                kwargs["classes"] = spec["classes"]
            if family == "adbench":
                kwargs["folder"] = context.data_home
            try:
                yield from TASKS[family](**kwargs)
            except (OSError, FileNotFoundError) as exc:  # data files absent
                context.log(f"[{experiment.name}] {family} skipped: {exc}")


def run(experiment, context):
    """Fit every detector of every task under each strategy; reuse the
    checkpoint's rows (``cv5`` reuses the ``training`` fit)."""
    checkpoint = context.checkpoint
    params = {"max_epochs": experiment.get("budget")} if experiment.smoke else {}
    wanted = experiment.get("detectors")
    rows = []
    for task in _tasks(experiment, context):
        if experiment.get("max_train"):
            task["X_train"] = task["X_train"][: experiment.get("max_train")]
        for name in task["detectors"]:
            if wanted and name not in wanted:
                continue
            strategies = ["training", "held-out"] + (["cv5"] if task["cv"] else [])
            strategies = [
                s for s in strategies if s in experiment.get("strategies", STRATEGIES)
            ]
            keys = {
                strategy: task_fingerprint(
                    {
                        "task": task["task"],
                        "detector": name,
                        "strategy": strategy,
                        "seed": task["seed"],
                        "version": ROW_VERSIONS[strategy],
                        **({"smoke": params} if params else {}),
                    }
                )
                for strategy in strategies
            }
            # cv5 reuses the training fit: refit it when cv5 is missing
            need_model = "cv5" in keys and keys["cv5"] not in checkpoint.rows
            fitted = None
            for strategy in strategies:
                key = keys[strategy]
                if key in checkpoint.rows and not (
                    strategy == "training" and need_model
                ):
                    rows.append(checkpoint.rows[key])
                    continue
                with _preserved_global_random_state("cpu"):
                    row, fitted_now = measure(task, name, strategy, fitted, params)
                if strategy == "training":
                    fitted = fitted_now
                if key in checkpoint.rows:
                    rows.append(checkpoint.rows[key])
                    continue
                checkpoint.append(key, row)
                rows.append(row)
                context.log(
                    f"{row['task']:>24} {name:>13} {strategy:>9} "
                    f"AUC {row['roc_auc']:.3f} FPR@0.1 {row['fpr@0.1']:.3f} "
                    f"({row['fit_s']:.1f} s)"
                )
    return rows


def report(experiment, rows, metadata):
    """The tables of :func:`summarise` and the run's settings."""
    from benchmarks.suite.tables import settings_line

    seeds = {
        family: spec.get("seeds", [0])
        for family, spec in experiment.get("families").items()
    }
    return (
        f"Seeds by family: {seeds}; every detector at its defaults on the CPU.\n\n"
        + summarise(rows)
        + "\n\n"
        + settings_line(metadata)
    )
