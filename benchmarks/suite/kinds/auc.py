"""One-class AUC panels: every detector on every task of the declared data
sets, through :func:`skanomaly.benchmarking.run_benchmark`."""

from __future__ import annotations

import math

import numpy as np

from benchmarks.suite.tables import finite_mean, fmt, markdown_table, settings_line
from skanomaly.benchmarking import (
    adbench_datasets,
    get_budget,
    make_detector,
    run_benchmark,
)

KEYS = (
    "datasets",
    "protocol",
    "classes",
    "detectors",
    "budget",
    "seeds",
    "published",
    "published_source",
    "train_fraction",
    "negatives",
)


def detector_specs(declared):
    """``[(label, registry name, params)]`` of a ``detectors`` list."""
    specs = []
    for item in declared:
        if isinstance(item, str):
            specs.append((item, item, {}))
        else:
            specs.append(
                (item.get("label", item["name"]), item["name"], item.get("params", {}))
            )
    return specs


def _budget(value, device):
    if isinstance(value, int):
        return get_budget("quick", max_epochs=value, device=device)
    return get_budget(value or "quick", device=device)


def _one_epoch_stages(estimator):
    """``{"classifier_epochs": 1, ...}``: the epoch counts of a detector's
    other training stages, for smoke runs."""
    try:
        names = estimator.get_params(deep=False)
    except AttributeError:
        return {}
    return {name: 1 for name in names if name.endswith("_epochs")}


def _datasets(declared, data_home):
    names = []
    for name in declared:
        if name == "adbench:*":
            names += adbench_datasets(data_home=data_home)
        else:
            names.append(name)
    return names


def _negatives(declared):
    """run_benchmark's ``negatives`` of a declaration (``"none"``: None, for a
    smoke version on data without a test split)."""
    return None if declared in (None, "none") else declared


def run(experiment, context):
    """Fit and score every (data set, seed, class, detector); rows with
    ``dataset`` and ``seed`` beside :func:`run_benchmark`'s columns."""
    budget = _budget(experiment.get("budget"), context.device)
    classes = experiment.get("classes")
    if experiment.smoke and classes is None:
        classes = None if experiment.get("datasets") == ["adbench:*"] else [0]
    datasets = _datasets(experiment.get("datasets"), context.data_home)
    if not datasets:
        raise ValueError(
            f"{experiment.name}: no data set found for {experiment.get('datasets')}; "
            "set $SKANOMALY_DATA or pass --data-home."
        )
    rows = []
    for dataset in datasets:
        for seed in experiment.get("seeds", [0]):
            detectors = {}
            for label, name, params in detector_specs(experiment.get("detectors")):
                estimator = make_detector(name, budget, seed)
                if experiment.smoke:  # every training stage one epoch long
                    params = {**_one_epoch_stages(estimator), **params}
                detectors[label] = (
                    estimator.set_params(**params) if params else estimator
                )
            context.log(f"[{experiment.name}] {dataset}, seed {seed}")
            result = run_benchmark(
                detectors,
                dataset=dataset,
                protocol=experiment.get("protocol"),
                normal_classes=classes,
                train_fraction=experiment.get("train_fraction", "auto"),
                budget=budget,
                random_state=seed,
                data_home=context.data_home,
                progress=context.progress,
                on_error="record",
                checkpoint=context.checkpoint.path,
                negatives=_negatives(experiment.get("negatives")),
            )
            rows += [{"dataset": dataset, "seed": seed, **row} for row in result.rows]
    return rows


def expected_tasks(experiment):
    """How many (data set, class, seed) tasks a complete run has, when the
    declaration says (``classes`` declared, no ``adbench:*``); else None."""
    datasets, classes = experiment.get("datasets"), experiment.get("classes")
    if classes is None or "adbench:*" in datasets:
        return None
    return len(datasets) * len(classes) * len(experiment.get("seeds", [0]))


def _tasks(rows):
    """``{task: {label: row}}``, a task being (data set, class, seed)."""
    tasks = {}
    for row in rows:
        key = (row["dataset"], row["normal_class"], row["seed"])
        tasks.setdefault(key, {})[row["detector"]] = row
    return tasks


def mean_ranks(rows, labels):
    """Mean rank of each detector over the tasks every detector finished
    (1 = highest AUC; ties share the mean rank)."""
    from scipy.stats import rankdata

    ranks = {label: [] for label in labels}
    for by_label in _tasks(rows).values():
        aucs = [by_label.get(label, {}).get("roc_auc") for label in labels]
        if any(a is None or (isinstance(a, float) and math.isnan(a)) for a in aucs):
            continue
        for label, rank in zip(labels, rankdata([-a for a in aucs]), strict=True):
            ranks[label].append(rank)
    return {label: float(np.mean(r)) if r else math.nan for label, r in ranks.items()}


def summary(rows):
    """``{label: mean AUC}``: the README column of this experiment."""
    labels = list(dict.fromkeys(row["detector"] for row in rows))
    return {
        label: finite_mean([r["roc_auc"] for r in rows if r["detector"] == label])
        for label in labels
    }


def report(experiment, rows, metadata):
    """The summary table (mean AUC, rank, AP, FPR, time), then AUC per task."""
    labels = [label for label, _, _ in detector_specs(experiment.get("detectors"))]
    labels = [label for label in labels if any(r["detector"] == label for r in rows)]
    published = experiment.get("published", {})
    ranks = mean_ranks(rows, labels)
    n_tasks = len(_tasks(rows))
    body = []
    expected = expected_tasks(experiment)
    if expected is not None and n_tasks < expected:
        body.append(
            f"**A partial run: {n_tasks} of {expected} tasks so far.** The means "
            "below are over those tasks only; the run resumes from its checkpoint."
        )
    table = []
    mean_aucs = summary(rows)
    for label in sorted(labels, key=lambda lab: -mean_aucs.get(lab, -1)):
        mine = [r for r in rows if r["detector"] == label]
        done = [r for r in mine if not r.get("error")]
        line = [
            label,
            fmt(finite_mean([r["roc_auc"] for r in done])),
            fmt(ranks[label], 2),
            fmt(finite_mean([r["average_precision"] for r in done])),
            fmt(finite_mean([r["fpr_at_tpr"] for r in done]), 3),
            fmt(float(np.sum([r["fit_s"] or 0 for r in done])), 1),
            f"{len(done)} / {n_tasks}",
            str(sum(bool(r.get("plateau")) for r in done)) or "0",
        ]
        if published:
            line.append(fmt(published.get(label)))
        table.append(line)
    headers = [
        "detector",
        "mean AUC",
        "mean rank",
        "mean AP",
        "FPR@TPR0.995",
        "fit s (all tasks)",
        "tasks",
        "plateau flags",
    ]
    if published:
        headers.append("published mean AUC")
    body.append(markdown_table(headers, table))
    if published:
        body.append(
            "Published figures: "
            + " ".join(experiment.get("published_source", "").split())
        )
    failed = [r for r in rows if r.get("error")]
    if failed:
        body.append(
            "Failed rows: "
            + "; ".join(
                f"{r['detector']} on {r['dataset']} {r['normal_class']}: {r['error']}"
                for r in failed[:10]
            )
        )
    # AUC per task: one row per (data set, class), seeds averaged
    per_task = {}
    for row in rows:
        key = (row["dataset"], row["normal_class"])
        per_task.setdefault(key, {}).setdefault(row["detector"], []).append(
            row["roc_auc"]
        )
    task_rows = []
    for (dataset, normal), by_label in per_task.items():
        name = dataset.removeprefix("adbench:")
        if len({d for d, _ in per_task}) == 1:
            name = f"class {normal}"
        elif normal not in ("0", 0) or not dataset.startswith("adbench:"):
            name = f"{name}, class {normal}"
        aucs = {label: finite_mean(v) for label, v in by_label.items()}
        best = max((a for a in aucs.values() if not math.isnan(a)), default=math.nan)
        task_rows.append(
            [name]
            + [
                (
                    f"**{fmt(aucs[label])}**"
                    if aucs.get(label) == best
                    else fmt(aucs.get(label))
                )
                if label in aucs
                else "–"
                for label in labels
            ]
        )
    body.append(
        "AUC per task (the best in bold):\n\n"
        + markdown_table(["task"] + labels, task_rows)
    )
    body.append(settings_line(metadata))
    return "\n\n".join(body)
