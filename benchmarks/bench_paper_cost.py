"""What each paper's configuration costs on this machine, against the defaults.

For each detector, its defaults and ``paper_params(dataset)`` fit one
Fashion-MNIST class (the 6,000 training images of class 0; for a paper
configured only for MNIST, the same images stand in for a digit of the same
size and shape). Every training stage runs ``--batches`` optimiser steps, the
first of which is not counted, and is then ended; the script records, per
stage, the median seconds per step and the number of steps the configuration
would train (its epochs times the stage's steps per epoch, read from the data
the stage was given). Their product, summed over the stages, is the estimated
fit time of the whole configuration: training steps only, without the passes
over the data between and after the stages. Nothing is scored.

Run (one torch thread, the machine otherwise idle; about 10 minutes)::

    python benchmarks/bench_paper_cost.py --threads 1

Writes ``results/paper_cost.md`` and ``.json``. PuzzleAE's paper configuration
is measured by ``bench_budget_curve.py --configs paper-cost`` (its training
stage and its 23-permutation scoring, see ``results/budget_curve.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

from skanomaly import ARAE, CRBND, LISAE, DenoisingAE, RobustGMMDAE
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist

HERE = Path(__file__).resolve().parent
IMAGE_SHAPE = (1, 28, 28)
#: detector name, class, the data set of its paper configuration
DETECTORS = {
    "denoising-ae": (DenoisingAE, "fashion-mnist"),
    "arae": (ARAE, "fashion-mnist"),
    "lis-ae": (LISAE, "fashion-mnist"),
    "crbnd": (CRBND, "mnist"),
    "robust-gmm-dae": (RobustGMMDAE, "fashion-mnist"),
}


class StageTimer(Callback):
    """Times ``n_batches`` training steps of every stage, then ends the stage.

    Per stage (``net.stage``): the seconds of each step, the stage's epochs
    (``net.max_epochs``) and its steps per epoch (from the stage's data and
    batch size). ``KeyboardInterrupt`` ends the stage: skorch catches it and
    the detector goes on with its next stage.
    """

    def __init__(self, n_batches):
        self.n_batches = n_batches
        self.stages = {}

    def on_train_begin(self, net, X=None, **kwargs):
        params = net.get_params()
        rows = len(X)
        if params.get("iterator_train__drop_last", False):
            per_epoch = rows // net.batch_size
        else:
            per_epoch = math.ceil(rows / net.batch_size)
        self.current = {
            "rows": rows,
            "batch_size": net.batch_size,
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
            if len(self.current["seconds"]) >= self.n_batches:
                raise KeyboardInterrupt


def stage_costs(detector, X, n_batches):
    """Fit ``detector`` with every stage cut to ``n_batches`` steps; return
    each stage's measured seconds per step and full number of steps."""
    timer = StageTimer(n_batches)
    own = detector._callbacks
    detector._callbacks = lambda ctx: [*own(ctx), ("stage_timer", timer)]
    with warnings.catch_warnings():
        # the cut stages leave the network untrained: plateau warnings
        warnings.simplefilter("ignore")
        detector.fit(X)
    costs = {}
    for stage, record in timer.stages.items():
        seconds = record.pop("seconds")[1:]  # the first step warms up
        per_step = float(np.median(seconds)) if seconds else float("nan")
        steps = record["epochs"] * record["steps_per_epoch"]
        costs[stage] = {
            **record,
            "steps": steps,
            "s_per_step": round(per_step, 4),
            "fit_s": round(per_step * steps, 1),
        }
    return costs


def measure(name, config, X, n_batches, seed):
    cls, dataset = DETECTORS[name]
    params = cls.paper_params(dataset) if config == "paper" else {}
    detector = cls(**params, input_shape=IMAGE_SHAPE, random_state=seed, device="cpu")
    stages = stage_costs(detector, X, n_batches)
    return {
        "detector": name,
        "config": config if config == "defaults" else f"paper ({dataset})",
        "n_rows": len(X),
        "stages": stages,
        "fit_s": round(sum(s["fit_s"] for s in stages.values()), 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS))
    parser.add_argument("--batches", type=int, default=11)
    parser.add_argument("--normal-class", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", default=str(HERE / "results" / "paper_cost"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X_train, y_train = load_fashion_mnist(split="train", return_X_y=True)
    X = X_train[y_train == args.normal_class]
    rows = []
    for name in args.detectors:
        for config in ("defaults", "paper"):
            row = measure(name, config, X, args.batches, args.seed)
            rows.append(row)
            print(json.dumps(row), flush=True)
    write(rows, args, Path(args.output))


def duration(seconds):
    """``seconds`` in the largest unit that keeps it at least 1."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def write(rows, args, out):
    env = environment_info()
    out.with_suffix(".json").write_text(
        json.dumps({"environment": env, "args": vars(args), "rows": rows}, indent=1)
    )
    lines = [
        "# What the paper configurations cost on this machine",
        "",
        "Written by `benchmarks/bench_paper_cost.py`. One Fashion-MNIST class "
        f"(the {rows[0]['n_rows']:,} training images of class {args.normal_class}; "
        "CRBND's paper configuration is MNIST's, and these images stand in for "
        "a digit of the same size), seed "
        f"{args.seed}, CPU, {env.get('torch_threads')} torch thread(s). Each "
        f"stage ran {args.batches} steps; seconds per step are the median of "
        "the last "
        f"{args.batches - 1}. Steps: the stage's epochs times its steps per "
        "epoch. Estimated fit: their product, summed over the stages "
        "(training steps only).",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in env.items()]
    lines += [
        "",
        "| detector | config | stage | batch | s per step | steps | "
        "estimated stage time |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        for stage, cost in row["stages"].items():
            lines.append(
                f"| {row['detector']} | {row['config']} | {stage} | "
                f"{cost['batch_size']} | {cost['s_per_step']:.4f} | "
                f"{cost['steps']:,} | {duration(cost['fit_s'])} |"
            )
    lines += [
        "",
        "| detector | defaults: estimated fit | paper: estimated fit | ratio |",
        "|---|---:|---:|---:|",
    ]
    by_name = {}
    for row in rows:
        by_name.setdefault(row["detector"], {})[row["config"].split()[0]] = row
    for name, pair in by_name.items():
        if {"defaults", "paper"} <= set(pair):
            fast, paper = pair["defaults"]["fit_s"], pair["paper"]["fit_s"]
            lines.append(
                f"| {name} | {duration(fast)} | {duration(paper)} | "
                f"{paper / fast:,.0f}x |"
            )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
