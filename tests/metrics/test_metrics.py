"""Tests of skanomaly.metrics: values, signs and scorers on tiny data."""

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from skanomaly import DenoisingAE
from skanomaly.metrics import (
    anomaly_score,
    best_f1,
    fpr_at_tpr,
    get_novelty_scorer,
    get_novelty_scorer_names,
    make_novelty_scorer,
    novelty_average_precision,
    novelty_roc_auc,
)

Y = np.array([0, 0, 0, 0, 1, 1, 0, 1])
S = np.array([0.1, 0.3, 0.2, 0.8, 0.7, 0.9, 0.4, 0.35])


# ---------------------------------------------------------------- metrics
def test_roc_auc_and_ap_match_sklearn_with_anomaly_positive():
    assert novelty_roc_auc(Y, S) == pytest.approx(roc_auc_score(Y, S))
    assert novelty_average_precision(Y, S) == pytest.approx(
        average_precision_score(Y, S)
    )


@pytest.mark.parametrize(
    ("labels", "outlier_label"),
    [(np.where(Y == 1, -1, 1), -1), (np.where(Y == 1, "bad", "good"), "bad")],
)
def test_outlier_label_names_the_anomalies(labels, outlier_label):
    assert novelty_roc_auc(labels, S, outlier_label=outlier_label) == pytest.approx(
        novelty_roc_auc(Y, S)
    )
    assert novelty_average_precision(
        labels, S, outlier_label=outlier_label
    ) == pytest.approx(novelty_average_precision(Y, S))
    assert best_f1(labels, S, outlier_label=outlier_label) == pytest.approx(
        best_f1(Y, S)
    )


def test_average_precision_is_not_symmetric():
    """AP of the anomalies differs from AP of the normal class: the label matters."""
    flipped = novelty_average_precision(1 - Y, -S)
    assert flipped != pytest.approx(novelty_average_precision(Y, S))


def test_fpr_at_tpr_by_hand():
    # anomalies score 0.7, 0.9, 0.35; reaching all three needs threshold 0.35,
    # which also flags normals 0.8 and 0.4: 2 of 5
    assert fpr_at_tpr(Y, S, tpr=1.0) == pytest.approx(2 / 5)
    # two of three (0.9, 0.7): only 0.8 above 0.7
    assert fpr_at_tpr(Y, S, tpr=0.6) == pytest.approx(1 / 5)
    # the default, 0.995, needs every anomaly here
    assert fpr_at_tpr(Y, S) == pytest.approx(2 / 5)
    assert fpr_at_tpr([0, 0, 1, 1], [0.0, 0.1, 0.5, 0.6]) == 0.0


def test_fpr_at_tpr_checks_tpr():
    with pytest.raises(ValueError, match="tpr"):
        fpr_at_tpr(Y, S, tpr=0.0)
    with pytest.raises(ValueError, match="tpr"):
        fpr_at_tpr(Y, S, tpr=1.5)


def test_best_f1_is_the_maximum_over_thresholds():
    f1, threshold = best_f1(Y, S)
    brute = max(f1_score(Y, (S >= t).astype(int)) for t in S)
    assert f1 == pytest.approx(brute)
    assert f1_score(Y, (S >= threshold).astype(int)) == pytest.approx(f1)
    assert threshold in S


@pytest.mark.parametrize(
    "metric", [novelty_roc_auc, novelty_average_precision, fpr_at_tpr, best_f1]
)
def test_metrics_reject_bad_input(metric):
    with pytest.raises(ValueError, match="does not occur"):
        metric(np.where(Y == 1, "bad", "good"), S)  # labels without a 1
    with pytest.raises(ValueError, match="only outliers"):
        metric(np.ones(4), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="NaN"):
        metric(Y, np.r_[S[:-1], np.nan])
    with pytest.raises(ValueError, match="inconsistent"):
        metric(Y, S[:-1])


# ------------------------------------------------------------ detectors
@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    X_train = rng.normal(0.5, 0.05, size=(80, 4))
    X_test = np.r_[rng.normal(0.5, 0.05, size=(30, 4)), rng.uniform(0, 1, size=(10, 4))]
    y_test = np.r_[np.zeros(30, int), np.ones(10, int)]
    return X_train, X_test, y_test


def _sklearn_detectors():
    return {
        "denoising-ae": DenoisingAE(
            hidden_dims=(8, 2),
            max_epochs=5,
            batch_size=16,
            device="cpu",
            random_state=0,
        ),
        "iforest": IsolationForest(n_estimators=50, random_state=0),
        "lof": LocalOutlierFactor(novelty=True),
        "ocsvm": OneClassSVM(gamma="scale"),
    }


# OneClassSVM.fit draws a libsvm seed from numpy's global generator
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.foreign_rng) if name == "ocsvm" else name
        for name in sorted(_sklearn_detectors())
    ],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_anomaly_score_is_minus_score_samples(blobs, name):
    X_train, X_test, y_test = blobs
    detector = _sklearn_detectors()[name].fit(X_train)
    scores = anomaly_score(detector, X_test)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, -detector.score_samples(X_test))
    assert novelty_roc_auc(y_test, scores) > 0.9


def test_sign_error_would_give_one_minus_auc(blobs):
    """scikit-learn's built-in roc_auc scoring on a detector, with anomaly = 1,
    reads decision_function (higher = more normal) and so returns 1 - AUC; the
    novelty scorer returns the AUC."""
    X_train, X_test, y_test = blobs
    forest = IsolationForest(n_estimators=50, random_state=0).fit(X_train)
    ours = get_novelty_scorer("roc_auc")(forest, X_test, y_test)
    from sklearn.metrics import get_scorer

    naive = get_scorer("roc_auc")(forest, X_test, y_test)
    assert ours > 0.9
    assert naive == pytest.approx(1 - ours)


@pytest.mark.foreign_rng
def test_pyod_detectors_direct_and_wrapped_get_the_same_answer(blobs):
    pytest.importorskip("pyod")
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN

    X_train, X_test, y_test = blobs
    scorer = get_novelty_scorer("roc_auc")
    for detector in (KNN(), IForest(n_estimators=50, random_state=0)):
        detector.fit(X_train)
        expected = roc_auc_score(y_test, detector.decision_function(X_test))
        assert expected > 0.9
        np.testing.assert_allclose(
            anomaly_score(detector, X_test), detector.decision_function(X_test)
        )
        assert scorer(detector, X_test, y_test) == pytest.approx(expected)
        pipeline = make_pipeline(StandardScaler(), detector).fit(X_train)
        assert scorer(pipeline, X_test, y_test) > 0.9

    adapters = pytest.importorskip("skanomaly.adapters")
    wrapped = adapters.from_pyod(KNN()).fit(X_train)
    assert scorer(wrapped, X_test, y_test) == pytest.approx(
        roc_auc_score(y_test, KNN().fit(X_train).decision_function(X_test))
    )
    to_pyod_detector = adapters.to_pyod(
        IsolationForest(n_estimators=50, random_state=0)
    )
    to_pyod_detector.fit(X_train)
    assert scorer(to_pyod_detector, X_test, y_test) > 0.9


def test_anomaly_score_rejects_non_detectors(blobs):
    with pytest.raises(TypeError, match="outlier detector"):
        anomaly_score(StandardScaler().fit(blobs[0]), blobs[1])


# --------------------------------------------------------------- scorers
def test_scorer_names_and_values(blobs):
    X_train, X_test, y_test = blobs
    forest = IsolationForest(n_estimators=50, random_state=0).fit(X_train)
    scores = -forest.score_samples(X_test)
    assert set(get_novelty_scorer_names()) >= {
        "roc_auc",
        "average_precision",
        "fpr_at_tpr",
        "best_f1",
    }
    assert get_novelty_scorer("average_precision")(forest, X_test, y_test) == (
        pytest.approx(novelty_average_precision(y_test, scores))
    )
    assert get_novelty_scorer("best_f1")(forest, X_test, y_test) == pytest.approx(
        best_f1(y_test, scores)[0]
    )
    # lower FPR is better: the scorer negates it so that searches maximise
    for name in ("fpr_at_tpr", "neg_fpr_at_tpr"):
        assert get_novelty_scorer(name)(forest, X_test, y_test) == pytest.approx(
            -fpr_at_tpr(y_test, scores)
        )
    labels = np.where(y_test == 1, -1, 1)
    assert get_novelty_scorer("roc_auc", outlier_label=-1)(
        forest, X_test, labels
    ) == pytest.approx(novelty_roc_auc(y_test, scores))


def test_make_novelty_scorer_with_callable_and_kwargs(blobs):
    X_train, X_test, y_test = blobs
    forest = IsolationForest(n_estimators=50, random_state=0).fit(X_train)
    scores = -forest.score_samples(X_test)
    scorer = make_novelty_scorer(roc_auc_score)
    assert scorer(forest, X_test, y_test) == pytest.approx(
        roc_auc_score(y_test, scores)
    )
    loose = make_novelty_scorer("fpr_at_tpr", tpr=0.5)
    assert loose(forest, X_test, y_test) == pytest.approx(
        -fpr_at_tpr(y_test, scores, tpr=0.5)
    )
    assert "tpr=0.5" in repr(loose)
    with pytest.raises(ValueError, match="unknown metric"):
        make_novelty_scorer("accuracy")
    with pytest.raises(ValueError, match="does not occur"):
        get_novelty_scorer("roc_auc")(forest, X_test, np.where(y_test == 1, 2, 0))


@pytest.mark.foreign_rng  # OneClassSVM.fit draws from numpy's global generator
def test_scorers_in_grid_search_and_cross_val_score(blobs):
    X_train, X_test, y_test = blobs
    X = np.r_[X_train, X_test]
    y = np.r_[np.zeros(len(X_train), int), y_test]
    # one split: train on the clean training rows, test on the labelled rows
    cv = [(np.arange(len(X_train)), np.arange(len(X_train), len(X)))]
    scoring = {name: get_novelty_scorer(name) for name in ("roc_auc", "fpr_at_tpr")}
    search = GridSearchCV(
        LocalOutlierFactor(novelty=True),
        {"n_neighbors": [1, 40]},
        scoring=scoring,
        refit="roc_auc",
        cv=cv,
    ).fit(X, y)
    aucs = search.cv_results_["mean_test_roc_auc"]
    assert np.all(aucs > 0.5)
    for k, n_neighbors in enumerate((1, 40)):
        lof = LocalOutlierFactor(novelty=True, n_neighbors=n_neighbors).fit(X_train)
        assert aucs[k] == pytest.approx(
            novelty_roc_auc(y_test, -lof.score_samples(X_test))
        )
    assert np.all(search.cv_results_["mean_test_fpr_at_tpr"] <= 0)
    # a fitted search is scored through its best estimator
    assert anomaly_score(search, X_test) == pytest.approx(
        -search.best_estimator_.score_samples(X_test)
    )
    values = cross_val_score(
        OneClassSVM(gamma="scale"), X, y, cv=cv, scoring=get_novelty_scorer("roc_auc")
    )
    assert values[0] > 0.9
