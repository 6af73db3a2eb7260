"""InlierKFold: stratified K-fold whose training indices keep inliers only."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import BaseCrossValidator, StratifiedKFold
from sklearn.utils import indexable
from sklearn.utils.validation import check_consistent_length

from skanomaly.model_selection._inlier_only import inlier_mask


class InlierKFold(BaseCrossValidator):
    """K-fold splitter for novelty detection: inlier-only training folds.

    The data are split as by :class:`~sklearn.model_selection.StratifiedKFold`
    on "outlier or not", so every test fold holds about the same share of
    outliers; then the outliers are removed from each training fold. Test folds
    keep inliers and outliers, which the scorer needs.

    The splitter alone does **not** protect the final refit of
    :class:`~sklearn.model_selection.GridSearchCV`, which fits on all of ``X``,
    outliers included. Wrap the detector in :class:`InlierOnly` for that (with
    ``InlierOnly`` any splitter works, this one included).

    Read more in the :ref:`user guide <model_selection>`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    outlier_label : int, float, str or bool, default=1
        The value of ``y`` that marks outliers; every other value is an inlier.
    shuffle : bool, default=False
        Shuffle each stratum before splitting.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling when ``shuffle=True``.

    See Also
    --------
    InlierOnly : the meta-estimator that also keeps the refit inlier-only.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly.model_selection import InlierKFold
    >>> y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    >>> for train, test in InlierKFold(n_splits=2).split(np.zeros((8, 1)), y):
    ...     print(train, test)
    [3 4 5] [0 1 2 6]
    [0 1 2] [3 4 5 7]
    """

    def __init__(
        self, n_splits=5, *, outlier_label=1, shuffle=False, random_state=None
    ):
        self.n_splits = n_splits
        self.outlier_label = outlier_label
        self.shuffle = shuffle
        self.random_state = random_state

    def _stratified(self):
        return StratifiedKFold(
            n_splits=self.n_splits,
            shuffle=self.shuffle,
            random_state=self.random_state,
        )

    def split(self, X, y=None, groups=None):
        """Generate indices: inlier-only training folds, stratified test folds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to split.
        y : array-like of shape (n_samples,)
            Labels; rows with ``y == outlier_label`` are outliers.
        groups : Ignored
            Present for API consistency.

        Yields
        ------
        train : ndarray
            Training indices, inliers only.
        test : ndarray
            Test indices, inliers and outliers.
        """
        X, y = indexable(X, y)
        keep = inlier_mask(y, self.outlier_label, caller=type(self).__name__)
        check_consistent_length(X, keep)
        for train, test in self._stratified().split(np.zeros((keep.size, 1)), ~keep):
            yield train[keep[train]], test

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits.

        Parameters
        ----------
        X, y, groups : Ignored
            Present for API consistency.

        Returns
        -------
        n_splits : int
            ``n_splits``.
        """
        return self.n_splits
