"""InlierOnly: a meta-estimator that trains its detector on the inliers of ``y``."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    OutlierMixin,
    _fit_context,
    clone,
)
from sklearn.utils import _safe_indexing, get_tags, indexable
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from skanomaly.metrics._ranking import holds_predict_labels


def inlier_mask(y, outlier_label, *, caller: str) -> np.ndarray:
    """Boolean mask of the rows of ``y`` that are not ``outlier_label``.

    Raises ``ValueError`` when ``y`` is missing or not 1-D, and warns when ``y``
    looks like scikit-learn's +1/-1 labels while ``outlier_label`` is 1.
    """
    if y is None:
        raise ValueError(
            f"{caller} requires y to be passed, but the target y is None; y tells "
            "inliers from outliers (rows with y == outlier_label are outliers)."
        )
    y = np.asarray(y)
    if y.ndim != 1:
        y = np.ravel(y) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise ValueError(f"{caller} needs a 1-D y; got shape {y.shape}.")
    if outlier_label == 1 and holds_predict_labels(y):
        warnings.warn(
            f"y holds -1 and 1, scikit-learn's predict convention where -1 marks "
            f"outliers, but {caller} has outlier_label=1 and treats the rows with "
            "y == 1 as outliers. Pass outlier_label=-1 if -1 marks the outliers.",
            UserWarning,
            stacklevel=3,
        )
    return y != outlier_label


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


class InlierOnly(MetaEstimatorMixin, OutlierMixin, BaseEstimator):
    """Train a novelty detector on the inliers of ``y`` only.

    ``fit(X, y)`` drops the rows where ``y == outlier_label`` and fits a clone
    of ``estimator`` on the rest; scoring and prediction are delegated to that
    clone. Inside :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_val_score` every training fold **and
    the final refit** then see inliers only, while the test folds keep both
    kinds of rows for the scorer. Parameters of the wrapped detector route as
    ``estimator__<name>``.

    Read more in the :ref:`user guide <model_selection>`.

    Parameters
    ----------
    estimator : estimator object
        A novelty detector with ``fit`` and ``score_samples`` (higher = more
        normal): any skanomaly detector, a scikit-learn detector, a Pipeline
        ending in one, or a PyOD detector wrapped by
        :func:`~skanomaly.adapters.from_pyod`.
    outlier_label : int, float, str or bool, default=1
        The value of ``y`` that marks outliers ("anomaly = positive", as in the
        papers and :mod:`skanomaly.metrics`). Every other value is an inlier, so
        ``y`` may hold class labels with a single outlier class.

    Attributes
    ----------
    estimator_ : estimator object
        The clone of ``estimator`` fitted on the inliers.
    n_inliers_ : int
        Number of rows ``estimator_`` was trained on.
    n_features_in_ : int
        Number of features seen at fit (when ``estimator_`` records it).
    offset_ : float
        ``estimator_.offset_``.

    See Also
    --------
    InlierKFold : a splitter whose training folds hold inliers only.

    Notes
    -----
    ``y`` is required: without it there is no way to know which rows to drop,
    so ``fit(X)`` raises ``ValueError``. Fit parameters are passed to the
    wrapped detector unchanged (not filtered by the inlier mask).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skanomaly.model_selection import InlierOnly
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(size=(40, 2)), rng.uniform(6, 8, size=(4, 2))])
    >>> y = np.r_[np.zeros(40), np.ones(4)]
    >>> det = InlierOnly(IsolationForest(random_state=0)).fit(X, y)
    >>> det.n_inliers_
    40
    >>> det.predict([[0.0, 0.0], [7.0, 7.0]])
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"])],
        "outlier_label": "no_validation",
    }

    def __init__(self, estimator, *, outlier_label=1):
        self.estimator = estimator
        self.outlier_label = outlier_label

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit a clone of ``estimator`` on the rows of ``X`` that are inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Training data holding inliers and, possibly, outliers.
        y : array-like of shape (n_samples,)
            Labels; rows with ``y == outlier_label`` are dropped before fitting.
        **fit_params : dict
            Passed to the wrapped detector's ``fit`` unchanged.

        Returns
        -------
        self : object
            The fitted meta-estimator.

        Raises
        ------
        ValueError
            If ``y`` is missing, its length differs from ``X``'s, or no inlier
            remains.
        """
        keep = inlier_mask(y, self.outlier_label, caller=type(self).__name__)
        (X,) = indexable(X)
        check_consistent_length(X, keep)
        n_inliers = int(keep.sum())
        if n_inliers == 0:
            raise ValueError(
                f"No inlier left to train on: all n_samples={keep.size} rows have "
                f"y == outlier_label={self.outlier_label!r}."
            )
        X_inliers = _safe_indexing(X, np.flatnonzero(keep))
        self.estimator_ = clone(self.estimator).fit(X_inliers, **fit_params)
        self.n_inliers_ = n_inliers
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    @property
    def offset_(self):
        """The wrapped detector's ``offset_`` (threshold on ``score_samples``)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.offset_

    @available_if(_estimator_has("score_samples"))
    def score_samples(self, X):
        """Normality scores of the fitted detector (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``estimator_.score_samples(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.score_samples(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Shifted normality scores of the fitted detector (negative = outlier).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``estimator_.decision_function(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Inlier (+1) / outlier (-1) labels from the fitted detector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``estimator_.predict(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def fit_predict(self, X, y=None, **fit_params):
        """Fit on the inliers of ``(X, y)``, then label every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Training data holding inliers and, possibly, outliers.
        y : array-like of shape (n_samples,)
            Labels; rows with ``y == outlier_label`` are not trained on.
        **fit_params : dict
            Passed to the wrapped detector's ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers, for every row of ``X``.
        """
        return self.fit(X, y, **fit_params).predict(X)

    @available_if(_estimator_has("conformal_pvalues"))
    def conformal_pvalues(self, X):
        """Conformal p-values from the fitted detector (small = anomalous).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to test.

        Returns
        -------
        pvalues : ndarray of shape (n_samples,)
            ``estimator_.conformal_pvalues(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.conformal_pvalues(X)

    @available_if(_estimator_has("calibrate"))
    def calibrate(self, X):
        """Recalibrate the fitted detector's threshold on normal rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Normal samples the detector did not train on.

        Returns
        -------
        self : object
            The meta-estimator, its detector recalibrated.
        """
        check_is_fitted(self, "estimator_")
        self.estimator_.calibrate(X)
        return self

    @available_if(_estimator_has("encode"))
    def encode(self, X):
        """Latent codes from the fitted detector (skanomaly autoencoders).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, latent_dim)
            ``estimator_.encode(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.encode(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = replace(inner.input_tags)
        tags.non_deterministic = inner.non_deterministic
        tags.target_tags.required = True
        return tags
