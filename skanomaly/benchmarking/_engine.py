"""The benchmark engine: every detector on every one-class task of a data set.

:func:`run_benchmark` builds or clones the detectors, splits the data for each
normal class, fits and scores each detector (timed, with the global random
generators restored afterwards), computes the metrics and, given a checkpoint
file, appends each finished row to it and reuses the rows of earlier runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler

from skanomaly.benchmarking._budgets import get_budget
from skanomaly.benchmarking._checkpoint import Checkpoint, task_fingerprint
from skanomaly.benchmarking._data import load_benchmark_data
from skanomaly.benchmarking._environment import environment_info
from skanomaly.benchmarking._registry import DEFAULT_DETECTORS, make_detector
from skanomaly.benchmarking._results import (
    METRIC_COLUMNS,
    TIME_COLUMNS,
    TPR_LEVEL,
    BenchmarkResult,
)
from skanomaly.datasets import one_class_split
from skanomaly.metrics import (
    anomaly_score,
    best_f1,
    fpr_at_tpr,
    novelty_average_precision,
    novelty_roc_auc,
)
from skanomaly.utils._torch import resolve_device

#: the run-wide metadata entries that, with the normal class and the detector,
#: determine a row (its checkpoint fingerprint)
_ROW_SETTINGS = (
    "dataset",
    "protocol",
    "budget",
    "max_epochs",
    "seed",
    "anomaly_fraction",
    "train_fraction",
    "split",
)

#: the seed of the fixed half of a data set without an official split that
#: ``protocol="validation"`` tunes on (the same half for every run)
VALIDATION_SEED = 0

#: the share of the normal training samples and of anomalies in the test set
#: under protocol 1 and the validation protocol, unless the data set sets its own
DEFAULT_TRAIN_FRACTION, DEFAULT_ANOMALY_FRACTION = 0.8, 0.5


@contextlib.contextmanager
def _flagging_convergence_warnings():
    """Collect the ConvergenceWarnings of a fit; pass every other warning on.

    skanomaly's detectors warn when training ended on the plateau where every
    input is reconstructed alike; the benchmark flags those rows (``plateau``).
    """
    flagged = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield flagged
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            flagged.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


@contextlib.contextmanager
def _preserved_global_random_state(device):
    """Restore Python's, numpy's and torch's global generators afterwards.

    PyOD's deep detectors seed all three in ``__init__`` (so also on clone), and
    OneClassSVM draws from numpy's; the benchmark leaves them as it found them.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002
    hash_seed = os.environ.get("PYTHONHASHSEED")
    devices = []
    if (
        torch.device(resolve_device(device)).type == "cuda"
        and torch.cuda.is_initialized()
    ):
        devices = list(range(torch.cuda.device_count()))
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002
        if hash_seed is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = hash_seed


def _class_groups(normal_classes, labels):
    if normal_classes is None:
        return [(label,) for label in np.unique(labels).tolist()]
    if isinstance(normal_classes, (int, np.integer)):
        normal_classes = [normal_classes]
    groups = []
    for item in normal_classes:
        group = (item,) if isinstance(item, (int, np.integer)) else tuple(item)
        groups.append(tuple(int(c) for c in group))
    if not groups:
        raise ValueError("normal_classes is empty.")
    return groups


def _resolve_detectors(detectors, budget, seed):
    if detectors is None:
        detectors = DEFAULT_DETECTORS
    if isinstance(detectors, str):
        detectors = [detectors]
    if isinstance(detectors, Mapping):
        items = list(detectors.items())
    elif isinstance(detectors, Sequence):
        items = [(name, name) for name in detectors]
    else:
        raise ValueError(
            "detectors must map display names to estimators or registry names, or "
            f"list registry names; got {type(detectors).__name__}."
        )
    if not items:
        raise ValueError("no detector to run.")
    resolved = {}
    for display, spec in items:
        resolved[str(display)] = (
            make_detector(spec, budget, seed) if isinstance(spec, str) else spec
        )
    return resolved


def _fill_data_params(estimator, input_shape, n_features):
    """Set ``input_shape`` and ``n_features`` where a detector leaves them None."""
    try:
        params = estimator.get_params(deep=False)
    except AttributeError:
        return estimator
    if "input_shape" in params and params["input_shape"] is None:
        estimator.set_params(input_shape=input_shape)
    if "n_features" in params and params["n_features"] is None:
        estimator.set_params(n_features=n_features)
    return estimator


def _validation_part(data):
    """``(X, y)`` a validation task is built from: the official training split,
    or a fixed half of a data set without one. The test split is never read."""
    if data.X_test is not None:
        return data.X, data.y
    rng = np.random.RandomState(VALIDATION_SEED)
    half = np.sort(rng.permutation(len(data.y))[: len(data.y) // 2])
    return data.X[half], data.y[half]


def _cap(rng, arrays, limit):
    """A seeded subset of at most ``limit`` rows of equally long arrays."""
    if limit is None or len(arrays[0]) <= limit:
        return arrays
    keep = np.sort(rng.choice(len(arrays[0]), size=limit, replace=False))
    return [array[keep] for array in arrays]


def _split(data, group, *, protocol, train_fraction, anomaly_fraction, random_state):
    """``(X_train, X_test, y_test)`` of the one-class task of a class group."""
    X, y = data.X, data.y
    split_kwargs = {"protocol": protocol}
    if protocol == "validation":
        X, y = _validation_part(data)
        split_kwargs["protocol"] = 1
    elif data.X_test is not None:
        split_kwargs.update(X_test=data.X_test, y_test=data.y_test)
    if split_kwargs["protocol"] == 1:
        split_kwargs.update(
            train_fraction=train_fraction,
            anomaly_fraction=anomaly_fraction,
            random_state=random_state,
        )
    X_train, X_test, y_test = one_class_split(X, y, list(group), **split_kwargs)
    settings = data.get("split", {})
    rng = np.random.RandomState(random_state)
    (X_train,) = _cap(rng, [X_train], settings.get("max_train"))
    X_test, y_test = _cap(rng, [X_test, y_test], settings.get("max_test"))
    if settings.get("scale") == "minmax":
        scaler = MinMaxScaler().fit(X_train)
        X_train = scaler.transform(X_train).astype(np.float32)
        X_test = scaler.transform(X_test).astype(np.float32)
    return X_train, X_test, y_test


def _next_class_task(data, group):
    """``(X_train, X_test, y_test, X_negative)`` of LIS-AE's setting: class k's
    official training images train, the next class's (k + 1, cyclically over
    the sorted labels) are the negatives, and the official test split without
    that class tests."""
    if data.X_test is None:
        raise ValueError(
            "negatives='next-class' needs a data set with an official test split "
            "(protocol 2)."
        )
    if len(group) != 1:
        raise ValueError(
            "negatives='next-class' needs one normal class per task; got the "
            f"group {list(group)}."
        )
    labels = np.unique(data.y)
    (normal,) = group
    following = labels[(int(np.searchsorted(labels, normal)) + 1) % len(labels)]
    kept = data.y_test != following
    return (
        data.X[data.y == normal],
        data.X_test[kept],
        (data.y_test[kept] != normal).astype(np.int64),
        data.X[data.y == following],
    )


def _fit_data(estimator, fit_data):
    """The entries of ``fit_data`` that ``estimator.fit`` takes by name."""
    accepted = inspect.signature(estimator.fit).parameters
    return {name: value for name, value in fit_data.items() if name in accepted}


def _measure(template, split, *, input_shape, device, on_error, fit_data=None):
    """Fit a clone of ``template`` and score the test set: one row, unlabelled.

    ``fit_data`` (such as ``X_negative``) goes to ``fit`` where it takes it."""
    X_train, X_test, y_test = split
    row = {
        **dict.fromkeys(METRIC_COLUMNS + TIME_COLUMNS, math.nan),
        "n_train": int(len(X_train)),
        "n_test": int(len(X_test)),
        "anomaly_share": float(np.mean(y_test)),
        "plateau": False,
        "error": "",
    }
    try:
        with _preserved_global_random_state(device):
            estimator = _fill_data_params(
                clone(template), input_shape, int(np.prod(X_train.shape[1:]))
            )
            start = time.perf_counter()
            with _flagging_convergence_warnings() as flagged:
                estimator.fit(X_train, **_fit_data(estimator, fit_data or {}))
            row["fit_s"] = time.perf_counter() - start
            row["plateau"] = bool(flagged)
            start = time.perf_counter()
            scores = anomaly_score(estimator, X_test)
            row["score_s"] = time.perf_counter() - start
        row["roc_auc"] = novelty_roc_auc(y_test, scores)
        row["average_precision"] = novelty_average_precision(y_test, scores)
        row["fpr_at_tpr"] = fpr_at_tpr(y_test, scores, tpr=TPR_LEVEL)
        row["best_f1"] = best_f1(y_test, scores)[0]
    except Exception as exc:
        if on_error == "raise":
            raise
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def run_benchmark(
    detectors=None,
    *,
    dataset="digits",
    protocol=None,
    normal_classes=None,
    budget="quick",
    random_state=0,
    anomaly_fraction="auto",
    train_fraction="auto",
    data_home=None,
    progress=True,
    on_error="raise",
    checkpoint=None,
    negatives=None,
):
    """Benchmark novelty detectors on one-class tasks of a data set.

    For each detector and each normal class (or group of classes): split the
    data with :func:`skanomaly.datasets.one_class_split`, clone the detector,
    fit it on the normal training samples (timed), compute anomaly scores of
    the test set with :func:`skanomaly.metrics.anomaly_score` (timed; right
    sign for skanomaly, scikit-learn and PyOD detectors), and record ROC AUC,
    average precision, FPR at TPR 0.995 and the best F1, anomalies positive.
    Python's, numpy's and torch's global random states are restored after each
    fit, whatever the detector does to them.

    Parameters
    ----------
    detectors : mapping, sequence of str or None, default=None
        ``{display name: estimator or registry name}``, or registry names
        (keys of :data:`DETECTOR_FACTORIES`). Registry detectors are built for
        ``budget`` with ``random_state``; estimators are cloned as given.
        ``None``: :data:`DEFAULT_DETECTORS`.
    dataset : str, default="digits"
        ``"digits"``, ``"fashion-mnist"``, ``"mnist"``, ``"mnist-subset"`` or
        ``"adbench:NAME"``; see :func:`load_benchmark_data`.
    protocol : {1, 2, "validation"} or None, default=None
        The one-class protocol; ``None`` picks 2 for data sets with an
        official test split (MNIST, Fashion-MNIST) and 1 otherwise.
        ``"validation"`` builds protocol-1 tasks from the official training
        split only (or, without one, from a fixed half of the data): tune on
        these, never on the test split.
    normal_classes : int, sequence or None, default=None
        ``None``: every class as normal in turn (ADBench: class 0). A
        sequence runs each entry in turn; an entry that is itself a sequence
        of classes makes them normal together.
    budget : str or Budget, default="quick"
        Training budget of registry detectors (:data:`BUDGETS`).
    random_state : int, default=0
        Seed of the registry detectors and of protocol 1's splits.
    anomaly_fraction : float, None or "auto", default="auto"
        Protocol 1: share of anomalies in the test set (``None``: every
        anomaly). ``"auto"``: the data set's own setting (every anomaly for
        ADBench), else 0.5. Half anomalies keeps average precision and F1
        informative; with every anomaly of a ten-class data set the test set
        is 90 % anomalous and AP is close to 1 for any detector.
    train_fraction : float or "auto", default="auto"
        Protocol 1: share of the normal samples used for training; ``"auto"``:
        the data set's own setting (0.6 for ADBench), else 0.8. ADBench sets
        also cap the training and test rows at 3,000 each and min-max scale
        both on the training rows (``metadata["split"]``).
    data_home : str or path-like, default=None
        Where the MNIST / Fashion-MNIST idx files are.
    progress : bool, default=True
        Show a tqdm progress bar (on stderr).
    on_error : {"raise", "record"}, default="raise"
        ``"record"`` keeps going when a detector fails, storing the error in
        the row (metrics NaN).
    checkpoint : str or path-like, default=None
        A JSON lines file that makes the run resumable: each finished row is
        appended to it at once, and the rows it already holds for the same
        settings are loaded instead of computed again (see Notes). ``None``:
        no file.
    negatives : {None, "next-class"}, default=None
        ``"next-class"``: LIS-AE's setting (its Table 1). With class k normal,
        the official training images of the next class (k + 1, cyclically)
        are given to every detector whose ``fit`` takes ``X_negative``
        (:class:`~skanomaly.LISAE`) and left out of the test set; the other
        detectors fit on class k alone and are tested on the same images.
        Protocol 2 only, one normal class per task. ``None``: no negatives.

    Returns
    -------
    result : BenchmarkResult

    Notes
    -----
    With a ``checkpoint``, each (detector, normal class) row is appended to
    the file as soon as it is finished, flushed to disk, as one line
    ``{"settings": fingerprint, "row": row}``. The fingerprint is the SHA-256
    of the canonical JSON of everything that determines the row: the data set,
    protocol, normal class (group), budget name and ``max_epochs``, seed,
    ``anomaly_fraction`` and ``train_fraction`` (both ``None`` under protocol
    2), the detector's display name and its ``repr`` with whitespace
    normalised (as in ``metadata["detectors"]``). Run the same call again after
    an interruption: rows whose fingerprint is in the file are loaded, not
    fitted, and the result has every row in the usual order. Rows that failed
    (``on_error="record"``) are written but computed again on a rerun; a
    changed setting (another seed, other detector parameters) changes the
    fingerprint, so that row is computed again. Lines that cannot be read,
    such as the last line of a run killed while writing it, are ignored. The
    metadata then record ``checkpoint`` (the path) and ``resumed_rows`` (how
    many rows were loaded); resumed rows keep the seconds of the run that
    computed them, while ``wall_s`` counts this run only. The device and the
    library versions are not part of the fingerprint: use another file for
    another machine.

    Examples
    --------
    >>> from sklearn.ensemble import IsolationForest
    >>> from skanomaly.benchmarking import run_benchmark
    >>> result = run_benchmark({"iforest": IsolationForest(n_estimators=20, random_state=0)},
    ...                        normal_classes=[0, 1], progress=False)
    >>> [round(row["roc_auc"], 2) for row in result.rows]
    [1.0, 0.95]
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}.")
    started = time.perf_counter()
    budget = get_budget(budget)
    budget = dataclasses.replace(budget, dataset=dataset)
    data = load_benchmark_data(dataset, data_home=data_home)
    has_split = data.X_test is not None
    if protocol is None:
        protocol = 2 if has_split else 1
    if protocol not in (1, 2, "validation"):
        raise ValueError(f"protocol must be 1, 2 or 'validation', got {protocol!r}.")
    if negatives not in (None, "next-class"):
        raise ValueError(f"negatives must be None or 'next-class', got {negatives!r}.")
    if negatives is not None and protocol != 2:
        raise ValueError(
            f"negatives={negatives!r} applies to protocol 2 only, got protocol "
            f"{protocol!r}."
        )
    settings = data.get("split", {})
    if anomaly_fraction == "auto":
        anomaly_fraction = settings.get("anomaly_fraction", DEFAULT_ANOMALY_FRACTION)
    if train_fraction == "auto":
        train_fraction = settings.get("train_fraction", DEFAULT_TRAIN_FRACTION)
    if protocol == 2 and not has_split:
        raise ValueError(
            f"{dataset} has no official test split, so protocol 2 does not apply; "
            "use protocol 1."
        )
    all_labels = (
        data.y if data.y_test is None else np.concatenate([data.y, data.y_test])
    )
    if normal_classes is None:
        normal_classes = data.get("normal_classes")
    groups = _class_groups(normal_classes, all_labels)
    estimators = _resolve_detectors(detectors, budget, random_state)
    described = {name: " ".join(repr(est).split()) for name, est in estimators.items()}

    metadata = {
        "dataset": dataset,
        "protocol": protocol,
        "normal_classes": ["+".join(map(str, g)) for g in groups],
        "budget": budget.name,
        "max_epochs": budget.max_epochs,
        "seed": random_state,
        "anomaly_fraction": anomaly_fraction if protocol != 2 else None,
        "train_fraction": train_fraction if protocol != 2 else None,
        "split": {
            key: value
            for key, value in settings.items()
            if key not in ("anomaly_fraction", "train_fraction")
        },
        "detectors": described,
        **environment_info(budget.device),
    }
    run_settings = {key: metadata[key] for key in _ROW_SETTINGS}
    if negatives is not None:
        # only then: the rows of runs without negatives keep their fingerprints
        metadata["negatives"] = run_settings["negatives"] = negatives
    if checkpoint is not None:
        checkpoint = Checkpoint(checkpoint)
        metadata["checkpoint"] = str(checkpoint.path)

    from tqdm.auto import tqdm

    total = len(estimators) * len(groups)
    bar = tqdm(total=total, desc="benchmark", disable=not progress, file=sys.stderr)
    rows = []
    resumed_rows = 0
    try:
        for group in groups:
            label = "+".join(map(str, group))
            split = None  # made when a detector of this group needs it
            for name, template in estimators.items():
                bar.set_postfix_str(f"{name}, normal class {label}")
                fingerprint = None
                if checkpoint is not None:
                    fingerprint = task_fingerprint(
                        {
                            **run_settings,
                            "normal_class": label,
                            "detector": name,
                            "estimator": described[name],
                        }
                    )
                    if fingerprint in checkpoint.rows:
                        rows.append(dict(checkpoint.rows[fingerprint]))
                        resumed_rows += 1
                        bar.update(1)
                        continue
                if split is None and negatives == "next-class":
                    *split, X_negative = _next_class_task(data, group)
                    fit_data = {"X_negative": X_negative}
                elif split is None:
                    split = _split(
                        data,
                        group,
                        protocol=protocol,
                        train_fraction=train_fraction,
                        anomaly_fraction=anomaly_fraction,
                        random_state=random_state,
                    )
                    fit_data = {}
                measured = _measure(
                    template,
                    split,
                    input_shape=data.input_shape,
                    device=budget.device,
                    on_error=on_error,
                    fit_data=fit_data,
                )
                row = {"detector": name, "normal_class": label, **measured}
                if checkpoint is not None:
                    checkpoint.append(fingerprint, row)
                rows.append(row)
                bar.update(1)
    finally:
        bar.close()
    if checkpoint is not None:
        metadata["resumed_rows"] = resumed_rows
    # data loading, splits, fits, scoring and metrics, in seconds
    metadata["wall_s"] = round(time.perf_counter() - started, 2)
    return BenchmarkResult(rows=rows, metadata=metadata)
