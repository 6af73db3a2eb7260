"""AUC against minutes of fit: the fast recipe (defaults) and the paper configuration.

Fashion-MNIST, protocol 2 (the official training images of one class train;
the whole official test set tests, anomalies positive), classes 0, 6 and 8,
seed 0. Each (detector, configuration, class) trains once, for the largest
budget; at the end of the first epoch past each mark (``--minutes``, fit
seconds of the training loop, the clock paused while measuring) the current
network is scored on the test set with the configuration's score (the
defaults: ``anomaly_score="auto"``, NAP on these images, its statistics taken
from the training images at that moment; the paper: the sum of squared
errors). With a constant learning rate and no schedule (both
configurations), the network at a mark is the one a run stopped there would
have trained. Nothing is selected on these numbers.

Run (resumable: finished rows are skipped; about 6 minutes per row)::

    python benchmarks/bench_budget_curve.py --threads 1

PuzzleAE's paper configuration scores 23 permutations with a U-Net of width
64, about 0.19 s per test image on one core: its rows score every normal test
image and 111 of each anomaly class (``--anomalies-per-class 111``, about 35
minutes per row instead of about 110), and ``--score-threads`` may give the
scoring more threads than the timed training::

    python benchmarks/bench_budget_curve.py --detectors puzzle-ae \
        --configs paper --threads 1 --anomalies-per-class 111

Writes ``results/budget_curve.md``, ``.json`` and the checkpoint ``.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from skanomaly import ARAE, DenoisingAE, PuzzleAE
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist
from skanomaly.nets.pathway import NAPScore, PathwayMoments, pathway_differences
from skanomaly.utils import torch_threads

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# the per-stage step timer of the paper-cost script
from bench_paper_cost import StageTimer  # noqa: E402

DETECTORS = {"denoising-ae": DenoisingAE, "arae": ARAE}
IMAGE_SHAPE = (1, 28, 28)
#: how the committed rows were run (the report repeats it)
RUN_NOTES = (
    "Rows from several invocations of the script, all with `--threads 1` while "
    "another benchmark (or the test suite) used the other core, so a minute "
    "here is a minute of one shared core: `--detectors arae` (the paper rows), "
    "the same for the fast rows after the NAP covariance became OAS-shrunk "
    "(the first fast rows, with RaPP's truncated NAP, were discarded), "
    "`--detectors denoising-ae --configs fast`, `--detectors denoising-ae "
    "--configs paper`, `--detectors puzzle-ae --configs paper-cost --classes 0` "
    "(the cost table; run as `--configs paper` before that name was split off) "
    "and `--detectors puzzle-ae --configs fast`. PuzzleAE's paper curve: "
    "`--detectors puzzle-ae --configs paper --threads 1 --anomalies-per-class "
    "111` for classes 0 and 6 at once (one process per core), then for class 8 "
    "alone with `--score-threads 2` (its training still on one thread, the "
    "other core idle while it trained). Then `--report-only` wrote this file."
)
#: enough epochs that the clock, not the epoch count, ends every run
MANY_EPOCHS = 100_000


@torch.no_grad()
def auc_on_test(module, score, X_train, X_test, y_test, batch=1024):
    """ROC AUC of ``module`` on the test set with ``score`` ("nap" or
    "reconstruction")."""
    was_training = module.training
    module.eval()
    try:

        def chunks(X):
            return (torch.as_tensor(X[i : i + batch]) for i in range(0, len(X), batch))

        if score == "nap":
            moments = PathwayMoments()
            for xb in chunks(X_train):
                moments.update(pathway_differences(module, xb))
            scorer = NAPScore(module, moments.whitening())
        else:
            scorer = lambda x: ((module(x) - x) ** 2).sum(dim=1)  # noqa: E731
        scores = np.concatenate([scorer(xb).double().numpy() for xb in chunks(X_test)])
    finally:
        module.train(was_training)
    return roc_auc_score(y_test, scores)


class MarksReached(Exception):
    """Raised by a :class:`Clock` after its last mark to end ``fit`` at once."""


class Clock(Callback):
    """Scores the network at each mark of training time; stops after the last.

    ``stop`` is raised after the last mark: ``KeyboardInterrupt`` ends the
    training loop and lets ``fit`` finish (skorch catches it);
    :class:`MarksReached` skips what ``fit`` does after training (for
    PuzzleAE, minutes of scoring the training images for ``offset_``).
    """

    def __init__(self, marks_s, evaluate, stop=KeyboardInterrupt):
        self.marks_s = sorted(marks_s)
        self.evaluate = evaluate
        self.stop = stop

    def on_train_begin(self, net, **kwargs):
        self.elapsed = 0.0
        self.started = time.perf_counter()
        self.pending = list(self.marks_s)
        self.points = []

    def on_epoch_end(self, net, **kwargs):
        self.elapsed += time.perf_counter() - self.started
        self._check(net, len(net.history))
        self.started = time.perf_counter()

    def _check(self, net, epochs):
        """Score the network if the clock has passed the next mark."""
        if self.pending and self.elapsed >= self.pending[0]:
            while self.pending and self.elapsed >= self.pending[0]:
                self.pending.pop(0)
            auc = self.evaluate(net.module_)
            self.points.append(
                {"fit_s": round(self.elapsed, 1), "epochs": epochs, "auc": auc}
            )
            if not self.pending:
                raise self.stop


class BatchClock(Clock):
    """A :class:`Clock` that counts the seconds of the training batches and
    checks the marks after each one, for networks whose epochs are longer than
    the marks; its points' ``epochs`` are fractional (batches done over
    batches per epoch)."""

    def on_train_begin(self, net, X=None, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.batches = 0
        self.batches_per_epoch = -(-len(X) // net.batch_size)

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.started = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.elapsed += time.perf_counter() - self.started
            self.batches += 1
            self._check(net, round(self.batches / self.batches_per_epoch, 3))

    def on_epoch_end(self, net, **kwargs):
        pass


class ClockedPuzzleAE(PuzzleAE):
    """PuzzleAE that keeps its training context, so that the network at a mark
    can be given its score statistics and score the test set."""

    def _train_stage(self, ctx, stage, X, y=None, **kwargs):
        self.clock_context_ = (ctx, X)
        return super()._train_stage(ctx, stage, X, y, **kwargs)


def stratified_test_rows(y_test_labels, normal_class, anomalies_per_class, seed):
    """Indices of a stratified part of the test set (``--anomalies-per-class``):
    every image of ``normal_class`` and ``anomalies_per_class`` drawn at random
    (``seed``) from each other class, in test-set order. Every anomaly class
    keeps the same share as in the whole test set, so the AUC on the part is an
    unbiased estimate of the AUC on the whole."""
    rng = np.random.RandomState(seed)
    keep = [np.flatnonzero(y_test_labels == normal_class)]
    for label in np.unique(y_test_labels):
        if label != normal_class:
            rows = np.flatnonzero(y_test_labels == label)
            if anomalies_per_class > len(rows):
                raise ValueError(
                    f"anomalies_per_class={anomalies_per_class} exceeds the "
                    f"{len(rows)} test images of class {label}"
                )
            keep.append(rng.choice(rows, anomalies_per_class, replace=False))
    return np.sort(np.concatenate(keep))


def puzzle_auc_on_test(det, X_test, y_test):
    """ROC AUC of PuzzleAE's default score on the test set, for the network as
    trained so far: the score statistics (feature whitening, held-out errors)
    are fitted as at the end of ``fit``, then the test images scored."""
    ctx, X_train = det.clock_context_
    det._fit_score_statistics(ctx, X_train)
    rows = det._validated_rows(X_test, name="X", reset=False)
    scores = det._anomaly_scores(det._to_net_input(det.scaler_.transform(rows)))
    return roc_auc_score(y_test, scores)


def run_puzzle(marks_s, seed, X_train, X_test, y_test, paper=False, score_threads=None):
    """PuzzleAE's defaults (marks checked at epoch ends) or its paper
    configuration (checked after every batch: its first epoch outlasts the
    first marks), scored at each mark with the configuration's score, with
    ``score_threads`` torch threads (the clock is paused meanwhile)."""
    params = PuzzleAE.paper_params("fashion-mnist") if paper else {}

    def evaluate(module):
        with torch_threads(score_threads) if score_threads else nullcontext():
            return puzzle_auc_on_test(det, X_test, y_test)

    clock = (BatchClock if paper else Clock)(marks_s, evaluate, stop=MarksReached)
    det = ClockedPuzzleAE(
        **{**params, "max_epochs": MANY_EPOCHS},
        callbacks=[("clock", clock)],
        input_shape=IMAGE_SHAPE,
        random_state=seed,
        device="cpu",
    )
    try:
        det.fit(X_train)
    except MarksReached:
        pass
    return clock.points


def puzzle_paper_throughput(marks_s, seed, X_train, X_test, n_batches=12):
    """The cost of PuzzleAE's paper configuration (``--configs paper-cost``),
    whose curve takes hours to score on a CPU: seconds per training batch (the
    median of ``n_batches`` after the first), the epochs that fit in each
    mark, and seconds per scored test image (64 images, the paper score)."""
    params = PuzzleAE.paper_params("fashion-mnist")
    timer = StageTimer(n_batches + 1)
    det = PuzzleAE(
        **{**params, "max_epochs": 1},
        callbacks=[("timer", timer)],
        input_shape=IMAGE_SHAPE,
        random_state=seed,
        device="cpu",
    )
    # enough rows for the batches; the held-out 15 % are scored after training
    n_rows = int(np.ceil((n_batches + 2) * params["batch_size"] / 0.85))
    det.fit(X_train[:n_rows])
    per_batch = float(np.median(timer.stages["train"]["seconds"][1:]))
    per_epoch = per_batch * np.ceil(0.85 * len(X_train) / params["batch_size"])
    started = time.perf_counter()
    det.score_samples(X_test[:64])
    per_image = (time.perf_counter() - started) / 64
    return {
        "s_per_batch": round(per_batch, 3),
        "s_per_epoch": round(per_epoch, 1),
        "epochs_at_marks": [round(m / per_epoch, 3) for m in marks_s],
        "paper_epochs": params["max_epochs"],
        "s_per_test_image": round(per_image, 3),
        "s_to_score_test_set": round(per_image * len(X_test)),
    }


def run_one(
    name, config, k, marks_s, seed, data, anomalies_per_class=None, score_threads=None
):
    X_train_all, y_train_all, X_test, y_test_labels = data
    X_train = X_train_all[y_train_all == k]
    if name == "puzzle-ae" and config == "paper-cost":  # the whole test set's cost
        return puzzle_paper_throughput(marks_s, seed, X_train, X_test)
    if anomalies_per_class is not None:
        keep = stratified_test_rows(y_test_labels, k, anomalies_per_class, seed)
        X_test, y_test_labels = X_test[keep], y_test_labels[keep]
    y_test = (y_test_labels != k).astype(int)
    if name == "puzzle-ae":
        paper = config == "paper"
        return run_puzzle(
            marks_s,
            seed,
            X_train,
            X_test,
            y_test,
            paper=paper,
            score_threads=score_threads,
        )
    cls = DETECTORS[name]
    params = {} if config == "fast" else cls.paper_params("fashion-mnist")
    params = {**params, "max_epochs": MANY_EPOCHS}
    det = cls(**params, random_state=seed, device="cpu")
    score = "nap" if config == "fast" else "reconstruction"
    clock = Clock(
        marks_s, lambda module: auc_on_test(module, score, X_train, X_test, y_test)
    )
    det._callbacks = lambda ctx: [("clock", clock)]
    det.fit(X_train)
    assert det._resolved_anomaly_score() == score
    return clock.points


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--detectors", nargs="+", default=["arae", "denoising-ae", "puzzle-ae"]
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["fast", "paper"],
        help="fast, paper, or paper-cost (PuzzleAE: the paper configuration's "
        "cost, not its curve)",
    )
    parser.add_argument("--classes", type=int, nargs="+", default=[0, 6, 8])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 2, 6])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--score-threads",
        type=int,
        default=None,
        help="PuzzleAE: torch threads while scoring at a mark (the clock is "
        "paused then); default: --threads",
    )
    parser.add_argument(
        "--anomalies-per-class",
        type=int,
        default=None,
        help="score every normal test image and this many drawn at random "
        "(--seed) from each anomaly class instead of the whole test set "
        "(for configurations too slow to score it at every mark)",
    )
    parser.add_argument("--output", default=str(HERE / "results" / "budget_curve"))
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report from the checkpoint's rows; run nothing",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.output)
    checkpoint = out.with_suffix(".jsonl")
    done = {}
    if checkpoint.exists():
        for line in checkpoint.read_text().splitlines():
            row = json.loads(line)
            done[(row["detector"], row["config"], row["class"])] = row
    if args.report_only:
        write(list(done.values()), args, out)
        return
    X_train, y_train = load_fashion_mnist(split="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(split="test", return_X_y=True)
    data = (X_train, y_train, X_test, y_test)
    marks_s = [60.0 * m for m in args.minutes]
    for name in args.detectors:
        for config in args.configs:
            for k in args.classes:
                if (name, config, k) in done:
                    continue
                result = run_one(
                    name,
                    config,
                    k,
                    marks_s,
                    args.seed,
                    data,
                    anomalies_per_class=args.anomalies_per_class,
                    score_threads=args.score_threads,
                )
                row = {"detector": name, "config": config, "class": k}
                if isinstance(result, dict):  # a cost measurement, not a curve
                    row["cost"] = result
                else:
                    if args.anomalies_per_class is not None:
                        row["anomalies_per_class"] = args.anomalies_per_class
                    row["points"] = result
                done[(name, config, k)] = row
                with checkpoint.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    write(list(done.values()), args, out)


def subsample_standard_error(auc, n_drawn, n_total):
    """Standard error of the AUC from ``n_drawn`` of ``n_total`` anomalies
    drawn at random, the normal images all kept: the variance of an anomaly's
    placement among the normals, ``Q2 - AUC**2`` in Hanley and McNeil's (1982)
    approximation, over ``n_drawn``, with the finite-population correction."""
    q2 = 2.0 * auc**2 / (1.0 + auc)
    variance = max(q2 - auc**2, 0.0) / n_drawn * (1.0 - n_drawn / n_total)
    return float(np.sqrt(variance))


def write(rows, args, out):
    env = environment_info()
    out.with_suffix(".json").write_text(
        json.dumps({"environment": env, "args": vars(args), "rows": rows}, indent=1)
    )
    lines = [
        "# AUC against minutes of fit: fast recipe and paper configuration",
        "",
        "Written by `benchmarks/bench_budget_curve.py`. Fashion-MNIST protocol 2, "
        f"seed {args.seed}, CPU. Each cell: test ROC AUC of the network after the "
        "first epoch past the mark (PuzzleAE's paper configuration, whose "
        "epochs outlast the marks: the first batch), with the fit seconds and "
        "epochs actually reached; 'fast' is the defaults (NAP score for the "
        "MLPs; PuzzleAE's puzzle+features), 'paper' is "
        "`paper_params('fashion-mnist')` (the squared error for the MLPs; "
        "PuzzleAE's normalised puzzle errors, max over the 23 puzzles). "
        "PuzzleAE's score statistics are fitted for the network at the mark.",
        "",
        RUN_NOTES,
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in env.items()]
    header = " | ".join(f"{m:g} min" for m in args.minutes)
    lines += [
        "",
        f"| detector | config | class | {header} |",
        "|---|---|---:|" + "---|" * len(args.minutes),
    ]
    curves = [r for r in rows if "points" in r]
    costs = [r for r in rows if "cost" in r]
    for row in sorted(curves, key=lambda r: (r["detector"], r["config"], r["class"])):
        cells = [
            f"{p['auc']:.4f} ({p['fit_s']:.0f} s, {p['epochs']} ep)"
            for p in row["points"]
        ]
        part = "anomalies_per_class" in row
        lines.append(
            f"| {row['detector']} | {row['config']} | {row['class']}{'*' if part else ''} | "
            + " | ".join(cells)
            + " |"
        )
    means = []
    for name in dict.fromkeys(r["detector"] for r in curves):
        for config in dict.fromkeys(r["config"] for r in curves):
            group = [
                r for r in curves if r["detector"] == name and r["config"] == config
            ]
            if group and all(len(r["points"]) == len(args.minutes) for r in group):
                mean = np.mean([[p["auc"] for p in r["points"]] for r in group], axis=0)
                means.append(
                    f"| {name} | {config} | mean of {len(group)} | "
                    + " | ".join(f"{m:.4f}" for m in mean)
                    + " |"
                )
    lines += means
    parts = sorted(
        {r["anomalies_per_class"] for r in curves if "anomalies_per_class" in r}
    )
    if parts:
        worst = max(
            subsample_standard_error(p["auc"], 9 * r["anomalies_per_class"], 9000)
            for r in curves
            if "anomalies_per_class" in r
            for p in r["points"]
        )
        lines += [
            "",
            "\\* scored on part of the test set (`--anomalies-per-class "
            + ", ".join(map(str, parts))
            + "`): every normal image and that many drawn at random (the seed) "
            "from each of the 9 anomaly classes, an unbiased estimate of the "
            "whole test set's AUC; the draw's standard error is at most "
            f"{worst:.4f} (Hanley and McNeil's approximation).",
        ]
    if costs:
        lines += [
            "",
            "The cost of configurations too slow to score the whole test set "
            "at every mark on this machine (`--configs paper-cost`: seconds "
            "per training batch, the median of 12; the epochs that fit in "
            "each mark; seconds to score the 10,000 test images, from 64 of "
            "them).",
            "",
            f"| detector | config | class | s per batch | s per epoch | "
            f"epochs in {header.replace(' | ', ' / ')} | paper epochs | "
            "s to score the test set |",
            "|---|---|---:|---:|---:|---|---:|---:|",
        ]
        for row in costs:
            cost = row["cost"]
            epochs = " / ".join(f"{e:.2f}" for e in cost["epochs_at_marks"])
            lines.append(
                f"| {row['detector']} | {row['config']} | {row['class']} | "
                f"{cost['s_per_batch']:.2f} | {cost['s_per_epoch']:.0f} | "
                f"{epochs} | {cost['paper_epochs']} | "
                f"{cost['s_to_score_test_set']} |"
            )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
