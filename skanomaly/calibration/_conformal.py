"""Split-conformal thresholds, p-values and false-discovery control.

Pure numpy: the functions take *normality* scores (scikit-learn's sign,
higher = more normal, as ``score_samples`` returns them) of calibration rows,
normal rows the detector did not train on, and of new rows.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from scipy.stats import false_discovery_control


def _calibration_array(calibration_scores) -> np.ndarray:
    scores = np.asarray(calibration_scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise ValueError("calibration_scores is empty; calibrate on normal rows.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("calibration_scores contain NaN or infinite values.")
    return np.sort(scores)


def _check_rate(value, name: str, *, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}.")
    if not 0 < value <= high:
        raise ValueError(f"{name} must be in (0, {high}], got {value!r}.")
    return float(value)


def conformal_threshold(calibration_scores, contamination) -> float:
    """The split-conformal threshold on normality scores.

    With ``n`` calibration scores, it is the ``k``-th smallest of them,
    ``k = floor(contamination * (n + 1))``. A new normal sample, exchangeable
    with the calibration rows, scores below it with probability ``k / (n + 1)``,
    which is at most ``contamination`` and within ``1 / (n + 1)`` of it. When
    ``k`` is 0 (fewer than ``1 / contamination - 1`` calibration rows) no finite
    threshold keeps that guarantee and the threshold is ``-inf``: nothing is
    flagged.

    Parameters
    ----------
    calibration_scores : array-like of shape (n_calibration,)
        Normality scores (higher = more normal) of normal rows the detector did
        not train on.
    contamination : float
        The share of new normal rows to flag at most, in (0, 1].

    Returns
    -------
    threshold : float
        Flag a sample when its normality score is strictly below it.

    Examples
    --------
    >>> from skanomaly.calibration import conformal_threshold
    >>> conformal_threshold([5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 9.0, 8.0, 7.0], 0.2)
    2.0
    >>> conformal_threshold([1.0, 2.0, 3.0], 0.1)
    -inf
    """
    scores = _calibration_array(calibration_scores)
    contamination = _check_rate(contamination, "contamination")
    k = math.floor(contamination * (scores.size + 1) + 1e-9)
    if k == 0:
        return -math.inf
    return float(scores[min(k, scores.size) - 1])


def min_calibration_rows(contamination) -> int:
    """The fewest calibration rows for which :func:`conformal_threshold` is finite.

    Parameters
    ----------
    contamination : float
        In (0, 1].

    Returns
    -------
    n : int
        ``ceil(1 / contamination) - 1``.

    Examples
    --------
    >>> from skanomaly.calibration import min_calibration_rows
    >>> min_calibration_rows(0.1), min_calibration_rows(0.05), min_calibration_rows(0.01)
    (9, 19, 99)
    """
    contamination = _check_rate(contamination, "contamination")
    return max(math.ceil(1.0 / contamination - 1e-9) - 1, 1)


def conformal_pvalues(calibration_scores, scores) -> np.ndarray:
    """Split-conformal p-values of new samples (small = anomalous).

    ``p(x) = (1 + #{calibration scores <= s(x)}) / (n + 1)``. For a normal
    sample exchangeable with the calibration rows, ``P(p <= alpha) <= alpha``
    for every ``alpha``: the p-values of normal data are (super-)uniform.

    Parameters
    ----------
    calibration_scores : array-like of shape (n_calibration,)
        Normality scores (higher = more normal) of normal rows the detector did
        not train on.
    scores : array-like of shape (n_samples,)
        Normality scores of the samples to test.

    Returns
    -------
    pvalues : ndarray of shape (n_samples,), dtype float64
        In ``[1 / (n + 1), 1]``.

    Examples
    --------
    >>> from skanomaly.calibration import conformal_pvalues
    >>> conformal_pvalues([1.0, 2.0, 3.0, 4.0], [0.5, 2.5, 10.0])
    array([0.2, 0.6, 1. ])
    """
    calibration = _calibration_array(calibration_scores)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN values.")
    below_or_equal = np.searchsorted(calibration, scores, side="right")
    return (1.0 + below_or_equal) / (calibration.size + 1.0)


def select_anomalies(pvalues, *, fdr=0.1) -> np.ndarray:
    """Benjamini-Hochberg selection of anomalies at a false-discovery rate.

    Flags the samples whose Benjamini-Hochberg adjusted p-value
    (:func:`scipy.stats.false_discovery_control`) is at most ``fdr``. With
    conformal p-values of one calibration set the expected share of normal
    samples among those flagged stays at or below ``fdr`` (Bates et al.,
    "Testing for outliers with conformal p-values", Ann. Statist. 2023).
    Unlike ``predict``, which flags a fixed share of normal data, this controls
    the share of false alarms among the alarms.

    Parameters
    ----------
    pvalues : array-like of shape (n_samples,)
        P-values, small = anomalous, e.g. from
        :meth:`~skanomaly.base.BaseDeepDetector.conformal_pvalues`.
    fdr : float, default=0.1
        Target false-discovery rate, in (0, 1].

    Returns
    -------
    is_anomaly : ndarray of shape (n_samples,), dtype bool
        True for the selected samples.

    Examples
    --------
    >>> from skanomaly.calibration import select_anomalies
    >>> select_anomalies([0.001, 0.002, 0.5, 0.9, 0.03], fdr=0.1)
    array([ True,  True, False, False,  True])
    """
    fdr = _check_rate(fdr, "fdr")
    pvalues = np.asarray(pvalues, dtype=np.float64).ravel()
    if pvalues.size == 0:
        return np.zeros(0, dtype=bool)
    if np.isnan(pvalues).any() or (pvalues < 0).any() or (pvalues > 1).any():
        raise ValueError("pvalues must lie in [0, 1].")
    return false_discovery_control(pvalues, method="bh") <= fdr


def calibration_split(n_samples: int, calibration, seed: int):
    """``(train_rows, calibration_rows)``: sorted row numbers of a seeded split.

    ``calibration`` is a share of the rows in (0, 1) (rounded up, as
    scikit-learn's ``test_size``) or a count of rows. Returns None when a share
    leaves no calibration row or fewer than two training rows; raises
    ``ValueError`` when a count does.

    Examples
    --------
    >>> from skanomaly.calibration import calibration_split
    >>> train, calib = calibration_split(10, 0.2, seed=0)
    >>> len(train), len(calib), sorted([*train, *calib]) == list(range(10))
    (8, 2, True)
    >>> calibration_split(2, 0.2, seed=0) is None
    True
    """
    if isinstance(calibration, Integral):
        n_calibration = int(calibration)
        if n_samples - n_calibration < 2:
            raise ValueError(
                f"calibration={n_calibration} holds out {n_calibration} of the "
                f"{n_samples} training rows and leaves fewer than 2 to train on; "
                "hold out fewer rows or pass a share such as calibration=0.2."
            )
    else:
        n_calibration = math.ceil(float(calibration) * n_samples - 1e-9)
        if n_calibration < 1 or n_samples - n_calibration < 2:
            return None
    return seeded_split(n_samples, n_calibration, seed)


def seeded_split(n_samples: int, n_held_out: int, seed: int):
    """``(kept_rows, held_out_rows)``: sorted row numbers, ``n_held_out`` of
    them drawn at random with ``seed`` (numpy's global generator untouched).

    Examples
    --------
    >>> from skanomaly.calibration import seeded_split
    >>> kept, held_out = seeded_split(6, 2, seed=0)
    >>> len(kept), len(held_out), sorted([*kept, *held_out]) == list(range(6))
    (4, 2, True)
    """
    order = np.random.RandomState(seed).permutation(n_samples)
    return np.sort(order[n_held_out:]), np.sort(order[:n_held_out])
