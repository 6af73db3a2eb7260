"""Sign-safe novelty metrics: anomaly = positive, higher score = more anomalous."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve
from sklearn.metrics import roc_auc_score as _roc_auc_score
from sklearn.utils.validation import check_consistent_length, column_or_1d


def holds_predict_labels(y) -> bool:
    """Whether the labels ``y`` are exactly -1 and 1, scikit-learn's ``predict``
    convention (-1 marks the outliers)."""
    values = set(np.unique(y).tolist()) if np.size(y) else set()
    return values == {-1, 1}


def resolve_outlier_label(y_true, outlier_label, *, stacklevel: int = 3):
    """``outlier_label``, with ``None`` resolved for the labels ``y_true``.

    ``None`` means 1 ("anomaly = positive"), except for labels that are
    exactly -1 and 1, scikit-learn's ``predict`` convention, where -1 marks
    the outliers: then -1, with a ``UserWarning`` (reading them with
    ``outlier_label=1`` would invert every metric).
    """
    if outlier_label is not None:
        return outlier_label
    if holds_predict_labels(y_true):
        warnings.warn(
            "y_true holds -1 and 1, scikit-learn's predict convention, so -1 is "
            "taken as the outlier label. Pass outlier_label=-1 (or 1, if 1 "
            "marks the anomalies) to say so and silence this warning.",
            UserWarning,
            stacklevel=stacklevel,
        )
        return -1
    return 1


def _binary_outlier_target(y_true, anomaly_scores, outlier_label):
    """``(is_outlier, scores)`` after checking both inputs."""
    y_true = column_or_1d(y_true, warn=False)
    outlier_label = resolve_outlier_label(y_true, outlier_label, stacklevel=4)
    scores = column_or_1d(anomaly_scores, warn=False)
    check_consistent_length(y_true, scores)
    if y_true.size == 0:
        raise ValueError("y_true is empty.")
    try:
        scores = scores.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("anomaly_scores must be numbers.") from exc
    if not np.all(np.isfinite(scores)):
        raise ValueError("anomaly_scores contain NaN or infinite values.")
    is_outlier = y_true == outlier_label
    if not is_outlier.any():
        raise ValueError(
            f"outlier_label={outlier_label!r} does not occur in y_true (labels: "
            f"{np.unique(y_true).tolist()}); name the label of the anomalies, e.g. "
            "outlier_label=-1 for scikit-learn's predict labels."
        )
    if is_outlier.all():
        raise ValueError(
            "y_true holds only outliers; the metric needs normal samples too."
        )
    return is_outlier.astype(np.int64), scores


def novelty_roc_auc(y_true, anomaly_scores, *, outlier_label=None):
    """Area under the ROC curve with anomalies as the positive class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels; ``outlier_label`` marks the anomalies, anything else is normal.
    anomaly_scores : array-like of shape (n_samples,)
        Higher = more anomalous, e.g. ``-estimator.score_samples(X)`` or
        :func:`anomaly_score`.
    outlier_label : int, str, bool or None, default=None
        The label of the anomalies in ``y_true``. None: 1, except for labels
        -1 and 1 (scikit-learn's ``predict`` convention), where -1, with a
        warning.

    Returns
    -------
    auc : float
        1.0 when every anomaly scores above every normal sample, 0.5 for chance.

    Examples
    --------
    >>> from skanomaly.metrics import novelty_roc_auc
    >>> novelty_roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> novelty_roc_auc([1, 1, -1, -1], [0.1, 0.4, 0.35, 0.8], outlier_label=-1)
    0.75
    """
    y, scores = _binary_outlier_target(y_true, anomaly_scores, outlier_label)
    return float(_roc_auc_score(y, scores))


def novelty_average_precision(y_true, anomaly_scores, *, outlier_label=None):
    """Average precision of finding the anomalies (area under the PR curve).

    Unlike ROC AUC it is not symmetric: it measures how well the anomalies are
    ranked first, so naming the anomalies with ``outlier_label`` matters.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels; ``outlier_label`` marks the anomalies.
    anomaly_scores : array-like of shape (n_samples,)
        Higher = more anomalous.
    outlier_label : int, str, bool or None, default=None
        The label of the anomalies in ``y_true``. None: 1, except for labels
        -1 and 1 (scikit-learn's ``predict`` convention), where -1, with a
        warning.

    Returns
    -------
    average_precision : float
        Between the share of anomalies (random ranking) and 1.0.

    Examples
    --------
    >>> from skanomaly.metrics import novelty_average_precision
    >>> round(novelty_average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    y, scores = _binary_outlier_target(y_true, anomaly_scores, outlier_label)
    return float(average_precision_score(y, scores))


def fpr_at_tpr(y_true, anomaly_scores, *, tpr=0.995, outlier_label=None):
    """False positive rate at the first threshold that finds ``tpr`` of the anomalies.

    Anomalies are the positive class, as in the ARAE and Puzzle-AE papers: the
    result is the share of normal samples flagged when the threshold is just low
    enough to flag at least ``tpr`` of the anomalies. Lower is better.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels; ``outlier_label`` marks the anomalies.
    anomaly_scores : array-like of shape (n_samples,)
        Higher = more anomalous.
    tpr : float, default=0.995
        The true positive rate (recall of anomalies) to reach, in (0, 1].
    outlier_label : int, str, bool or None, default=None
        The label of the anomalies in ``y_true``. None: 1, except for labels
        -1 and 1 (scikit-learn's ``predict`` convention), where -1, with a
        warning.

    Returns
    -------
    fpr : float
        In [0, 1]; lower is better.

    Examples
    --------
    >>> from skanomaly.metrics import fpr_at_tpr
    >>> fpr_at_tpr([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.6, 0.9], tpr=1.0)
    0.25
    >>> fpr_at_tpr([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.6, 0.9], tpr=0.5)
    0.0
    """
    if not isinstance(tpr, Real) or not 0 < tpr <= 1:
        raise ValueError(f"tpr must be in (0, 1], got {tpr!r}.")
    y, scores = _binary_outlier_target(y_true, anomaly_scores, outlier_label)
    fprs, tprs, _ = roc_curve(y, scores, drop_intermediate=False)
    # tprs is non-decreasing and ends at 1; tolerate rounding in k / n_positive
    reached = np.flatnonzero(tprs >= tpr - 1e-12)
    return float(fprs[reached[0]])


def best_f1(y_true, anomaly_scores, *, outlier_label=None):
    """Highest F1 score of the anomaly class over all thresholds, and its threshold.

    Samples with ``anomaly_scores >= threshold`` are predicted anomalous. The
    threshold is chosen on the data given, so it is an optimistic, oracle
    figure (as the papers' "best F1"); choose thresholds for deployment on
    separate data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels; ``outlier_label`` marks the anomalies.
    anomaly_scores : array-like of shape (n_samples,)
        Higher = more anomalous.
    outlier_label : int, str, bool or None, default=None
        The label of the anomalies in ``y_true``. None: 1, except for labels
        -1 and 1 (scikit-learn's ``predict`` convention), where -1, with a
        warning.

    Returns
    -------
    f1 : float
        The best F1 of the anomaly class.
    threshold : float
        The anomaly score threshold that reaches it.

    Examples
    --------
    >>> from skanomaly.metrics import best_f1
    >>> f1, threshold = best_f1([0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.5, 0.9])
    >>> round(f1, 4), threshold
    (0.8, 0.5)
    """
    y, scores = _binary_outlier_target(y_true, anomaly_scores, outlier_label)
    precision, recall, thresholds = precision_recall_curve(y, scores)
    # the last point (precision 1, recall 0) has no threshold
    precision, recall = precision[:-1], recall[:-1]
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall,
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    best = int(np.argmax(f1))
    return float(f1[best]), float(thresholds[best])
