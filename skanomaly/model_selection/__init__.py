"""Cross-validation and searches whose training folds hold inliers only.

Novelty detectors must be trained on normal data, yet a search needs outliers in
the test folds to score candidates. :class:`InlierOnly` wraps a detector so that
``fit(X, y)`` drops the rows with ``y == outlier_label``: every training fold and
the final refit of :class:`~sklearn.model_selection.GridSearchCV` then see
inliers only. :class:`InlierKFold` is a splitter with inlier-only training folds
and stratified test folds, for plain ``cross_val_score`` use (it cannot protect a
refit on its own).
"""

from skanomaly.model_selection._inlier_only import InlierOnly
from skanomaly.model_selection._split import InlierKFold

__all__ = ["InlierKFold", "InlierOnly"]
