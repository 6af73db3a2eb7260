"""Speed: the wrapper's overhead, the share of the machine's peak, and costs.

Four sections, each measured whole in one run, so that every ratio compares
two timings taken minutes apart on the same machine:

- ``overhead``: seconds per epoch of ``DenoisingAE`` and ``ARAE`` (their
  defaults, ``max_epochs=epochs``) against a plain torch loop that trains the
  same network (widths, activations, fused Adam, batch size, noise or PGD
  step) on as many rows as the detector trains on (the rows it does not hold
  out for calibration); the best of two fits after a warm-up. The same
  section measures the machine's float32 matmul rate (``torch.mm`` of
  2048 x 2048 matrices) and the share of it that training and scoring reach
  (the network's FLOPs per row: 2 per multiply-add; a training step counted as
  three forward passes, ARAE's PGD passes added). Scoring is timed with the
  default score and with NAP alone (``anomaly_score="nap"``, the same fit).
- ``pyod``: ``DenoisingAE`` against PyOD's ``AutoEncoder``, each with its
  defaults for ``epochs`` epochs: whole fit divided by the epochs.
- ``paper-cost``: for each detector, its defaults and its paper configuration
  (``paper_params("fashion-mnist")``, else ``"mnist"``: CRBND) fit
  ``cost_rows`` images with every training stage cut after ``cost_steps``
  optimiser steps (a skorch callback through the documented ``_callbacks``
  hook ends the stage). Per stage: the median seconds of the steps after the
  first, the steps the whole configuration trains (its epochs times the
  stage's steps per epoch), and their product, the estimated stage time.
  Training steps only; no scoring pass is counted.
- ``small-fit``: each detector's default ``fit`` of ``small_rows`` images and
  ``score_samples`` of the same rows, timed whole after a one-epoch warm-up
  fit of every detector on 64 of the images, and its ratio to
  ``DenoisingAE``'s in the same run (issue 25 asks PuzzleAE and CRBND to be
  within 4x of DenoisingAE on 500 images).

Data (``data``): ``"fashion-mnist"`` takes the training images of class 0
(784 pixels; the rest of the training split when more rows are asked for);
when the files are absent, or for ``"uniform"``, seeded uniform rows in
[0, 1] stand in (timings do not depend on the pixel values; each row records
which data it used). Images are square, ``(1, s, s)`` with ``s * s =
n_features``; the image-only detectors are skipped otherwise.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.suite.tables import fmt, markdown_table, settings_line
from skanomaly.benchmarking._checkpoint import task_fingerprint
from skanomaly.detectors._neighbours import KNN_SUFFIX

KEYS = (
    "data",
    "n_rows",
    "n_features",
    "epochs",
    "small_rows",
    "cost_rows",
    "cost_steps",
    "detectors",
    "seeds",
    "budget",
)
SECTIONS = ("overhead", "pyod", "paper-cost", "small-fit")
#: bumped when what a section's rows mean changes
VERSION = 1
#: per section, where it differs from VERSION (overhead 6: the scoring share
#: counts a score's whole work, the latent-neighbour term's included, on a warm
#: fitted module, best of seven, for the default score and NAP alone, and the
#: float32 NAP's difference from float64 products; small-fit 3: the
#: small-data budgets of PuzzleAE and CRBND, then PuzzleAE's small batches,
#: then a warm-up fit of each detector before the timed ones)
SECTION_VERSIONS = {"overhead": 6, "small-fit": 4}
IMAGE_ONLY = ("PuzzleAE", "CRBND")


# ------------------------------------------------------------------ data
def load_rows(experiment, context, n):
    """``(X, source)``: ``n`` rows of ``n_features`` float32 values in [0, 1]."""
    n_features = int(experiment.get("n_features", 784))
    if experiment.get("data", "fashion-mnist") == "fashion-mnist" and n_features == 784:
        from skanomaly.benchmarking import load_benchmark_data

        try:
            data = load_benchmark_data("fashion-mnist", data_home=context.data_home)
        except (OSError, FileNotFoundError) as exc:
            context.log(f"[speed] Fashion-MNIST absent ({exc}): uniform rows instead")
        else:
            order = np.r_[np.flatnonzero(data.y == 0), np.flatnonzero(data.y != 0)]
            return np.ascontiguousarray(data.X[order[:n]], dtype=np.float32), (
                "fashion-mnist class 0" if n <= np.sum(data.y == 0) else "fashion-mnist"
            )
    rng = np.random.RandomState(0)
    return rng.random_sample((n, n_features)).astype(np.float32), "uniform"


def image_shape(n_features):
    side = math.isqrt(n_features)
    return (1, side, side) if side * side == n_features else None


def make(name, *, seed=0, **params):
    import skanomaly

    return getattr(skanomaly, name)(device="cpu", random_state=seed, **params)


def timed_fit(detector, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits: plateau and calibration warnings
        detector.fit(X)
    return time.perf_counter() - start


# ------------------------------------------------------------ overhead
def matmul_gflops(size=2048, repeats=10):
    a, b = torch.rand(size, size), torch.rand(size, size)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def mlp_flops_per_row(n_features, hidden_dims):
    dims = [n_features, *hidden_dims]
    macs = sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))
    return 2 * 2 * macs  # encoder and decoder, 2 FLOPs per multiply-add


def score_flops_per_row(det):
    """FLOPs of one row's score: the autoencoder's forward pass; with NAP the
    encoder's pass over the reconstruction and each layer's whitening product
    (a matrix, or a per-feature scale); with the latent-neighbour term
    (``"+knn"``) its own encoder pass and the distances to the training
    codes."""
    forward = mlp_flops_per_row(det.n_features_in_, det.hidden_dims)
    name = det._resolved_anomaly_score()
    flops = forward
    if name.removesuffix(KNN_SUFFIX) == "nap":
        flops += forward // 2  # the encoder again, on the reconstruction
        for _, projection in det.pathway_whitening_:
            p, k = projection.shape[0], projection.shape[-1]
            flops += 2 * p * k if projection.ndim == 2 else 2 * p
    if name.endswith(KNN_SUFFIX):
        n_codes, code_dim = det.latent_codes_.shape
        flops += forward // 2 + 2 * n_codes * code_dim
    return flops


def best_score_seconds(det, X, repeats=7):
    """``(seconds, scores)``: the best of ``repeats`` ``score_samples`` passes
    over ``X``, after a warm-up that builds the fitted module."""
    det.score_samples(X[:256])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scores = det.score_samples(X)
        times.append(time.perf_counter() - start)
    return min(times), scores


def percent(share):
    """``56 %``, or ``–`` for a missing value."""
    return "–" if share is None else f"{100 * share:.0f} %"


def scientific(value):
    """``1.9e-07``, or ``–`` for a missing value."""
    return "–" if value is None else f"{value:.1e}"


def nap_float32_error(det, X, anomaly_scores):
    """Largest relative difference of the detector's NAP scores (float32
    whitening products) from the same score with float64 products; None for
    another score."""
    if det._resolved_anomaly_score() != "nap":
        return None
    from skanomaly.scores import NAPScore

    exact = NAPScore(
        det.net_.module_, det.pathway_whitening_, matmul_dtype=torch.float64
    )
    reference = det._map_batches(
        det._prepare_input(X),
        lambda xb: exact(xb).double(),
        np.float64,
        modules=[exact],
    )
    return float(np.max(np.abs(anomaly_scores - reference) / np.abs(reference)))


def plain_epoch_seconds(X, det, epochs, seed=0):
    """Seconds per epoch of a plain torch loop with ``det``'s network and step."""
    from skanomaly import ARAE
    from skanomaly.attacks import pgd
    from skanomaly.losses import arae_loss, squared_error_mean
    from skanomaly.nets import MLPAutoencoder
    from skanomaly.nets.mlp import ACTIVATIONS
    from skanomaly.utils._torch import flush_denormal_context

    torch.manual_seed(seed)
    net = MLPAutoencoder(
        X.shape[1], det.hidden_dims, act_layer=ACTIVATIONS[det.activation]
    )
    opt = torch.optim.Adam(net.parameters(), lr=det.lr, fused=True)
    data = torch.as_tensor(X)
    generator = torch.Generator().manual_seed(seed)
    adversarial = isinstance(det, ARAE)
    with flush_denormal_context():
        start = time.perf_counter()
        for _ in range(epochs):
            for idx in torch.randperm(len(data), generator=generator).split(
                det.batch_size_
            ):
                x = data.index_select(0, idx)
                if adversarial:
                    with torch.no_grad():
                        z = net.encode(x)
                    x_adv = pgd(
                        lambda v, z=z: squared_error_mean(net.encode(v), z),
                        x,
                        epsilon=det.epsilon,
                        steps=det.pgd_steps,
                        step_size=None
                        if det.step_size is None
                        else det.step_size * det.epsilon,
                        clip=(0.0, 1.0),
                        module=net,
                    )
                    loss = arae_loss(net, x, x_adv, det.gamma).mean()
                else:
                    noisy = x + det.noise_scale * torch.rand_like(x)
                    loss = F.mse_loss(net(noisy), x)
                opt.zero_grad()
                loss.backward()
                opt.step()
        return (time.perf_counter() - start) / epochs


def measure_overhead(X, source, epochs, repeats=2, matmul_size=2048, score_repeats=7):
    peak = matmul_gflops(matmul_size)
    warm = make("DenoisingAE", max_epochs=1)
    timed_fit(warm, X[:512])
    plain_epoch_seconds(X[:512], warm, 1)
    rows = []
    for name in ("DenoisingAE", "ARAE"):
        epoch_s, fit_s, plain_s = [], [], []
        for _ in range(repeats):
            det = make(name, max_epochs=epochs)
            fit_s.append(timed_fit(det, X) / det.n_epochs_)
            # skorch's epoch duration: the training loop with its callbacks
            epoch_s.append(float(np.mean([h["dur"] for h in det.history_])))
            n_train = len(X) - len(det.calibration_scores_)
            plain_s.append(plain_epoch_seconds(X[:n_train], det, det.n_epochs_))
        ours, plain = min(epoch_s), min(plain_s)
        flops = mlp_flops_per_row(X.shape[1], det.hidden_dims)
        # a training step: forward, and backward at twice its cost; ARAE adds
        # pgd_steps encoder passes (forward and backward) and an encoder forward
        passes = 3 if name == "DenoisingAE" else 3 + 1.5 * (det.pgd_steps + 1)
        default_score = det._resolved_anomaly_score()
        score_s, _ = best_score_seconds(det, X, score_repeats)
        score_share = len(X) * score_flops_per_row(det) / score_s / 1e9 / peak
        # NAP alone, from the same fit (one fit gives every score)
        det.set_params(anomaly_score="nap")
        nap_s, nap_scores = best_score_seconds(det, X, score_repeats)
        nap_share = len(X) * score_flops_per_row(det) / nap_s / 1e9 / peak
        nap_error = nap_float32_error(det, X, -nap_scores)
        rows.append(
            {
                "section": "overhead",
                "detector": name,
                "data": source,
                "n_rows": len(X),
                "n_train_rows": n_train,
                "n_features": X.shape[1],
                "batch_size": det.batch_size_,
                "epochs": det.n_epochs_,
                "matmul_gflops": peak,
                "matmul_size": matmul_size,
                "skanomaly_s_per_epoch": ours,
                "plain_torch_s_per_epoch": plain,
                "overhead": ours / plain - 1,
                "fit_s_per_epoch": min(fit_s),
                "score_s": score_s,
                "train_share_of_peak": n_train * flops * passes / ours / 1e9 / peak,
                "anomaly_score": default_score,
                "nap_float32_max_relative_error": nap_error,
                "score_share_of_peak": score_share,
                "nap_score_s": nap_s,
                "nap_share_of_peak": nap_share,
            }
        )
    return rows


# ---------------------------------------------------------------- pyod
def measure_pyod(X, source, epochs):
    from pyod.models.auto_encoder import AutoEncoder

    dae = make("DenoisingAE", max_epochs=epochs)
    ours = timed_fit(dae, X) / dae.n_epochs_
    pyod = AutoEncoder(epoch_num=epochs, random_state=0, device="cpu", verbose=0)
    theirs = timed_fit(pyod, X) / epochs
    return [
        {
            "section": "pyod",
            "data": source,
            "n_rows": len(X),
            "n_features": X.shape[1],
            "epochs": epochs,
            "denoising_ae_s_per_epoch": ours,
            "pyod_autoencoder_s_per_epoch": theirs,
            "ratio": ours / theirs,
        }
    ]


# ---------------------------------------------------------- paper cost
def _stage_timer(n_steps):
    """A skorch callback that times ``n_steps`` training steps of every stage,
    then ends the stage (skorch catches ``KeyboardInterrupt`` and the detector
    goes on with its next stage)."""
    from skorch.callbacks import Callback

    class StageTimer(Callback):
        def __init__(self):
            self.stages = {}

        def on_train_begin(self, net, X=None, **kwargs):
            rows = len(X)
            if net.get_params().get("iterator_train__drop_last", False):
                per_epoch = rows // net.batch_size
            else:
                per_epoch = math.ceil(rows / net.batch_size)
            self.current = {
                "rows": rows,
                "batch_size": int(net.batch_size),
                "epochs": int(net.max_epochs),
                "steps_per_epoch": per_epoch,
                "seconds": [],
            }
            self.stages[getattr(net, "stage", "train")] = self.current

        def on_batch_begin(self, net, training=False, **kwargs):
            self.started = time.perf_counter()

        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                self.current["seconds"].append(time.perf_counter() - self.started)
                if len(self.current["seconds"]) >= n_steps:
                    raise KeyboardInterrupt

    return StageTimer()


def paper_config(name):
    """``(data set, params)`` of a detector's paper configuration."""
    import skanomaly

    cls = getattr(skanomaly, name)
    for dataset in ("fashion-mnist", "mnist"):
        try:
            return dataset, cls.paper_params(dataset)
        except ValueError:
            continue
    return None, None


def stage_costs(detector, X, n_steps):
    timer = _stage_timer(n_steps)
    own = detector._callbacks
    detector._callbacks = lambda ctx: [*own(ctx), ("stage_timer", timer)]
    timed_fit(detector, X)
    costs = {}
    for stage, record in timer.stages.items():
        seconds = record.pop("seconds")[1:]  # the first step warms up
        per_step = float(np.median(seconds)) if seconds else math.nan
        steps = record["epochs"] * record["steps_per_epoch"]
        costs[stage] = {
            **record,
            "steps": steps,
            "s_per_step": per_step,
            "fit_s": per_step * steps,
        }
    return costs


def measure_paper_cost(name, X, source, shape, n_steps):
    dataset, paper = paper_config(name)
    rows = []
    for config, params in (("defaults", {}), ("paper", paper)):
        if params is None:
            continue
        det = make(name, **params, input_shape=shape)
        stages = stage_costs(det, X, n_steps)
        rows.append(
            {
                "section": "paper-cost",
                "detector": name,
                "config": config,
                "paper_dataset": dataset,
                "data": source,
                "n_rows": len(X),
                "stages": stages,
                "fit_s": sum(s["fit_s"] for s in stages.values()),
            }
        )
    return rows


# ----------------------------------------------------------- small fit
def measure_small_fits(names, X, source, shape, params=None):
    order = ["DenoisingAE", *[n for n in names if n != "DenoisingAE"]]
    # one short fit of each first: the first fit in a process pays one-time
    # costs (kernel set-up, lazy imports) that would land on whichever
    # detector is timed first
    for name in order:
        timed_fit(make(name, input_shape=shape, max_epochs=1), X[:64])
    rows = []
    for name in order:
        det = make(name, input_shape=shape, **(params or {}))
        fit_s = timed_fit(det, X)
        start = time.perf_counter()
        det.score_samples(X)
        score_s = time.perf_counter() - start
        rows.append(
            {
                "section": "small-fit",
                "detector": name,
                "data": source,
                "n_rows": len(X),
                "input_shape": list(shape),
                "batch_size": int(det.batch_size_),
                "epochs": int(det.n_epochs_),
                "fit_s": fit_s,
                "score_s": score_s,
            }
        )
    base = rows[0]
    for row in rows:
        row["fit_ratio"] = row["fit_s"] / base["fit_s"]
        row["score_ratio"] = row["score_s"] / base["score_s"]
    return [row for row in rows if row["detector"] in names]


# ------------------------------------------------------------------ run
def run(experiment, context):
    """Measure each section whole (or reuse it from the checkpoint): one
    checkpoint entry per section (per detector for ``paper-cost``), so that the
    two sides of every ratio come from one run."""
    n_features = int(experiment.get("n_features", 784))
    shape = image_shape(n_features)
    names = list(experiment.get("detectors", ["DenoisingAE"]))
    if shape is None:
        names = [n for n in names if n not in IMAGE_ONLY]
    epochs = int(experiment.get("epochs", 3))
    common = {
        "data": experiment.get("data", "fashion-mnist"),
        "n_features": n_features,
        "version": VERSION,
        "smoke": experiment.smoke,
    }
    n_rows = int(experiment.get("n_rows", 2000))
    cost_rows = int(experiment.get("cost_rows", 6000))
    small_rows = int(experiment.get("small_rows", 500))
    n_steps = int(experiment.get("cost_steps", 11))
    # smoke: one timing of each side, a small matmul, one-epoch default fits
    smoke_overhead = (1, 256, 1) if experiment.smoke else ()
    smoke_fit = (
        {"max_epochs": int(experiment.get("budget", 1))} if experiment.smoke else None
    )
    jobs = [
        (
            {"section": "overhead", "n_rows": n_rows, "epochs": epochs},
            n_rows,
            lambda X, src: measure_overhead(X, src, epochs, *smoke_overhead),
        ),
        (
            {"section": "pyod", "n_rows": n_rows, "epochs": epochs},
            n_rows,
            lambda X, src: measure_pyod(X, src, epochs),
        ),
    ]
    for name in names:
        jobs.append(
            (
                {
                    "section": "paper-cost",
                    "detector": name,
                    "n_rows": cost_rows,
                    "steps": n_steps,
                },
                cost_rows,
                lambda X, src, name=name: measure_paper_cost(
                    name, X, src, shape, n_steps
                ),
            )
        )
    if shape is not None:
        jobs.append(
            (
                {"section": "small-fit", "detectors": names, "n_rows": small_rows},
                small_rows,
                lambda X, src: measure_small_fits(names, X, src, shape, smoke_fit),
            )
        )
    rows = []
    cache = {}
    for settings, n, measure in jobs:
        version = SECTION_VERSIONS.get(settings["section"], VERSION)
        key = task_fingerprint({**common, **settings, "version": version})
        label = settings["section"] + (
            f" {settings['detector']}" if "detector" in settings else ""
        )
        if key in context.checkpoint.rows:
            rows += context.checkpoint.rows[key]["rows"]
            context.log(f"[{experiment.name}] {label}: from the checkpoint")
            continue
        if n not in cache:
            cache[n] = load_rows(experiment, context, n)
        started = time.perf_counter()
        measured = measure(*cache[n])
        context.checkpoint.append(
            key, {"section": settings["section"], "rows": measured}
        )
        rows += measured
        context.log(
            f"[{experiment.name}] {label}: {time.perf_counter() - started:.1f} s"
        )
    return rows


# --------------------------------------------------------------- report
def duration(seconds):
    """``seconds`` in the largest unit that keeps it at least 1."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def summary(rows):
    """``{detector: default fit seconds on the small images, over DenoisingAE's}``."""
    return {r["detector"]: r["fit_ratio"] for r in rows if r["section"] == "small-fit"}


def report(experiment, rows, metadata):
    """One table per section, each with what its columns mean."""
    body = []
    by = {section: [r for r in rows if r["section"] == section] for section in SECTIONS}
    if by["overhead"]:
        first = by["overhead"][0]
        body.append(
            f"### Training: skanomaly against a plain torch loop\n\n"
            f"{first['n_rows']:,} rows of {first['n_features']} features "
            f"({first['data']}); the machine's float32 matmul rate: "
            f"{first['matmul_gflops']:.1f} GFLOP/s ({first['matmul_size']} x "
            f"{first['matmul_size']})."
        )
        body.append(
            markdown_table(
                [
                    "detector",
                    "batch",
                    "skanomaly s/epoch",
                    "plain torch s/epoch",
                    "overhead",
                    "whole fit / epochs",
                    "training % of peak",
                    "score",
                    "scoring % of peak",
                    "NAP alone: % of peak",
                    "float32 NAP: max rel. difference",
                ],
                [
                    [
                        r["detector"],
                        fmt(r["batch_size"]),
                        fmt(r["skanomaly_s_per_epoch"], 3),
                        fmt(r["plain_torch_s_per_epoch"], 3),
                        f"{100 * r['overhead']:+.1f} %",
                        fmt(r["fit_s_per_epoch"], 3),
                        f"{100 * r['train_share_of_peak']:.0f} %",
                        r.get("anomaly_score", "?"),
                        f"{100 * r['score_share_of_peak']:.0f} %",
                        percent(r.get("nap_share_of_peak")),
                        scientific(r.get("nap_float32_max_relative_error")),
                    ]
                    for r in by["overhead"]
                ],
            )
        )
        body.append(
            "skanomaly s/epoch: skorch's epoch duration (`history_` `dur`: the "
            "training loop and its callbacks), best of two fits (one in the smoke "
            "run) after a warm-up; "
            "the plain loop trains the same network with the same step on as many "
            "rows (those the detector does not hold out for calibration), timed the "
            "same way. Whole fit / epochs: all of `fit` (validation, scaling, the "
            "plateau check, the calibration scores) over the epochs. % of peak: the "
            "network's FLOPs per second against the matmul rate (scoring: the "
            "best of seven passes over the rows) with the default score, and "
            "with NAP alone from the same fit; a NAP score "
            "counts the encoder's second pass (over the reconstruction) and the "
            "whitening products as well as the forward pass, and the "
            "latent-neighbour term (`+knn`) its encoder pass and the distances "
            "to the training codes (rows written before these counts show '?' "
            "and counted the forward pass only). NAP computes "
            "its whitening products in float32 and sums in float64; the last "
            "column is the largest relative difference of its scores of these "
            "rows from float64 products."
        )
    if by["pyod"]:
        r = by["pyod"][0]
        body.append(
            "### DenoisingAE against PyOD's AutoEncoder\n\n"
            + markdown_table(
                [
                    "rows",
                    "epochs",
                    "DenoisingAE s/epoch",
                    "PyOD AutoEncoder s/epoch",
                    "ratio",
                ],
                [
                    [
                        fmt(r["n_rows"]),
                        fmt(r["epochs"]),
                        fmt(r["denoising_ae_s_per_epoch"], 3),
                        fmt(r["pyod_autoencoder_s_per_epoch"], 3),
                        fmt(r["ratio"], 2),
                    ]
                ],
            )
            + "\n\nEach with its defaults: the whole fit over the epochs. "
            "DenoisingAE trains on 80 % of the rows (the rest calibrate its "
            "threshold)."
        )
    if by["paper-cost"]:
        cost = by["paper-cost"]
        steps = experiment.get("cost_steps", 11)
        stage_rows = [
            [
                r["detector"],
                r["config"]
                if r["config"] == "defaults"
                else f"paper ({r['paper_dataset']})",
                stage,
                fmt(s["batch_size"]),
                fmt(s["s_per_step"], 4),
                fmt(s["steps"]),
                duration(s["fit_s"]),
            ]
            for r in cost
            for stage, s in r["stages"].items()
        ]
        pairs = {}
        for r in cost:
            pairs.setdefault(r["detector"], {})[r["config"]] = r
        total_rows = [
            [
                name,
                duration(p["defaults"]["fit_s"]),
                duration(p["paper"]["fit_s"]),
                f"{p['paper']['fit_s'] / p['defaults']['fit_s']:,.0f}x",
            ]
            for name, p in pairs.items()
            if {"defaults", "paper"} <= set(p)
        ]
        body.append(
            f"### What the paper configurations cost\n\n"
            f"{cost[0]['n_rows']:,} images ({cost[0]['data']}); each training stage "
            f"ran {steps} optimiser steps, seconds per step being the median of the "
            f"last {steps - 1}. Steps: the stage's epochs times its steps per epoch "
            "in a full fit of these images; estimated time: their product "
            "(training steps only, no scoring pass). CRBND's paper configuration "
            "is MNIST's: these images stand in for a digit of the same size.\n\n"
            + markdown_table(
                [
                    "detector",
                    "config",
                    "stage",
                    "batch",
                    "s per step",
                    "steps",
                    "estimated stage time",
                ],
                stage_rows,
            )
            + "\n\n"
            + markdown_table(
                [
                    "detector",
                    "defaults: estimated fit",
                    "paper: estimated fit",
                    "ratio",
                ],
                total_rows,
            )
        )
    if by["small-fit"]:
        small = by["small-fit"]
        body.append(
            f"### Default fit of {small[0]['n_rows']:,} small images\n\n"
            f"Each detector at its defaults fits {small[0]['n_rows']:,} images of "
            f"shape {tuple(small[0]['input_shape'])} ({small[0]['data']}) and scores "
            "them; the ratios are to DenoisingAE's times in the same run.\n\n"
            + markdown_table(
                [
                    "detector",
                    "batch",
                    "epochs",
                    "fit s",
                    "fit / DenoisingAE",
                    "score s",
                    "score / DenoisingAE",
                ],
                [
                    [
                        r["detector"],
                        fmt(r["batch_size"]),
                        fmt(r["epochs"]),
                        fmt(r["fit_s"], 1),
                        f"{r['fit_ratio']:.1f}x",
                        fmt(r["score_s"], 2),
                        f"{r['score_ratio']:.1f}x",
                    ]
                    for r in small
                ],
            )
        )
    body.append(settings_line(metadata))
    return "\n\n".join(body)
