"""A container that carries a fit array past scikit-learn's per-fold slicing."""

from __future__ import annotations

import numpy as np


class Negatives:
    """Negative examples wrapped so that cross-validation passes them whole.

    scikit-learn's searches and cross-validation (``GridSearchCV``,
    ``cross_validate``, ...) slice, fold by fold, every fit parameter that is
    array-like and has as many rows as ``X``: an ``X_negative`` array of the
    same length as ``X`` would reach each fold's fit cut down to that fold's
    rows (and paired with them), silently. scikit-learn passes objects that
    are not array-like through untouched, so this wrapper has no ``len``,
    ``shape`` or ``__array__``: ``fit(X, X_negative=Negatives(X_neg))`` gives
    every fold, and the final refit, all of ``X_neg``. Every detector unwraps
    it, for any extra fit array it declares (:class:`~skanomaly.LISAE`'s
    ``X_negative``), and then validates and scales the array like ``X``.

    Parameters
    ----------
    data : array-like of shape (n_negatives, n_features) or image array
        The negative examples, in the units and layout of ``X``.

    Attributes
    ----------
    data : array-like
        The wrapped array, as given (never copied).
    n_samples : int
        Number of negative examples.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils.validation import _check_method_params
    >>> from skanomaly import Negatives
    >>> X, X_neg = np.zeros((10, 3)), np.ones((10, 3))
    >>> neg = Negatives(X_neg)
    >>> neg
    Negatives(<10 samples>)
    >>> # what GridSearchCV does to fit parameters, fold by fold
    >>> folded = _check_method_params(X, {"X_negative": neg}, indices=[0, 1])
    >>> folded["X_negative"].data is X_neg
    True
    >>> _check_method_params(X, {"X_negative": X_neg}, indices=[0, 1])["X_negative"].shape
    (2, 3)
    """

    # no __len__, shape or __array__: scikit-learn must not see an array here
    def __init__(self, data) -> None:
        if isinstance(data, Negatives):
            data = data.data
        if not hasattr(data, "__len__") or isinstance(data, str):
            raise TypeError(
                "Negatives wraps an array-like of negative examples; got "
                f"{type(data).__name__}."
            )
        self.data = data

    @property
    def n_samples(self) -> int:
        """Number of negative examples."""
        return (
            int(np.shape(self.data)[0])
            if hasattr(self.data, "shape")
            else len(self.data)
        )

    def __repr__(self) -> str:
        return f"Negatives(<{self.n_samples} samples>)"


def unwrap_negatives(value):
    """The array inside a :class:`Negatives`, or ``value`` itself."""
    return value.data if isinstance(value, Negatives) else value
