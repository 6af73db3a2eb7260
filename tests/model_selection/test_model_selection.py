"""Inlier-only searches: InlierOnly and InlierKFold."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skanomaly import DenoisingAE
from skanomaly.metrics import get_novelty_scorer
from skanomaly.model_selection import InlierKFold, InlierOnly

#: rows every RecordingDAE was trained on, in fit order (tests run n_jobs=1)
SEEN = []


class RecordingDAE(DenoisingAE):
    """DenoisingAE that records the rows each fit saw."""

    def fit(self, X, y=None, **fit_params):
        SEEN.append(np.array(X, copy=True))
        return super().fit(X, y, **fit_params)


@pytest.fixture(scope="module")
def digits_zero_vs_rest():
    """Digit 0 (178 inliers) against 60 other digits (outliers, label 1)."""
    X, digit = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.RandomState(0)
    inliers = np.flatnonzero(digit == 0)
    outliers = rng.choice(np.flatnonzero(digit != 0), 60, replace=False)
    order = rng.permutation(np.r_[inliers, outliers])
    return X[order], (digit[order] != 0).astype(int)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(60, 3)), rng.uniform(6, 9, size=(12, 3))])
    y = np.r_[np.zeros(60, int), np.ones(12, int)]
    order = rng.permutation(len(y))
    return X[order], y[order]


def _row_set(X):
    return {row.tobytes() for row in np.ascontiguousarray(X)}


def small_dae(cls=DenoisingAE, **params):
    base = {
        "hidden_dims": (16, 4),
        "max_epochs": 2,
        "batch_size": 32,
        "lr": 1e-2,
        "device": "cpu",
        "random_state": 0,
    }
    return cls(**{**base, **params})


# ------------------------------------------------------------------ InlierOnly
def test_inlier_only_fits_on_inliers(blobs):
    X, y = blobs
    det = InlierOnly(IsolationForest(random_state=0)).fit(X, y)
    direct = IsolationForest(random_state=0).fit(X[y == 0])
    assert det.n_inliers_ == 60 and det.n_features_in_ == 3
    np.testing.assert_array_equal(det.score_samples(X), direct.score_samples(X))
    np.testing.assert_array_equal(det.decision_function(X), direct.decision_function(X))
    np.testing.assert_array_equal(det.predict(X), direct.predict(X))
    assert det.offset_ == direct.offset_
    np.testing.assert_array_equal(det.fit_predict(X, y), direct.predict(X))


def test_inlier_only_does_not_modify_its_estimator(blobs):
    X, y = blobs
    inner = IsolationForest(random_state=0)
    det = InlierOnly(inner).fit(X, y)
    assert det.estimator is inner and not hasattr(inner, "offset_")


@pytest.mark.parametrize(
    ("outlier_label", "y_map"),
    [
        (-1, {0: 1, 1: -1}),
        ("anomaly", {0: "normal", 1: "anomaly"}),
        (True, {0: False, 1: True}),
    ],
)
def test_inlier_only_outlier_label(blobs, outlier_label, y_map):
    X, y = blobs
    y_other = np.array([y_map[v] for v in y])
    det = InlierOnly(IsolationForest(random_state=0), outlier_label=outlier_label)
    assert det.fit(X, y_other).n_inliers_ == 60


def test_inlier_only_class_labels_with_one_outlier_class(digits_zero_vs_rest):
    X, y = digits_zero_vs_rest
    labels = np.where(y == 1, 7, 0)
    det = InlierOnly(IsolationForest(random_state=0), outlier_label=7).fit(X, labels)
    assert det.n_inliers_ == 178


def test_inlier_only_warns_on_plus_minus_one_labels(blobs):
    X, y = blobs
    with pytest.warns(UserWarning, match="outlier_label=-1"):
        InlierOnly(IsolationForest(random_state=0)).fit(X, np.where(y == 1, -1, 1))


def test_inlier_only_errors(blobs):
    X, y = blobs
    det = InlierOnly(IsolationForest(random_state=0))
    with pytest.raises(ValueError, match="requires y to be passed"):
        det.fit(X)
    with pytest.raises(ValueError, match="No inlier left"):
        det.fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        det.fit(X, y[:-1])
    with pytest.raises(ValueError, match="score_samples"):
        InlierOnly(LocalOutlierFactor()).fit(X, y)  # novelty=False: no score_samples
    with pytest.raises(AttributeError):
        InlierOnly(IsolationForest()).offset_  # noqa: B018 (not fitted)


def test_inlier_only_delegates_encode_and_pickles(blobs):
    X, y = blobs
    det = InlierOnly(small_dae()).fit(X, y)
    assert det.encode(X).shape == (len(X), 4)
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.score_samples(X), det.score_samples(X))
    assert not hasattr(InlierOnly(IsolationForest()), "encode")


def test_inlier_only_takes_image_arrays():
    rng = np.random.RandomState(0)
    images = rng.uniform(0.4, 0.6, size=(40, 1, 4, 4))
    images[-5:] = 1.0  # the outliers
    y = np.r_[np.zeros(35, int), np.ones(5, int)]
    det = InlierOnly(small_dae()).fit(images, y)
    assert det.n_inliers_ == 35 and det.estimator_.input_shape_ == (1, 4, 4)
    assert det.n_features_in_ == 16
    assert det.score_samples(images).shape == (40,)


_NEEDS_Y = (
    "calls fit(X) without y; InlierOnly needs y to know which rows to drop and "
    "raises ValueError rather than silently training on every row"
)
INLIER_ONLY_EXPECTED_FAILURES = {
    "check_outliers_train": _NEEDS_Y,
    "check_outliers_fit_predict": _NEEDS_Y,
}


# y is required (target_tags.required), so the other checks pass a y; rows where
# it equals 1 are dropped before the wrapped IsolationForest is fitted.
@pytest.mark.foreign_rng  # scikit-learn's checks draw from numpy's global RNG
@parametrize_with_checks(
    [InlierOnly(IsolationForest(n_estimators=10, random_state=0))],
    expected_failed_checks=lambda est: INLIER_ONLY_EXPECTED_FAILURES,
)
def test_inlier_only_sklearn_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- InlierKFold
def test_inlier_kfold_folds(blobs):
    X, y = blobs
    cv = InlierKFold(n_splits=4, shuffle=True, random_state=0)
    assert cv.get_n_splits() == 4
    tests = []
    for train, test in cv.split(X, y):
        assert np.all(y[train] == 0)
        assert y[test].sum() == 3  # 12 outliers stratified over 4 folds
        assert not set(train) & set(test)
        tests.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(len(y)))
    again = [test for _, test in cv.split(X, y)]
    assert all(np.array_equal(a, b) for a, b in zip(tests, again, strict=True))


def test_inlier_kfold_needs_y(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="requires y to be passed"):
        next(InlierKFold().split(X))


def test_inlier_kfold_in_cross_val_score(blobs):
    X, y = blobs
    result = cross_validate(
        IsolationForest(random_state=0),
        X,
        y,
        cv=InlierKFold(n_splits=3),
        scoring=get_novelty_scorer("roc_auc"),
        return_estimator=True,
        return_indices=True,
    )
    for train in result["indices"]["train"]:
        assert np.all(y[train] == 0)
    assert np.all(result["test_score"] > 0.99)


def test_inlier_kfold_alone_does_not_protect_the_refit(digits_zero_vs_rest):
    """The documented caveat: GridSearchCV's refit uses all of X."""
    X, y = digits_zero_vs_rest
    SEEN.clear()
    search = GridSearchCV(
        small_dae(RecordingDAE),
        {"noise_scale": [0.0, 0.3]},
        scoring=get_novelty_scorer("roc_auc"),
        cv=InlierKFold(n_splits=3),
    ).fit(X, y)
    outlier_rows = _row_set(X[y == 1])
    *fold_fits, refit = SEEN
    assert len(fold_fits) == 6
    assert all(not (_row_set(seen) & outlier_rows) for seen in fold_fits)
    assert len(refit) == len(X) and _row_set(refit) & outlier_rows
    assert search.best_score_ > 0.9


# ------------------------------------------------------- the tested example
def test_grid_search_denoising_ae_trains_on_inliers_only(digits_zero_vs_rest):
    X, y = digits_zero_vs_rest
    outlier_rows = _row_set(X[y == 1])
    SEEN.clear()
    search = GridSearchCV(
        InlierOnly(small_dae(RecordingDAE)),
        {
            "estimator__noise_scale": [0.0, 0.3],
            "estimator__hidden_dims": [(16, 4), (32, 8)],
        },
        scoring={
            "auc": get_novelty_scorer("roc_auc"),
            "ap": get_novelty_scorer("average_precision"),
        },
        refit="auc",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    ).fit(X, y)

    # 4 candidates x 3 folds, then the refit: every one saw inliers only
    assert len(SEEN) == 4 * 3 + 1
    assert all(not (_row_set(seen) & outlier_rows) for seen in SEEN)
    n_inliers = int((y == 0).sum())
    assert len(SEEN[-1]) == n_inliers == search.best_estimator_.n_inliers_
    two_thirds = n_inliers - n_inliers // 3
    assert {len(seen) for seen in SEEN[:-1]} <= {two_thirds - 1, two_thirds}

    # the parameters reached the wrapped detector, and the results make sense
    best = search.best_estimator_.estimator_
    assert (
        best.get_params()["hidden_dims"]
        == search.best_params_["estimator__hidden_dims"]
    )
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_auc"]))
    assert search.best_score_ > 0.9  # digit 0 vs the rest is an easy task
    assert np.all(search.cv_results_["mean_test_ap"] > 0.6)  # chance is 0.25
    scores = search.score_samples(X)  # the search delegates to InlierOnly
    assert scores.dtype == np.float64
    assert scores[y == 0].mean() > scores[y == 1].mean()


def test_cross_val_score_inlier_only_with_any_splitter(blobs):
    X, y = blobs
    SEEN.clear()
    scores = cross_val_score(
        InlierOnly(make_pipeline(MinMaxScaler(), small_dae(RecordingDAE))),
        X,
        y,
        cv=KFold(n_splits=3, shuffle=True, random_state=0),
        scoring=get_novelty_scorer("roc_auc"),
    )
    assert len(SEEN) == 3 and scores.shape == (3,)
    # the pipeline's scaler passes through, so compare row counts instead
    assert sum(len(seen) for seen in SEEN) == 2 * 60


def test_inlier_only_is_cloneable_with_nested_params():
    det = InlierOnly(small_dae(), outlier_label=-1)
    params = det.get_params()
    assert params["estimator__noise_scale"] == 0.1
    cloned = clone(det).set_params(estimator__noise_scale=0.4)
    assert cloned.estimator.noise_scale == 0.4 and det.estimator.noise_scale == 0.1
