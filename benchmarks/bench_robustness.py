"""Robustness benchmarks: the robust GMM-DAE paper's attacks, and the AUC under
attack of every skanomaly detector.

Settings (``--settings``, any of):

- ``gmm-table``: the paper's Table 1/2 quantities on Fashion-MNIST.
  RobustGMMDAE in its three ``adversarial`` variants (``coupled``: the paper's
  method, ``augmented``, ``none``: GMM-DAE) with the paper's Fashion-MNIST
  configuration (``RobustGMMDAE.paper_params("fashion-mnist")``, on 28x28
  images) trains on the whole training split, unsupervised. ``--n-attack``
  seeded test images (the paper: 100, in 10 trials, ``--trials``) are attacked
  at each L2 budget lambda (``--budgets``, the paper's 1, 3, 5) with the latent
  space attack (target: a seeded test image of another class) and the maximum
  damage attack, by L-BFGS-B (``--method``) as the authors. Reported, mean and
  standard deviation over the images: latent attack MS-SSIM(x_t, rec(x_a)) (lower
  = more robust) and MS-SSIM(x, x_a); maximum damage MS-SSIM(rec(x), rec(x_a))
  (higher = more robust) and MS-SSIM(x, x_a); the L2 distances beside them.
  MS-SSIM is :func:`skanomaly.robustness.ms_ssim` (5 px window, three scales on
  28 px; see docs/robustness.md), so values compare in trend with the paper's.
- ``auc``: AUC under attack (:func:`skanomaly.robustness.auc_under_attack`) of
  every skanomaly detector (``skanomaly.utils.all_estimators()``, default
  parameters) under protocol 2 on Fashion-MNIST: class k of the training split
  trains, a seeded balanced subsample of the test split (``--max-test``) tests,
  for each class in ``--classes``. Normal samples are pushed to look anomalous
  and anomalies to look normal by L-inf PGD (``--norm``, ``--steps``) at each
  ``--epsilons``. The figure is the mean AUC over the classes against epsilon.

Every row records the seed, the budget, the device and the times; the JSON files
add the environment (:func:`skanomaly.benchmarking.environment_info`). Finished
rows are appended to a JSON lines checkpoint beside the results
(``<stem>.jsonl``); a rerun with the same settings skips them.

The full run (hours on one CPU core; not run for the docs yet)::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_robustness.py

A smoke test (about a minute, one thread; small data, tiny networks, writes to
the given folders)::

    python benchmarks/bench_robustness.py --smoke \\
        --results-dir /tmp/robustness_smoke --figures-dir /tmp/robustness_smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from skanomaly import RobustGMMDAE
from skanomaly.benchmarking import environment_info
from skanomaly.benchmarking._checkpoint import Checkpoint, task_fingerprint
from skanomaly.datasets import load_fashion_mnist, one_class_split
from skanomaly.robustness import (
    auc_under_attack,
    latent_space_attack,
    maximum_damage_attack,
)
from skanomaly.utils import all_estimators
from skanomaly.utils._testing import INIT_PARAMS

HERE = Path(__file__).resolve().parent
SETTINGS = ("gmm-table", "auc")
VARIANTS = ("coupled", "augmented", "none")
IMAGE = (1, 28, 28)

#: --smoke: tiny networks and data, every code path once
SMOKE = {
    "max_train": 300,
    "n_attack": 4,
    "max_test": 40,
    "classes": [0],
    "budgets": [1.0, 3.0],
    "max_iter": 10,
    "epsilons": [0.0, 0.02, 0.05],
    "steps": 3,
    "epochs": 2,
}


def subsample(n, size, seed):
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, size, replace=False))


def gmm_params(args) -> dict:
    if args.smoke:
        params = {**INIT_PARAMS["RobustGMMDAE"]}
    else:
        params = RobustGMMDAE.paper_params("fashion-mnist")
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    return {**params, "device": args.device, "random_state": args.seed}


def detector_params(name, args) -> dict:
    params = {**INIT_PARAMS[name]} if args.smoke else {}
    if args.epochs is not None and not args.smoke:
        params["max_epochs"] = args.epochs
    return {**params, "device": args.device, "random_state": args.seed}


def summary(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def fit_quietly(det, X):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        det.fit(X)
    notes = [
        str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
    ]
    return time.perf_counter() - start, notes


def run_gmm_table(args, checkpoint, env):
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(split="test", return_X_y=True)
    train = subsample(len(X), args.max_train, args.seed)
    X_train = X[train].reshape(-1, *IMAGE)
    params = gmm_params(args)
    rows = []
    for variant in VARIANTS:
        settings = {
            "setting": "gmm-table",
            "variant": variant,
            "params": params,
            "n_train": len(X_train),
            "n_attack": args.n_attack,
            "trials": args.trials,
            "budgets": args.budgets,
            "method": args.method,
            "max_iter": args.max_iter,
            "seed": args.seed,
        }
        key = task_fingerprint(settings)
        if key in checkpoint.rows:
            rows.extend(checkpoint.rows[key]["rows"])
            print(f"[gmm-table] {variant}: from the checkpoint")
            continue
        det = RobustGMMDAE(**{**params, "adversarial": variant})
        fit_time, notes = fit_quietly(det, X_train)
        print(f"[gmm-table] {variant}: fitted in {fit_time:.1f} s")
        variant_rows = []
        for trial in range(args.trials):
            rng = np.random.RandomState(args.seed + 1000 * trial)
            idx = rng.choice(len(X_test), args.n_attack, replace=False)
            # target: a random test image of another class
            targets = np.array(
                [rng.choice(np.flatnonzero(y_test != y_test[i])) for i in idx]
            )
            X_att = X_test[idx].reshape(-1, *IMAGE)
            X_tgt = X_test[targets].reshape(-1, *IMAGE)
            for budget in args.budgets:
                start = time.perf_counter()
                lat = latent_space_attack(
                    det,
                    X_att,
                    X_tgt,
                    budget=budget,
                    method=args.method,
                    max_iter=args.max_iter,
                    random_state=args.seed + trial,
                )
                dam = maximum_damage_attack(
                    det,
                    X_att,
                    budget=budget,
                    method=args.method,
                    max_iter=args.max_iter,
                    random_state=args.seed + trial,
                )
                row = {
                    "variant": variant,
                    "trial": trial,
                    "budget": budget,
                    "latent_msssim_target_rec": summary(lat.ms_ssim_reference),
                    "latent_msssim_input": summary(lat.ms_ssim_input),
                    "latent_l2_target_rec": summary(lat.l2_reference),
                    "latent_l2_input": summary(lat.l2_input),
                    "latent_loss": summary(lat.attack_loss),
                    "damage_msssim_rec": summary(dam.ms_ssim_reference),
                    "damage_msssim_input": summary(dam.ms_ssim_input),
                    "damage_l2_rec": summary(dam.l2_reference),
                    "damage_l2_input": summary(dam.l2_input),
                    "attack_seconds": time.perf_counter() - start,
                    "fit_seconds": fit_time,
                    "n_epochs": det.n_epochs_,
                    "batch_size": det.batch_size_,
                    "convergence_warnings": notes,
                    "seed": args.seed,
                    "device": env["device"],
                }
                variant_rows.append(row)
                print(
                    f"  lambda={budget:g} trial {trial}: latent MS-SSIM(x_t, rec(x_a)) "
                    f"{row['latent_msssim_target_rec']['mean']:.3f}, MS-SSIM(x, x_a) "
                    f"{row['latent_msssim_input']['mean']:.3f}; max damage "
                    f"MS-SSIM(rec(x), rec(x_a)) {row['damage_msssim_rec']['mean']:.3f}, "
                    f"MS-SSIM(x, x_a) {row['damage_msssim_input']['mean']:.3f} "
                    f"({row['attack_seconds']:.1f} s)"
                )
        checkpoint.append(key, {"rows": variant_rows})
        rows.extend(variant_rows)
    return rows, params


def gmm_markdown(rows, config) -> str:
    lines = [
        "# Robust GMM-DAE attacks on Fashion-MNIST (the paper's Table 1/2 quantities)",
        "",
        f"Command: `{config['command']}`",
        "",
        f"Seed {config['seed']}, device {config['environment']['device']}, "
        f"{config['n_train']} training images, {config['n_attack']} attacked test "
        f"images x {config['trials']} trials, L-BFGS-B ({config['method']}, "
        f"{config['max_iter']} iterations), parameters `{config['params']}`. "
        "Mean (std) over images and trials. Latent: lower MS-SSIM(x_t, rec(x_a)) "
        "= more robust; max damage: higher MS-SSIM(rec(x), rec(x_a)) = more robust.",
        "",
        "| variant | lambda | latent MS-SSIM(x_t, rec(x_a)) | latent MS-SSIM(x, x_a) "
        "| max-damage MS-SSIM(rec(x), rec(x_a)) | max-damage MS-SSIM(x, x_a) "
        "| latent L2(x_t, rec(x_a)) | max-damage L2(rec(x), rec(x_a)) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        for budget in config["budgets"]:
            sel = [r for r in rows if r["variant"] == variant and r["budget"] == budget]
            if not sel:
                continue

            def cell(key, sel=sel):
                means = [r[key]["mean"] for r in sel]
                stds = [r[key]["std"] for r in sel]
                return f"{np.mean(means):.3f} ({np.mean(stds):.3f})"

            lines.append(
                f"| {variant} | {budget:g} | {cell('latent_msssim_target_rec')} | "
                f"{cell('latent_msssim_input')} | {cell('damage_msssim_rec')} | "
                f"{cell('damage_msssim_input')} | {cell('latent_l2_target_rec')} | "
                f"{cell('damage_l2_rec')} |"
            )
    return "\n".join(lines) + "\n"


def run_auc(args, checkpoint, env):
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(split="test", return_X_y=True)
    rows = []
    for k in args.classes:
        X_tr, X_te, y_te = one_class_split(
            X, y, [k], protocol=2, X_test=X_test, y_test=y_test
        )
        X_tr = X_tr[subsample(len(X_tr), args.max_train, args.seed)]
        # a balanced seeded subsample of the test split
        rng = np.random.RandomState(args.seed + k)
        half = args.max_test // 2
        normal = rng.choice(np.flatnonzero(y_te == 0), half, replace=False)
        anomalous = rng.choice(np.flatnonzero(y_te == 1), half, replace=False)
        idx = np.sort(np.r_[normal, anomalous])
        X_att, y_att = X_te[idx].reshape(-1, *IMAGE), y_te[idx]
        for name, cls in all_estimators():
            if args.detectors and name not in args.detectors:
                continue
            params = detector_params(name, args)
            settings = {
                "setting": "auc",
                "detector": name,
                "params": params,
                "class": k,
                "n_train": len(X_tr),
                "n_test": len(idx),
                "epsilons": args.epsilons,
                "norm": args.norm,
                "steps": args.steps,
                "seed": args.seed,
            }
            key = task_fingerprint(settings)
            if key in checkpoint.rows:
                rows.append(checkpoint.rows[key])
                print(f"[auc] class {k} {name}: from the checkpoint")
                continue
            det = cls(**params)
            fit_time, notes = fit_quietly(det, X_tr.reshape(-1, *IMAGE))
            start = time.perf_counter()
            res = auc_under_attack(
                det,
                X_att,
                y_att,
                epsilons=args.epsilons,
                norm=args.norm,
                steps=args.steps,
                random_state=args.seed,
            )
            row = {
                "detector": name,
                "class": k,
                "epsilons": res.epsilons.tolist(),
                "aucs": res.aucs.tolist(),
                "norm": args.norm,
                "steps": args.steps,
                "fit_seconds": fit_time,
                "attack_seconds": time.perf_counter() - start,
                "n_epochs": det.n_epochs_,
                "batch_size": det.batch_size_,
                "n_train": len(X_tr),
                "n_test": len(idx),
                "convergence_warnings": notes,
                "seed": args.seed,
                "device": env["device"],
            }
            checkpoint.append(key, row)
            rows.append(row)
            aucs = " ".join(f"{a:.3f}" for a in res.aucs)
            print(
                f"[auc] class {k} {name}: AUC at eps {args.epsilons}: {aucs} "
                f"(fit {fit_time:.1f} s, attacks {row['attack_seconds']:.1f} s)"
            )
    return rows


def mean_curves(rows) -> dict:
    curves = {}
    for name in sorted({r["detector"] for r in rows}):
        sel = [r for r in rows if r["detector"] == name]
        curves[name] = (
            np.asarray(sel[0]["epsilons"]),
            np.mean([r["aucs"] for r in sel], axis=0),
        )
    return curves


def auc_markdown(rows, config) -> str:
    eps = config["epsilons"]
    lines = [
        "# AUC under attack on Fashion-MNIST, protocol 2",
        "",
        f"Command: `{config['command']}`",
        "",
        f"Seed {config['seed']}, device {config['environment']['device']}, "
        f"classes {config['classes']}, {config['norm']} PGD with "
        f"{config['steps']} steps; normal test samples pushed up, anomalies pushed "
        "down; budgets in pixel units ([0, 1] images). Mean ROC AUC over the "
        "classes; default detector parameters"
        + (" (smoke: the tiny test settings)." if config["smoke"] else "."),
        "",
        "| detector | "
        + " | ".join(f"eps={e:g}" for e in eps)
        + " | fit s | attack s |",
        "|---|" + "---|" * (len(eps) + 2),
    ]
    for name, (_, aucs) in mean_curves(rows).items():
        sel = [r for r in rows if r["detector"] == name]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{a:.3f}" for a in aucs)
            + f" | {np.mean([r['fit_seconds'] for r in sel]):.1f}"
            + f" | {np.mean([r['attack_seconds'] for r in sel]):.1f} |"
        )
    return "\n".join(lines) + "\n"


def draw_auc(rows, path: Path, norm: str) -> None:
    import matplotlib.pyplot as plt

    from skanomaly.plotting import plot_auc_under_attack
    from skanomaly.robustness import AUCUnderAttack

    results = {
        name: AUCUnderAttack(eps, aucs, np.zeros((len(eps), 0)), norm, 0)
        for name, (eps, aucs) in mean_curves(rows).items()
    }
    ax = plot_auc_under_attack(results)
    ax.set_title("Fashion-MNIST, protocol 2: mean AUC under attack")
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS)
    )
    parser.add_argument("--smoke", action="store_true", help="tiny, every path once")
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--max-test", type=int, default=2000)
    parser.add_argument("--n-attack", type=int, default=100)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--budgets", type=float, nargs="+", default=[1.0, 3.0, 5.0])
    parser.add_argument("--method", choices=["lbfgsb", "pgd"], default="lbfgsb")
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument(
        "--epsilons", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.05, 0.1]
    )
    parser.add_argument(
        "--detectors",
        nargs="+",
        default=None,
        help="setting auc: these detectors (class names) only; default every one",
    )
    parser.add_argument("--norm", choices=["linf", "l2"], default="linf")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument(
        "--figures-dir", type=Path, default=HERE.parent / "docs" / "images"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        for name, value in SMOKE.items():
            setattr(args, name, value)
    torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    args.figures_dir.mkdir(parents=True, exist_ok=True)
    suffix = "_smoke" if args.smoke else ""
    env = environment_info(args.device)
    command = "python " + " ".join(["benchmarks/bench_robustness.py", *sys.argv[1:]])
    started = time.perf_counter()
    if "gmm-table" in args.settings:
        stem = args.results_dir / f"robustness_gmm_dae{suffix}"
        rows, params = run_gmm_table(args, Checkpoint(stem.with_suffix(".jsonl")), env)
        config = {
            "command": command,
            "seed": args.seed,
            "params": params,
            "n_train": args.max_train or 60000,
            "n_attack": args.n_attack,
            "trials": args.trials,
            "budgets": args.budgets,
            "method": args.method,
            "max_iter": args.max_iter,
            "environment": env,
        }
        stem.with_suffix(".md").write_text(gmm_markdown(rows, config))
        stem.with_suffix(".json").write_text(
            json.dumps({"config": config, "rows": rows}, indent=1, default=str)
        )
        print(f"wrote {stem}.md/.json")
    if "auc" in args.settings:
        stem = args.results_dir / f"robustness_auc{suffix}"
        rows = run_auc(args, Checkpoint(stem.with_suffix(".jsonl")), env)
        config = {
            "command": command,
            "seed": args.seed,
            "classes": args.classes,
            "epsilons": args.epsilons,
            "norm": args.norm,
            "steps": args.steps,
            "max_train": args.max_train,
            "max_test": args.max_test,
            "smoke": args.smoke,
            "environment": env,
        }
        stem.with_suffix(".md").write_text(auc_markdown(rows, config))
        stem.with_suffix(".json").write_text(
            json.dumps({"config": config, "rows": rows}, indent=1, default=str)
        )
        figure = args.figures_dir / f"auc_under_attack{suffix}.png"
        draw_auc(rows, figure, args.norm)
        print(f"wrote {stem}.md/.json and {figure}")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
