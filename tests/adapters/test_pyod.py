"""PyOD interop: to_pyod (ours inside PyOD's tooling) and from_pyod (PyOD inside sklearn's)."""

import pickle

import numpy as np
import pytest
from pyod.models.base import BaseDetector
from pyod.models.combination import aom, average, maximization, moa
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.models.lscp import LSCP
from pyod.models.suod import SUOD
from pyod.utils.utility import standardizer
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skanomaly import DenoisingAE
from skanomaly.adapters import FromPyOD, from_pyod, to_pyod
from skanomaly.metrics import get_novelty_scorer, novelty_roc_auc
from skanomaly.model_selection import InlierOnly

DAE = {
    "hidden_dims": (16, 4),
    "max_epochs": 2,
    "batch_size": 32,
    "lr": 1e-2,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(scope="module")
def digits():
    """Train on 120 zeros; test on the other 58 zeros and 60 other digits."""
    X, digit = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.RandomState(0)
    zeros = rng.permutation(np.flatnonzero(digit == 0))
    others = rng.choice(np.flatnonzero(digit != 0), 60, replace=False)
    X_train = X[zeros[:120]]
    X_test = X[np.r_[zeros[120:], others]]
    y_test = np.r_[np.zeros(58, int), np.ones(60, int)]  # 1 = outlier
    return X_train, X_test, y_test


@pytest.fixture(scope="module")
def blobs():
    """Inliers around 0 and far outliers, labelled 1; a point at (9, 9, 9)."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(80, 3)), rng.uniform(5, 8, size=(16, 3))])
    y = np.r_[np.zeros(80, int), np.ones(16, int)]
    order = rng.permutation(len(y))
    return X[order], y[order]


# --------------------------------------------------------------------- to_pyod
@pytest.fixture(scope="module")
def pyod_dae(digits):
    X_train, _, _ = digits
    return to_pyod(DenoisingAE(**DAE)).fit(X_train)


def test_to_pyod_is_a_pyod_detector(pyod_dae, digits):
    X_train, X_test, _ = digits
    assert isinstance(pyod_dae, BaseDetector)
    inner = pyod_dae.estimator_
    np.testing.assert_array_equal(
        pyod_dae.decision_scores_, -inner.score_samples(X_train)
    )
    np.testing.assert_array_equal(
        pyod_dae.decision_function(X_test), -inner.score_samples(X_test)
    )
    assert pyod_dae.decision_scores_.dtype == np.float64
    # the detector's threshold, calibrated on held-out rows, not PyOD's
    # percentile of the training scores; labels in {0, 1}
    assert pyod_dae.threshold_ == -inner.offset_
    assert inner.contamination == pyod_dae.contamination == 0.1
    np.testing.assert_array_equal(
        pyod_dae.labels_, (pyod_dae.decision_scores_ > pyod_dae.threshold_).astype(int)
    )
    labels = pyod_dae.predict(X_test)
    assert set(np.unique(labels)) <= {0, 1}
    np.testing.assert_array_equal(
        labels, (pyod_dae.decision_function(X_test) > pyod_dae.threshold_).astype(int)
    )
    for method in ("linear", "unify"):
        proba = pyod_dae.predict_proba(X_test, method=method)
        assert proba.shape == (len(X_test), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert np.all((proba >= 0) & (proba <= 1))
    assert pyod_dae.predict_confidence(X_test).shape == (len(X_test),)


def test_to_pyod_contamination_and_cloning():
    dae = DenoisingAE(**DAE, contamination=0.2)
    assert to_pyod(dae).contamination == 0.2  # taken from the estimator
    assert to_pyod(dae, contamination=0.05).contamination == 0.05
    assert to_pyod(IsolationForest()).contamination == 0.1  # 'auto' -> PyOD default
    wrapped = to_pyod(dae)
    cloned = clone(wrapped).set_params(estimator__noise_scale=0.3)
    assert cloned.estimator.noise_scale == 0.3 and dae.noise_scale == 0.1
    assert wrapped.get_params()["estimator__hidden_dims"] == (16, 4)
    X = np.random.RandomState(0).uniform(size=(40, 4))
    wrapped.fit(X)
    assert wrapped.estimator is dae and not hasattr(dae, "net_")  # a clone was fitted


def test_to_pyod_rejects_non_detectors():
    from sklearn.neighbors import LocalOutlierFactor

    with pytest.raises(TypeError, match="novelty=True"):
        to_pyod(LocalOutlierFactor())
    with pytest.raises(TypeError, match="instance"):
        to_pyod(DenoisingAE)
    with pytest.raises(ValueError, match="contamination"):
        to_pyod(DenoisingAE(), contamination=0.7)


def test_pyod_adapter_docstring_example():
    # the class is built lazily, so --doctest-modules does not collect it
    import doctest

    from skanomaly.adapters import pyod as adapters_pyod

    cls = adapters_pyod.PyODAdapter
    assert cls is type(to_pyod(IsolationForest()))
    finder = doctest.DocTestFinder(recurse=False)
    (test,) = finder.find(cls, "PyODAdapter", globs={})
    result = doctest.DocTestRunner().run(test)
    assert result.attempted >= 5 and result.failed == 0


def test_to_pyod_pickles(pyod_dae, digits):
    _, X_test, _ = digits
    restored = pickle.loads(pickle.dumps(pyod_dae))
    assert type(restored) is type(pyod_dae)
    np.testing.assert_array_equal(
        restored.decision_function(X_test), pyod_dae.decision_function(X_test)
    )


def test_to_pyod_in_pyod_combination_functions(pyod_dae, digits):
    X_train, X_test, y_test = digits
    second = to_pyod(DenoisingAE(**{**DAE, "random_state": 1})).fit(X_train)
    forest = IForest(n_estimators=50, random_state=0).fit(X_train)
    detectors = [pyod_dae, second, forest]
    train_scores = np.column_stack([d.decision_scores_ for d in detectors])
    test_scores = np.column_stack([d.decision_function(X_test) for d in detectors])
    _, test_norm = standardizer(train_scores, test_scores)
    combined = {
        "average": average(test_norm),
        "maximization": maximization(test_norm),
        "aom": aom(test_norm, n_buckets=3, random_state=0),
        "moa": moa(test_norm, n_buckets=3, random_state=0),
    }
    for name, scores in combined.items():
        assert scores.shape == (len(X_test),), name
        # PyOD's sign: anomalies are the positive class of a plain roc_auc_score
        assert roc_auc_score(y_test, scores) > 0.9, name


def test_to_pyod_inside_suod(digits):
    X_train, X_test, y_test = digits
    suod = SUOD(
        base_estimators=[
            to_pyod(DenoisingAE(**DAE)),
            to_pyod(DenoisingAE(**{**DAE, "hidden_dims": (32, 8)})),
            IForest(n_estimators=50, random_state=0),
        ],
        n_jobs=1,
        bps_flag=False,
        # SUOD names detectors it does not know "UNK"; keep its random
        # projection and its regression approximation off for them
        rp_ng_clf_list=["UNK", "IForest"],
        approx_ng_clf_list=["UNK", "IForest"],
        combination="average",
    ).fit(X_train)
    scores = suod.decision_function(X_test)
    assert scores.shape == (len(X_test),)
    assert roc_auc_score(y_test, scores) > 0.9
    assert set(np.unique(suod.predict(X_test))) <= {0, 1}


def test_to_pyod_inside_lscp(digits):
    X_train, X_test, y_test = digits
    lscp = LSCP(
        [
            to_pyod(DenoisingAE(**DAE)),
            to_pyod(DenoisingAE(**{**DAE, "noise_scale": 0.3, "random_state": 1})),
            to_pyod(IsolationForest(n_estimators=50, random_state=0)),
        ],
        local_region_size=30,
        n_bins=3,
        random_state=0,
    ).fit(X_train)
    scores = lscp.decision_function(X_test)
    assert roc_auc_score(y_test, scores) > 0.9


# ------------------------------------------------------------------- from_pyod
@pytest.mark.parametrize(
    "detector", [IForest(n_estimators=50, random_state=0), KNN(n_neighbors=5)]
)
def test_from_pyod_contract(detector, blobs):
    X, _ = blobs
    est = from_pyod(detector).fit(X)
    assert isinstance(est, FromPyOD) and est.detector is detector
    assert not hasattr(detector, "threshold_")  # a clone was fitted
    inner = est.detector_
    scores = est.score_samples(X)
    assert scores.dtype == np.float64 and scores.shape == (len(X),)
    np.testing.assert_array_equal(scores, -inner.decision_function(X))
    assert est.offset_ == -inner.threshold_
    np.testing.assert_array_equal(est.decision_function(X), scores - est.offset_)
    labels = est.predict(X)
    assert labels.dtype.kind == "i"
    # PyOD's 0/1 labels, mapped to scikit-learn's +1/-1
    np.testing.assert_array_equal(labels, np.where(inner.predict(X) == 1, -1, 1))
    np.testing.assert_array_equal(est.fit_predict(X), labels)
    assert est.n_features_in_ == 3


class ThresholdAtNine(BaseDetector):
    """A PyOD detector scoring |x0|; on 0..10 its threshold is exactly 9."""

    def __init__(self, contamination=0.1):
        super().__init__(contamination=contamination)

    def fit(self, X, y=None):
        self._set_n_classes(None)
        self.decision_scores_ = self.decision_function(X)
        self._process_decision_scores()
        return self

    def decision_function(self, X):
        return np.abs(np.asarray(X, dtype=np.float64)[:, 0])


def test_from_pyod_ties_go_to_inliers_as_in_pyod():
    X_train = np.arange(11.0).reshape(-1, 1)
    est = from_pyod(ThresholdAtNine()).fit(X_train)
    assert est.detector_.threshold_ == 9.0
    X = np.array([[8.5], [9.0], [9.5]])
    np.testing.assert_array_equal(est.detector_.predict(X), [0, 0, 1])
    np.testing.assert_array_equal(est.decision_function(X), [0.5, 0.0, -0.5])
    np.testing.assert_array_equal(est.predict(X), [1, 1, -1])


def test_from_pyod_validates_input(blobs):
    X, _ = blobs
    est = from_pyod(KNN()).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        est.score_samples(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="3 features"):
        est.score_samples(X[:, :2])
    with pytest.raises(ValueError, match="infinity"):
        from_pyod(KNN()).fit(np.where(X > 7, np.inf, X))
    with pytest.raises(TypeError, match="instance"):
        from_pyod(KNN)
    with pytest.raises(TypeError, match="needs no wrapping"):
        from_pyod(IsolationForest(random_state=0))  # scikit-learn, not PyOD
    with pytest.raises(TypeError, match="decision_function"):
        from_pyod(MinMaxScaler())


def test_from_pyod_pickles(blobs):
    X, _ = blobs
    est = from_pyod(IForest(n_estimators=20, random_state=0)).fit(X)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.score_samples(X), est.score_samples(X))


@pytest.mark.parametrize("name", ["IForest", "KNN"])
def test_from_pyod_in_pipeline_and_inlier_only_search(name, blobs):
    X, y = blobs
    X = X * 40 + 100  # unscaled; the pipeline's MinMaxScaler handles it
    if name == "IForest":
        detector, grid = IForest(random_state=0), {"n_estimators": [20, 60]}
    else:
        detector, grid = KNN(), {"n_neighbors": [3, 8]}
    pipe = Pipeline([("scale", MinMaxScaler()), ("det", from_pyod(detector))])
    search = GridSearchCV(
        InlierOnly(pipe),
        {f"estimator__det__detector__{k}": v for k, v in grid.items()},
        scoring=get_novelty_scorer("roc_auc"),
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_score_ > 0.99
    best = search.best_estimator_
    assert best.n_inliers_ == 80  # the refit saw inliers only
    fitted_detector = best.estimator_.named_steps["det"].detector_
    assert len(fitted_detector.decision_scores_) == 80
    assert novelty_roc_auc(y, -search.score_samples(X)) > 0.99
    scores = cross_val_score(
        InlierOnly(pipe),
        X,
        y,
        cv=StratifiedKFold(n_splits=3),
        scoring=get_novelty_scorer("average_precision"),
    )
    assert np.all(scores > 0.9)


@pytest.mark.foreign_rng  # PyOD's deep detectors seed the global RNGs in __init__
def test_from_pyod_deep_detector(blobs):
    from pyod.models.auto_encoder import AutoEncoder

    X, y = blobs
    params = {"epoch_num": 2, "hidden_neuron_list": [8, 4], "batch_size": 16}
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("det", from_pyod(AutoEncoder(**params, verbose=0, random_state=0))),
        ]
    )
    first = InlierOnly(pipe).fit(X, y).score_samples(X)
    again = InlierOnly(clone(pipe)).fit(X, y).score_samples(X)
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.float64
    assert novelty_roc_auc(y, -first) > 0.9


# ----------------------------------------------------------------------- signs
def test_signs_in_both_directions(blobs):
    X, y = blobs
    X_train = X[y == 0]
    probe = np.array([[0.0, 0.0, 0.0], [9.0, 9.0, 9.0]])  # normal, obvious anomaly

    pyod_side = to_pyod(DenoisingAE(**DAE)).fit(X_train)
    assert pyod_side.decision_function(probe)[1] > pyod_side.decision_function(probe)[0]
    np.testing.assert_array_equal(pyod_side.predict(probe), [0, 1])

    sklearn_side = from_pyod(KNN()).fit(X_train)
    assert sklearn_side.score_samples(probe)[1] < sklearn_side.score_samples(probe)[0]
    np.testing.assert_array_equal(sklearn_side.predict(probe), [1, -1])
    raw = sklearn_side.detector_.decision_function(probe)
    assert raw[1] > raw[0]  # PyOD's own score is the other way round


def test_wrong_sign_gives_one_minus_auc():
    rng = np.random.RandomState(1)
    # overlapping classes, so that the AUC is neither 0.5 nor 1
    noisy = np.vstack([rng.normal(size=(80, 3)), rng.normal(1.5, 1.0, size=(40, 3))])
    y = np.r_[np.zeros(80, int), np.ones(40, int)]
    est = from_pyod(KNN()).fit(noisy[y == 0])
    scores = est.score_samples(noisy)
    right = novelty_roc_auc(y, -scores)
    wrong = roc_auc_score(y, scores)  # sklearn's sign fed as if it were PyOD's
    assert 0.6 < right < 1.0
    assert wrong == pytest.approx(1 - right)
    # the novelty scorer reads the sign correctly from both sides
    scorer = get_novelty_scorer("roc_auc")
    assert scorer(est, noisy, y) == pytest.approx(right)
    pyod_side = to_pyod(from_pyod(KNN())).fit(noisy[y == 0])
    assert scorer(pyod_side, noisy, y) == pytest.approx(right)
    np.testing.assert_allclose(pyod_side.decision_function(noisy), -scores)


# ---------------------------------------------------------- scikit-learn checks
#: from_pyod passes every check for these detectors; keep the table for new ones
FROM_PYOD_EXPECTED_FAILURES: dict[str, dict[str, str]] = {"IForest": {}, "KNN": {}}


@pytest.mark.foreign_rng  # scikit-learn's checks draw from numpy's global RNG
@parametrize_with_checks(
    [from_pyod(IForest(n_estimators=20, random_state=0)), from_pyod(KNN())],
    expected_failed_checks=lambda est: FROM_PYOD_EXPECTED_FAILURES[
        type(est.detector).__name__
    ],
)
def test_from_pyod_sklearn_checks(estimator, check):
    check(estimator)


def test_to_pyod_carries_the_calibrated_threshold_and_its_contamination(digits):
    X_train, X_test, _ = digits
    det = DenoisingAE(hidden_dims=(16, 4), max_epochs=2, device="cpu", random_state=0)
    adapter = to_pyod(det, contamination=0.2).fit(X_train)
    assert adapter.estimator_.contamination == 0.2
    assert adapter.threshold_ == -adapter.estimator_.offset_
    np.testing.assert_array_equal(
        adapter.predict(X_test), (adapter.estimator_.predict(X_test) == -1).astype(int)
    )
    # calibration="training": PyOD's own rule on the training scores
    plain = to_pyod(clone(det).set_params(calibration="training")).fit(X_train)
    assert plain.threshold_ == np.percentile(plain.decision_scores_, 90)
