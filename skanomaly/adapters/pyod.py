"""PyOD interop, both directions: the one place that knows PyOD's conventions.

scikit-learn (and skanomaly) and PyOD score in opposite directions:

- scikit-learn: ``score_samples`` is **higher for more normal** samples,
  ``decision_function = score_samples - offset_`` is negative for outliers and
  ``predict`` returns +1 (inlier) / -1 (outlier);
- PyOD: ``decision_function`` is **higher for more abnormal** samples,
  ``threshold_`` is the ``100 * (1 - contamination)`` percentile of the training
  scores ``decision_scores_``, and ``predict`` returns 0 (inlier) / 1 (outlier).
  :func:`to_pyod` of a skanomaly detector keeps the detector's calibrated
  threshold instead (``threshold_ = -offset_``, calibrated on held-out rows).

:func:`to_pyod` makes a scikit-learn outlier detector look like a PyOD detector,
:func:`from_pyod` makes a PyOD detector look like a scikit-learn one. PyOD itself
is imported only when a :class:`PyODAdapter` is first needed.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["FromPyOD", "from_pyod", "to_pyod"]


def _check_sklearn_detector(estimator) -> None:
    if isinstance(estimator, type):
        raise TypeError(
            f"to_pyod expects an estimator instance, got the class {estimator!r}; "
            "instantiate it first."
        )
    missing = [
        name for name in ("fit", "score_samples") if not hasattr(estimator, name)
    ]
    if missing:
        hint = ""
        if type(estimator).__name__ == "LocalOutlierFactor":
            hint = " LocalOutlierFactor scores new data only with novelty=True."
        raise TypeError(
            "to_pyod needs a scikit-learn outlier detector with fit and "
            f"score_samples (higher = more normal); {type(estimator).__name__} "
            f"lacks {' and '.join(missing)}.{hint}"
        )


def _check_pyod_detector(detector) -> None:
    if isinstance(detector, type):
        raise TypeError(
            f"from_pyod expects a detector instance, got the class {detector!r}; "
            "instantiate it first, e.g. IForest()."
        )
    missing = [
        name
        for name in ("fit", "decision_function", "get_params")
        if not hasattr(detector, name)
    ]
    if hasattr(detector, "score_samples"):
        raise TypeError(
            f"{type(detector).__name__} has score_samples: it is a scikit-learn "
            "style detector (higher = more normal) and needs no wrapping; "
            "from_pyod is for PyOD detectors (higher = more abnormal)."
        )
    if missing:
        raise TypeError(
            "from_pyod needs a PyOD detector (fit, decision_function with higher = "
            f"more abnormal, threshold_ after fit); {type(detector).__name__} lacks "
            f"{', '.join(missing)}."
        )


# --------------------------------------------------------------------- to_pyod
def _contamination_of(estimator) -> float:
    get_params = getattr(estimator, "get_params", None)
    value = get_params(deep=False).get("contamination") if get_params else None
    if isinstance(value, Real) and not isinstance(value, bool) and 0 < value <= 0.5:
        return float(value)
    return 0.1


def _has_calibrated_threshold(estimator) -> bool:
    """Whether ``estimator`` calibrates its own threshold on held-out rows (a
    skanomaly detector whose ``calibration`` is not ``"training"``)."""
    from skanomaly.base import BaseDeepDetector

    return (
        isinstance(estimator, BaseDeepDetector)
        and estimator.get_params(deep=False).get("calibration") != "training"
    )


def _make_pyod_adapter_class():
    from pyod.models.base import BaseDetector

    class PyODAdapter(BaseDetector):
        """A scikit-learn outlier detector seen through PyOD's conventions.

        Build it with :func:`to_pyod`. ``fit`` clones and fits ``estimator``;
        every score is minus the estimator's ``score_samples``, so higher means
        more abnormal, as PyOD expects. The result works wherever PyOD takes a
        detector: :mod:`pyod.models.combination`, ``SUOD``, ``LSCP``.

        Parameters
        ----------
        estimator : estimator object
            A scikit-learn style outlier detector with ``fit`` and
            ``score_samples`` (higher = more normal): any skanomaly detector,
            ``IsolationForest``, ``LocalOutlierFactor(novelty=True)``,
            ``OneClassSVM``, or a Pipeline ending in one.
        contamination : float, default=0.1
            In (0, 0.5]. For an estimator with a calibrated threshold (every
            skanomaly detector: ``calibration_scores_`` after fit) it becomes
            the estimator's ``contamination``, the share of unseen normal rows
            flagged, and ``threshold_ = -estimator_.offset_``. For any other
            estimator it is PyOD's share of outliers in the training data.

        Attributes
        ----------
        estimator_ : estimator object
            The fitted clone of ``estimator``.
        decision_scores_ : ndarray of shape (n_samples,)
            Anomaly scores of the training data, ``-estimator_.score_samples(X)``.
        threshold_ : float
            ``-estimator_.offset_`` for a calibrated estimator (a skanomaly
            detector), else the ``100 * (1 - contamination)`` percentile of
            ``decision_scores_``.
        labels_ : ndarray of shape (n_samples,)
            0 (inlier) / 1 (outlier) labels of the training data.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.ensemble import IsolationForest
        >>> from skanomaly.adapters import to_pyod
        >>> X = np.random.RandomState(0).normal(size=(50, 2))
        >>> det = to_pyod(IsolationForest(random_state=0)).fit(X)
        >>> det.predict(np.array([[0.0, 0.0], [8.0, 8.0]]))
        array([0, 1])
        """

        def __init__(self, estimator, contamination=0.1):
            super().__init__(contamination=contamination)
            self.estimator = estimator

        def fit(self, X, y=None, **fit_params):
            """Clone and fit ``estimator`` on ``X``; set PyOD's fitted attributes.

            Parameters
            ----------
            X : array-like of shape (n_samples, n_features)
                Training data.
            y : Ignored
                Not used (PyOD's convention).
            **fit_params : dict
                Passed to the estimator's ``fit``.

            Returns
            -------
            self : object
                The fitted detector.
            """
            _check_sklearn_detector(self.estimator)
            self._set_n_classes(None)
            estimator = clone(self.estimator)
            # a PyThresh object as contamination labels through PyOD's rule
            calibrated = _has_calibrated_threshold(estimator) and isinstance(
                self.contamination, Real
            )
            if calibrated:
                estimator.set_params(contamination=self.contamination)
            self.estimator_ = estimator.fit(X, **fit_params)
            self.decision_scores_ = self._anomaly_scores(X)
            self._process_decision_scores()
            if calibrated:
                # the threshold calibrated on held-out rows, not PyOD's
                # percentile of the training scores (which flags more than
                # contamination of new normal rows for a deep detector)
                self.threshold_ = -float(self.estimator_.offset_)
                self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
            return self

        def _anomaly_scores(self, X):
            scores = self.estimator_.score_samples(X)
            return -np.asarray(scores, dtype=np.float64).ravel()

        def decision_function(self, X):
            """Anomaly scores: ``-estimator_.score_samples(X)``, higher = abnormal.

            Parameters
            ----------
            X : array-like of shape (n_samples, n_features)
                Samples to score.

            Returns
            -------
            anomaly_scores : ndarray of shape (n_samples,), dtype float64
                Larger for more abnormal samples.
            """
            check_is_fitted(self, ["estimator_", "decision_scores_", "threshold_"])
            return self._anomaly_scores(X)

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            try:
                inner = get_tags(self.estimator)
            except Exception:  # an estimator whose tags cannot be read
                return tags
            tags.input_tags.allow_nan = inner.input_tags.allow_nan
            tags.input_tags.sparse = inner.input_tags.sparse
            tags.non_deterministic = inner.non_deterministic
            return tags

    PyODAdapter.__module__ = __name__
    PyODAdapter.__qualname__ = "PyODAdapter"
    return PyODAdapter


def _pyod_adapter_class():
    """The BaseDetector subclass, built (importing PyOD) once, on first use."""
    cls = globals().get("PyODAdapter")
    if cls is None:
        cls = globals()["PyODAdapter"] = _make_pyod_adapter_class()
    return cls


def __getattr__(name):
    # PEP 562: ``skanomaly.adapters.pyod.PyODAdapter`` resolves lazily, and the
    # class stays a module attribute, so pickle finds it by its qualified name.
    if name == "PyODAdapter":
        return _pyod_adapter_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_pyod(estimator, *, contamination=None):
    """Wrap a scikit-learn outlier detector as a PyOD detector.

    The wrapper is a :class:`pyod.models.base.BaseDetector`: after ``fit`` it
    has ``decision_scores_`` (minus the estimator's training ``score_samples``,
    higher = more abnormal), ``threshold_`` and ``labels_`` (0/1) set by PyOD's
    own ``_process_decision_scores``; ``decision_function(X)`` is
    ``-score_samples(X)``, ``predict`` returns 0/1 and ``predict_proba`` works.
    It fits a clone, so ``estimator`` is not modified, and it can be handed to
    PyOD's combination functions, ``SUOD`` and ``LSCP``.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn style outlier detector with ``fit`` and ``score_samples``
        (higher = more normal), e.g. any skanomaly detector.
    contamination : float or None, default=None
        PyOD's contamination, in (0, 0.5]. ``None`` takes the estimator's own
        ``contamination`` when it is a float, else PyOD's default 0.1.

    Returns
    -------
    detector : PyODAdapter
        An unfitted PyOD detector holding ``estimator``.

    Raises
    ------
    TypeError
        If ``estimator`` has no ``fit`` or ``score_samples`` (for example
        ``LocalOutlierFactor`` without ``novelty=True``).

    See Also
    --------
    from_pyod : the opposite direction.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.adapters import to_pyod
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0.4, 0.6, size=(64, 8))
    >>> det = to_pyod(DenoisingAE(hidden_dims=(16, 4), max_epochs=2,
    ...                           random_state=0, device="cpu")).fit(X)
    >>> det.decision_scores_.shape, det.labels_.shape
    ((64,), (64,))
    >>> det.predict(np.array([[0.5] * 8, [5.0] * 8]))
    array([0, 1])
    """
    _check_sklearn_detector(estimator)
    if contamination is None:
        contamination = _contamination_of(estimator)
    return _pyod_adapter_class()(estimator=estimator, contamination=contamination)


# ------------------------------------------------------------------- from_pyod
class FromPyOD(OutlierMixin, BaseEstimator):
    """A PyOD detector seen through scikit-learn's outlier conventions.

    Build it with :func:`from_pyod` or directly. ``fit`` validates ``X``, clones
    ``detector`` and fits the clone. Scores flip PyOD's sign:
    ``score_samples = -detector_.decision_function`` (higher = more normal),
    ``offset_ = -detector_.threshold_``, ``decision_function = score_samples -
    offset_`` and ``predict`` returns -1 where the decision is negative, else +1.
    That is exactly PyOD's rule ``score > threshold_`` for outliers, ties
    included (a score equal to the threshold is an inlier in both). Outputs are
    float64.

    Parameters
    ----------
    detector : PyOD detector
        An unfitted PyOD detector, e.g. ``pyod.models.iforest.IForest()``. Its
        parameters are searchable as ``detector__<name>``.

    Attributes
    ----------
    detector_ : PyOD detector
        The fitted clone of ``detector``.
    offset_ : float
        ``-detector_.threshold_``; ``decision_function`` is negative below it.
    n_features_in_ : int
        Number of features seen at fit.
    feature_names_in_ : ndarray of str
        Column names seen at fit, when ``X`` had string column names.

    See Also
    --------
    from_pyod : the function that builds it.
    to_pyod : the opposite direction.

    Notes
    -----
    ``offset_`` and ``predict`` follow ``threshold_``, which reproduces PyOD's
    ``predict`` for a float ``contamination``. With a PyThresh object as
    ``contamination`` PyOD labels through that object instead, and the two may
    differ; ``score_samples`` (all that ranking metrics use) is unaffected.

    PyOD's deep detectors (AutoEncoder, VAE, ...) seed Python's, numpy's and
    torch's global random generators in ``__init__``; cloning them in ``fit``
    does so again. This wrapper does not hide that.

    Examples
    --------
    >>> import numpy as np
    >>> from pyod.models.knn import KNN
    >>> from skanomaly.adapters import FromPyOD
    >>> X = np.random.RandomState(0).normal(size=(50, 2))
    >>> det = FromPyOD(KNN(n_neighbors=3)).fit(X)
    >>> det.predict(np.array([[0.0, 0.0], [8.0, 8.0]]))
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        "detector": [HasMethods(["fit", "decision_function", "get_params"])],
    }

    def __init__(self, detector):
        self.detector = detector

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Validate ``X``, clone ``detector`` and fit the clone.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, assumed normal.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted detector.
        """
        _check_pyod_detector(self.detector)
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self.detector_ = clone(self.detector).fit(X)
        threshold = getattr(self.detector_, "threshold_", None)
        if threshold is None:
            raise AttributeError(
                f"{type(self.detector_).__name__} set no threshold_ in fit; "
                "from_pyod needs a PyOD BaseDetector."
            )
        self.offset_ = -float(threshold)
        return self

    def score_samples(self, X):
        """Normality of each sample: ``-detector_.decision_function(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Higher means more normal.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = self.detector_.decision_function(X)
        return -np.asarray(scores, dtype=np.float64).ravel()

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,), dtype float64
            Below 0 means outlier (PyOD's ``score > threshold_``).
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int
            +1 for inliers, -1 for outliers; PyOD's 0/1 ``predict`` maps to +1/-1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = get_tags(self.detector)
        except Exception:  # a detector whose tags cannot be read: keep defaults
            return tags
        tags.non_deterministic = inner.non_deterministic
        return tags


def from_pyod(detector):
    """Wrap a PyOD detector as a scikit-learn outlier detector.

    Parameters
    ----------
    detector : PyOD detector
        An unfitted PyOD detector (``IForest()``, ``KNN()``, ``ECOD()``, ...).

    Returns
    -------
    estimator : FromPyOD
        An unfitted scikit-learn outlier detector: ``score_samples`` is minus
        PyOD's ``decision_function`` (higher = more normal), ``predict`` returns
        +1/-1. It runs through Pipelines, searches, :mod:`skanomaly.metrics`
        scorers and benchmarks like any skanomaly detector.

    Raises
    ------
    TypeError
        If ``detector`` is a class or lacks ``fit`` / ``decision_function``.

    See Also
    --------
    to_pyod : the opposite direction.

    Examples
    --------
    >>> import numpy as np
    >>> from pyod.models.iforest import IForest
    >>> from skanomaly.adapters import from_pyod
    >>> X = np.random.RandomState(0).normal(size=(50, 2))
    >>> det = from_pyod(IForest(random_state=0)).fit(X)
    >>> det.score_samples(np.array([[0.0, 0.0], [8.0, 8.0]])).argmin()
    np.int64(1)
    """
    _check_pyod_detector(detector)
    return FromPyOD(detector=detector)
