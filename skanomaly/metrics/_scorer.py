"""Anomaly scores of any detector, and scorers for scikit-learn's searches."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import column_or_1d

from skanomaly.metrics._ranking import (
    best_f1,
    fpr_at_tpr,
    novelty_average_precision,
    novelty_roc_auc,
    resolve_outlier_label,
)


def _is_pyod_detector(estimator) -> bool:
    try:
        from pyod.models.base import BaseDetector
    except ImportError:  # PyOD absent: nothing can be a PyOD detector
        return False
    return isinstance(estimator, BaseDetector)


def _innermost(estimator):
    """The estimator whose methods a Pipeline or a fitted search delegates to."""
    while True:
        if isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_") and hasattr(estimator, "cv"):
            estimator = estimator.best_estimator_
        else:
            return estimator


def anomaly_score(estimator, X):
    """Anomaly scores of a fitted detector, whatever its convention: higher = more anomalous.

    The sign depends on where the detector comes from:

    - a PyOD ``BaseDetector`` (including the result of
      :func:`skanomaly.adapters.to_pyod`): ``decision_function(X)``, as PyOD's
      is already higher = more abnormal;
    - anything else with ``score_samples`` (skanomaly detectors, scikit-learn's
      IsolationForest, LocalOutlierFactor(novelty=True), OneClassSVM, detectors
      wrapped by :func:`skanomaly.adapters.from_pyod`): ``-score_samples(X)``;
    - otherwise ``-decision_function(X)`` (scikit-learn's sign).

    A :class:`~sklearn.pipeline.Pipeline` or a fitted search
    (``GridSearchCV``...) is judged by its final / best estimator. Any other
    object is taken at its word: its ``score_samples`` and
    ``decision_function`` are read with scikit-learn's sign (higher = more
    normal).

    Parameters
    ----------
    estimator : fitted detector
        A scikit-learn style or PyOD style outlier detector.
    X : array-like of shape (n_samples, n_features)
        Samples to score.

    Returns
    -------
    scores : ndarray of shape (n_samples,), dtype float64
        Higher = more anomalous; feed them to :func:`novelty_roc_auc` and the
        other metrics.

    Raises
    ------
    TypeError
        If the estimator has neither ``score_samples`` nor ``decision_function``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skanomaly.metrics import anomaly_score
    >>> rng = np.random.RandomState(0)
    >>> forest = IsolationForest(random_state=0).fit(rng.normal(size=(100, 2)))
    >>> scores = anomaly_score(forest, [[0.0, 0.0], [6.0, 6.0]])
    >>> bool(scores[1] > scores[0])
    True
    """
    inner = _innermost(estimator)
    if _is_pyod_detector(inner):
        scores = estimator.decision_function(X)
    elif hasattr(estimator, "score_samples"):
        scores = -np.asarray(estimator.score_samples(X), dtype=np.float64)
    elif hasattr(estimator, "decision_function"):
        scores = -np.asarray(estimator.decision_function(X), dtype=np.float64)
    else:
        raise TypeError(
            f"{type(estimator).__name__} has neither score_samples nor "
            "decision_function; it is not an outlier detector."
        )
    return column_or_1d(np.asarray(scores, dtype=np.float64), warn=False)


#: name -> (metric, greater_is_better)
_METRICS = {
    "roc_auc": (novelty_roc_auc, True),
    "average_precision": (novelty_average_precision, True),
    "fpr_at_tpr": (fpr_at_tpr, False),
    "best_f1": (best_f1, True),
}
_ALIASES = {"neg_fpr_at_tpr": "fpr_at_tpr"}


class NoveltyScorer:
    """A scorer ``scorer(estimator, X, y)`` for GridSearchCV and cross_val_score.

    Build it with :func:`make_novelty_scorer` or :func:`get_novelty_scorer`. It
    computes :func:`anomaly_score` (so the sign is right for skanomaly,
    scikit-learn and PyOD detectors alike), marks ``y == outlier_label`` as the
    positive class, and returns ``sign * metric(is_outlier, scores, **kwargs)``
    with ``sign = -1`` for metrics where lower is better, as scikit-learn's
    searches maximise.

    Parameters
    ----------
    metric : callable
        ``metric(y_binary, anomaly_scores, **kwargs)`` with ``y_binary`` 1 for
        anomalies; a tuple result (:func:`best_f1`) is reduced to its first
        element.
    sign : {1, -1}
        -1 negates the metric.
    outlier_label : int, str, bool or None
        The label of the anomalies in ``y``; None: 1, or -1 for labels -1 and
        1 (scikit-learn's ``predict`` convention), with a warning.
    kwargs : dict
        Extra arguments of the metric.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import LocalOutlierFactor
    >>> from skanomaly.metrics import get_novelty_scorer
    >>> lof = LocalOutlierFactor(novelty=True).fit(np.random.RandomState(0).rand(50, 2))
    >>> scorer = get_novelty_scorer("roc_auc")
    >>> scorer(lof, [[0.5, 0.5], [3.0, 3.0]], [0, 1])
    1.0
    """

    def __init__(self, metric, sign, outlier_label, kwargs):
        self.metric = metric
        self.sign = sign
        self.outlier_label = outlier_label
        self.kwargs = kwargs

    def __call__(self, estimator, X, y_true):
        y_true = column_or_1d(y_true, warn=False)
        outlier_label = resolve_outlier_label(y_true, self.outlier_label)
        is_outlier = y_true == outlier_label
        if not is_outlier.any():
            raise ValueError(
                f"outlier_label={outlier_label!r} does not occur in y "
                f"(labels: {np.unique(y_true).tolist()}); name the anomalies' label."
            )
        value = self.metric(
            is_outlier.astype(np.int64), anomaly_score(estimator, X), **self.kwargs
        )
        if isinstance(value, tuple):
            value = value[0]
        return self.sign * float(value)

    def __repr__(self):
        name = getattr(self.metric, "__name__", repr(self.metric))
        extra = "".join(f", {key}={value!r}" for key, value in self.kwargs.items())
        direction = "" if self.sign == 1 else ", greater_is_better=False"
        return (
            f"make_novelty_scorer({name}, outlier_label={self.outlier_label!r}"
            f"{direction}{extra})"
        )


def make_novelty_scorer(
    metric, *, outlier_label=None, greater_is_better=None, **kwargs
):
    """Make a sign-safe scorer for outlier detectors from a metric.

    The scorer feeds the metric the labels as 0/1 (1 = ``outlier_label``) and
    anomaly scores from :func:`anomaly_score`, so one ``y`` gives the right
    answer for skanomaly detectors, scikit-learn's IsolationForest,
    LocalOutlierFactor(novelty=True) and OneClassSVM, PyOD detectors and
    detectors wrapped by :func:`skanomaly.adapters.from_pyod`. (scikit-learn's
    built-in ``"roc_auc"`` scoring instead reads ``decision_function`` with the
    larger label as positive, so the same ``y`` yields AUC for PyOD and 1 - AUC
    for scikit-learn detectors.)

    Parameters
    ----------
    metric : str or callable
        One of ``"roc_auc"``, ``"average_precision"``, ``"fpr_at_tpr"``,
        ``"best_f1"``, or a callable ``metric(y_binary, anomaly_scores,
        **kwargs)`` such as :func:`sklearn.metrics.roc_auc_score`.
    outlier_label : int, str, bool or None, default=None
        The label of the anomalies in the ``y`` the search passes. None: 1,
        except for labels -1 and 1 (scikit-learn's ``predict`` convention),
        where -1, with a warning.
    greater_is_better : bool, default=None
        ``False`` makes the scorer return minus the metric (scikit-learn's
        searches maximise). ``None``: ``False`` for ``"fpr_at_tpr"``, ``True``
        otherwise.
    **kwargs
        Passed to the metric, e.g. ``tpr=0.95`` for ``"fpr_at_tpr"``.

    Returns
    -------
    scorer : NoveltyScorer
        A callable ``scorer(estimator, X, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skanomaly.metrics import make_novelty_scorer
    >>> rng = np.random.RandomState(0)
    >>> forest = IsolationForest(random_state=0).fit(rng.normal(size=(100, 2)))
    >>> X = np.r_[rng.normal(size=(20, 2)), rng.normal(6, 1, size=(5, 2))]
    >>> y = np.r_[np.zeros(20), np.ones(5)]
    >>> scorer = make_novelty_scorer("fpr_at_tpr", tpr=0.8)
    >>> scorer(forest, X, y)
    -0.0
    """
    if isinstance(metric, str):
        name = _ALIASES.get(metric, metric)
        if name not in _METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; choose one of "
                f"{sorted(_METRICS) + sorted(_ALIASES)} or pass a callable."
            )
        metric, default_direction = _METRICS[name]
    elif callable(metric):
        default_direction = True
    else:
        raise ValueError(f"metric must be a name or a callable, got {metric!r}.")
    if greater_is_better is None:
        greater_is_better = default_direction
    return NoveltyScorer(metric, 1 if greater_is_better else -1, outlier_label, kwargs)


def get_novelty_scorer(name, *, outlier_label=None):
    """A ready-made novelty scorer by name.

    - ``"roc_auc"``: :func:`novelty_roc_auc`;
    - ``"average_precision"``: :func:`novelty_average_precision`;
    - ``"fpr_at_tpr"`` (alias ``"neg_fpr_at_tpr"``): **minus**
      :func:`fpr_at_tpr` at TPR 0.995. A lower FPR is better and searches
      maximise, so the scorer negates it, like scikit-learn's ``neg_*`` scorers;
    - ``"best_f1"``: the F1 of :func:`best_f1`.

    Parameters
    ----------
    name : str
        One of the names above.
    outlier_label : int, str, bool or None, default=None
        The label of the anomalies in ``y`` (None: as
        :func:`make_novelty_scorer`).

    Returns
    -------
    scorer : NoveltyScorer
        Use it as ``scoring=`` in GridSearchCV or cross_val_score.

    Examples
    --------
    >>> from skanomaly.metrics import get_novelty_scorer
    >>> get_novelty_scorer("roc_auc")
    make_novelty_scorer(novelty_roc_auc, outlier_label=None)
    """
    return make_novelty_scorer(name, outlier_label=outlier_label)


def get_novelty_scorer_names():
    """Names accepted by :func:`get_novelty_scorer`.

    Returns
    -------
    names : list of str
        Sorted.

    Examples
    --------
    >>> from skanomaly.metrics import get_novelty_scorer_names
    >>> get_novelty_scorer_names()
    ['average_precision', 'best_f1', 'fpr_at_tpr', 'neg_fpr_at_tpr', 'roc_auc']
    """
    return sorted([*_METRICS, *_ALIASES])
