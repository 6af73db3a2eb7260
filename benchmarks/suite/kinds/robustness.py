"""Robustness: the test AUC of every detector when every test image is attacked.

For each data set, normal class, seed and detector: the detector (its
defaults, ``max_epochs`` set when declared, on the CPU) fits ``n_train``
seeded images of the normal class (protocol 2: of the training split); a
seeded balanced draw of ``n_test`` test images (half of the normal class, half
of the others; from the official test split, or, for a data set without one
such as digits, from the images of the class not used for training and of the
other classes) is attacked by :func:`skanomaly.robustness.auc_under_attack`:
``norm`` PGD (``pgd_steps`` steps, random start) on the detector's anomaly
score pushes the normal images to look anomalous and the anomalies to look
normal, within a ball of radius epsilon (pixel units, images in [0, 1]), for
each of ``epsilons``. A row holds the AUC at every epsilon (epsilon 0: the
clean AUC), the fit and attack seconds and the epochs trained.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from benchmarks.suite.tables import finite_mean, fmt, markdown_table, settings_line
from skanomaly.benchmarking._checkpoint import task_fingerprint

KEYS = (
    "datasets",
    "classes",
    "detectors",
    "epsilons",
    "norm",
    "pgd_steps",
    "n_train",
    "n_test",
    "max_epochs",
    "seeds",
    "budget",
)
#: bumped when what a row means changes
VERSION = 1


def subsample(indices, size, seed):
    """A seeded draw of ``size`` of ``indices`` (all of them if fewer), sorted."""
    indices = np.asarray(indices)
    if size is None or size >= len(indices):
        return indices
    return np.sort(np.random.RandomState(seed).choice(indices, size, replace=False))


def make_task(data, k, n_train, n_test, seed):
    """``(X_train, X_test, y_test)`` of normal class ``k`` (y: 1 = anomaly)."""
    X, y = data.X, np.asarray(data.y)
    normal = np.flatnonzero(y == k)
    if data.X_test is not None:
        train = subsample(normal, n_train, seed)
        X_pool, y_pool = data.X_test, np.asarray(data.y_test)
        pool_normal = np.flatnonzero(y_pool == k)
        pool_other = np.flatnonzero(y_pool != k)
    else:
        # no test split: the class's images not drawn for training test
        shuffled = np.random.RandomState(seed + 1000 + k).permutation(normal)
        n_fit = min(n_train or len(normal), len(normal) - max(n_test // 2, 2))
        train = np.sort(shuffled[:n_fit])
        X_pool, y_pool = X, y
        pool_normal = np.sort(shuffled[n_fit:])
        pool_other = np.flatnonzero(y != k)
    rng = np.random.RandomState(seed + k)
    half = n_test // 2
    chosen_normal = rng.choice(pool_normal, min(half, len(pool_normal)), replace=False)
    chosen_other = rng.choice(pool_other, min(half, len(pool_other)), replace=False)
    idx = np.sort(np.r_[chosen_normal, chosen_other])
    shape = data.input_shape
    return (
        X[train].reshape(-1, *shape),
        X_pool[idx].reshape(-1, *shape),
        (y_pool[idx] != k).astype(int),
    )


def fit_quietly(detector, X):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        detector.fit(X)
    notes = [
        str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
    ]
    return time.perf_counter() - start, notes


def run(experiment, context):
    """Fit and attack every (data set, class, seed, detector); reuse the
    checkpoint's rows."""
    import skanomaly
    from skanomaly.benchmarking import load_benchmark_data
    from skanomaly.robustness import auc_under_attack

    epsilons = [float(e) for e in experiment.get("epsilons", [0.0, 0.01, 0.02, 0.05])]
    norm = experiment.get("norm", "linf")
    steps = int(experiment.get("pgd_steps", 10))
    n_train = experiment.get("n_train")
    n_test = int(experiment.get("n_test", 400))
    max_epochs = experiment.get("max_epochs")
    params = {} if max_epochs is None else {"max_epochs": int(max_epochs)}
    rows = []
    for dataset in experiment.get("datasets", ["fashion-mnist"]):
        data = load_benchmark_data(dataset, data_home=context.data_home)
        classes = experiment.get("classes") or sorted(np.unique(data.y).tolist())
        for seed in experiment.get("seeds", [0]):
            for k in classes:
                task = None
                for name in experiment.get("detectors"):
                    settings = {
                        "dataset": dataset,
                        "class": k,
                        "seed": seed,
                        "detector": name,
                        "params": params,
                        "n_train": n_train,
                        "n_test": n_test,
                        "epsilons": epsilons,
                        "norm": norm,
                        "steps": steps,
                        "version": VERSION,
                    }
                    key = task_fingerprint(settings)
                    if key in context.checkpoint.rows:
                        rows.append(context.checkpoint.rows[key])
                        continue
                    if task is None:
                        task = make_task(data, k, n_train, n_test, seed)
                    X_train, X_test, y_test = task
                    detector = getattr(skanomaly, name)(
                        **params, device=context.device, random_state=seed
                    )
                    fit_s, notes = fit_quietly(detector, X_train)
                    start = time.perf_counter()
                    result = auc_under_attack(
                        detector,
                        X_test,
                        y_test,
                        epsilons=epsilons,
                        norm=norm,
                        steps=steps,
                        random_state=seed,
                    )
                    row = {
                        "dataset": dataset,
                        "class": k,
                        "seed": seed,
                        "detector": name,
                        "epsilons": result.epsilons.tolist(),
                        "aucs": [float(a) for a in result.aucs],
                        "norm": norm,
                        "steps": steps,
                        "n_train": len(X_train),
                        "n_test": len(X_test),
                        "epochs": getattr(detector, "n_epochs_", None),
                        "batch_size": getattr(detector, "batch_size_", None),
                        "fit_s": round(fit_s, 2),
                        "attack_s": round(time.perf_counter() - start, 2),
                        "plateau": bool(notes),
                        "version": VERSION,
                    }
                    context.checkpoint.append(key, row)
                    rows.append(row)
                    context.log(
                        f"[{experiment.name}] {dataset} class {k} {name}: AUC "
                        + " ".join(f"{a:.3f}" for a in row["aucs"])
                        + f" (fit {row['fit_s']:.1f} s, attack {row['attack_s']:.1f} s)"
                    )
    return rows


def summary(rows):
    """``{detector: mean AUC at the largest epsilon}``."""
    return {
        name: finite_mean([r["aucs"][-1] for r in rows if r["detector"] == name])
        for name in dict.fromkeys(r["detector"] for r in rows)
    }


def report(experiment, rows, metadata):
    """Mean AUC per detector at each epsilon, then every (class, detector)."""
    if not rows:
        return "No rows.\n\n" + settings_line(metadata)
    epsilons = rows[0]["epsilons"]
    names = [
        n for n in experiment.get("detectors") if any(r["detector"] == n for r in rows)
    ]
    first = rows[0]
    max_epochs = experiment.get("max_epochs")
    budget = (
        f"every detector at its defaults with max_epochs={max_epochs} (the first "
        "stage's epochs: LISAE's second phase and CRBND's classifier keep their "
        "automatic budgets)"
        if max_epochs is not None
        else "every detector at its defaults"
    )
    classes = sorted({r["class"] for r in rows})
    intro = (
        f"{', '.join(sorted({r['dataset'] for r in rows}))}, normal classes {classes}: "
        f"{budget}, trained on {first['n_train']:,} images of the class and tested "
        f"on {first['n_test']} (half normal, half other classes), each attacked by "
        f"{first['norm']} PGD ({first['steps']} steps) at radius epsilon in pixel "
        "units: normal images pushed to look anomalous, anomalies to look normal. "
        "epsilon = 0 is the clean AUC; 0.5 is chance, below it the attack has "
        "turned the ranking over."
    )
    by_name = {n: [r for r in rows if r["detector"] == n] for n in names}
    mean_rows = [
        [name]
        + [
            fmt(finite_mean([r["aucs"][i] for r in sel]), 3)
            for i in range(len(epsilons))
        ]
        + [
            fmt(finite_mean([r["aucs"][0] - r["aucs"][-1] for r in sel]), 3),
            fmt(finite_mean([r["fit_s"] for r in sel]), 1),
            fmt(finite_mean([r["attack_s"] for r in sel]), 1),
            f"{len(sel)}",
        ]
        for name, sel in sorted(
            by_name.items(),
            key=lambda item: -finite_mean([r["aucs"][-1] for r in item[1]]),
        )
    ]
    eps_headers = [f"ε = {e:g}" for e in epsilons]
    body = [
        intro,
        "### Mean AUC over the classes\n\n"
        + markdown_table(
            [
                "detector",
                *eps_headers,
                f"drop at ε = {epsilons[-1]:g}",
                "fit s",
                "attack s",
                "tasks",
            ],
            mean_rows,
        )
        + "\n\nSorted by the AUC at the largest radius. Drop: clean AUC minus the "
        "AUC at the largest radius. fit s, attack s: mean seconds per task (the "
        "attack column covers every radius).",
    ]
    class_rows = [
        [f"{r['dataset']} {r['class']}", r["detector"]]
        + [fmt(a, 3) for a in r["aucs"]]
        + [fmt(r["epochs"]), fmt(r["fit_s"], 1), "yes" if r.get("plateau") else ""]
        for r in sorted(
            rows,
            key=lambda r: (
                r["dataset"],
                r["class"],
                r["seed"],
                names.index(r["detector"]) if r["detector"] in names else 0,
            ),
        )
    ]
    body.append(
        "### Every task\n\n"
        + markdown_table(
            ["class", "detector", *eps_headers, "epochs", "fit s", "plateau"],
            class_rows,
        )
    )
    body.append(settings_line(metadata))
    return "\n\n".join(body)
