"""Calibrated decisions: held-out thresholds, recalibration, conformal p-values,
false-discovery control and the guard rails around them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import kstest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import check_outliers_train

from skanomaly import ARAE, LISAE, DenoisingAE, RobustGMMDAE
from skanomaly.calibration import (
    calibration_split,
    conformal_pvalues,
    conformal_threshold,
    min_calibration_rows,
    select_anomalies,
)
from skanomaly.metrics import get_novelty_scorer, novelty_roc_auc
from skanomaly.model_selection import InlierKFold, InlierOnly
from skanomaly.utils._testing import make_test_instance

TABULAR = [DenoisingAE, ARAE, LISAE, RobustGMMDAE]


# --------------------------------------------------------------- pure functions
def test_conformal_threshold_is_the_kth_smallest_score():
    scores = np.arange(1.0, 20.0)  # 19 scores: k = floor(c * 20)
    assert conformal_threshold(scores[::-1], 0.1) == 2.0
    assert conformal_threshold(scores, 0.05) == 1.0
    assert conformal_threshold(scores, 0.5) == 10.0
    assert conformal_threshold(scores, 0.01) == -np.inf  # 19 < 99 rows
    assert min_calibration_rows(0.05) == 19
    with pytest.raises(ValueError, match="contamination must be in"):
        conformal_threshold(scores, 1.5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        conformal_threshold([1.0, np.nan], 0.1)
    with pytest.raises(ValueError, match="empty"):
        conformal_threshold([], 0.1)


def test_conformal_guarantee_on_exchangeable_scores():
    """Over many draws, the share of new normal scores below the threshold is
    at most the target, and within 1 / (n + 1) of it."""
    rng = np.random.RandomState(0)
    for contamination in (0.01, 0.05, 0.1):
        rates = []
        for _ in range(400):
            calibration, new = rng.normal(size=150), rng.normal(size=200)
            threshold = conformal_threshold(calibration, contamination)
            rates.append(np.mean(new < threshold))
        k = np.floor(contamination * 151)
        assert np.mean(rates) == pytest.approx(k / 151, abs=0.004)
        assert np.mean(rates) <= contamination + 0.004


def test_pvalues_of_normal_data_are_uniform():
    """Marginally, over calibration sets: each draw of calibration rows gives
    p-values of new rows that are uniform up to that draw's own error."""
    rng = np.random.RandomState(1)
    pvalues = np.concatenate(
        [
            conformal_pvalues(rng.normal(size=99), rng.normal(size=10))
            for _ in range(500)
        ]
    )
    # discrete on a grid of 1/100: compare with the uniform law on that grid
    jitter = rng.uniform(-0.01, 0, size=pvalues.size)
    assert kstest(pvalues + jitter, "uniform").pvalue > 0.01
    for level in (0.01, 0.05, 0.1, 0.5):
        assert np.mean(pvalues <= level) <= level + 0.01
    calibration = rng.normal(size=999)
    anomalies = conformal_pvalues(calibration, rng.normal(-4, 1, size=100))
    assert np.median(anomalies) < 0.01
    assert conformal_pvalues([1.0, 2.0], [0.0, 1.0, 5.0]).tolist() == [
        1 / 3,
        2 / 3,
        1.0,
    ]


def test_benjamini_hochberg_keeps_the_false_discovery_rate():
    rng = np.random.RandomState(2)
    proportions, powers = [], []
    for _ in range(200):
        calibration = rng.normal(size=300)
        normal, anomalies = rng.normal(size=180), rng.normal(-3.5, 1, size=20)
        pvalues = conformal_pvalues(calibration, np.r_[normal, anomalies])
        selected = select_anomalies(pvalues, fdr=0.1)
        false = selected[:180].sum()
        proportions.append(false / max(selected.sum(), 1))
        powers.append(selected[180:].mean())
    assert np.mean(proportions) <= 0.1 + 0.01
    assert np.mean(powers) > 0.5
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        select_anomalies([0.5, 1.5])
    assert select_anomalies([]).shape == (0,)


def test_calibration_split_is_seeded_and_checks_counts():
    a = calibration_split(100, 0.2, seed=3)
    b = calibration_split(100, 0.2, seed=3)
    np.testing.assert_array_equal(a[1], b[1])
    assert len(a[1]) == 20 and np.intersect1d(*a).size == 0
    assert len(calibration_split(100, 30, seed=0)[1]) == 30
    assert calibration_split(3, 0.2, seed=0)[1].size == 1
    with pytest.raises(ValueError, match="fewer than 2 to train on"):
        calibration_split(10, 9, seed=0)


# ------------------------------------------------------------ the detectors
@pytest.fixture(scope="module")
def digit_zero():
    """Digit 0: 120 images train, the other 58 are unseen normal rows."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    zeros = np.random.RandomState(0).permutation(np.flatnonzero(y == 0))
    return X[zeros[:120]], X[zeros[120:]], X[y != 0]


@pytest.mark.parametrize("cls", TABULAR, ids=lambda c: c.__name__)
def test_predict_flags_about_contamination_of_unseen_normal_rows(cls, digit_zero):
    """The bug this guards against: a threshold taken from the training rows,
    which the networks reconstruct far better than unseen rows, flagged 68 to
    100 % of unseen digits at contamination=0.1."""
    X_train, X_normal, X_other = digit_zero
    det = cls(device="cpu", random_state=0).fit(X_train)
    flagged = np.mean(det.predict(X_normal) == -1)
    # 58 unseen rows, 24 calibration rows (k = 2): the realised rate has a
    # mean of 0.08 and rarely passes 0.2
    assert flagged <= 0.25, f"{flagged:.0%} of unseen normal rows flagged"
    assert np.mean(det.predict(X_other) == -1) > 0.8  # and anomalies are flagged


def test_the_training_percentile_stays_available(digit_zero):
    X_train, X_normal, _ = digit_zero
    det = DenoisingAE(device="cpu", random_state=0, calibration="training")
    det.fit(X_train)
    assert det.calibration_source_ == "training"
    assert det.offset_ == np.percentile(det.score_samples(X_train), 10)
    # the memorised training rows: most unseen normal rows fall below it
    assert np.mean(det.predict(X_normal) == -1) > 0.5
    with pytest.warns(UserWarning, match="calibration='training'"):
        det.conformal_pvalues(X_normal)


@pytest.mark.parametrize("cls", TABULAR, ids=lambda c: c.__name__)
def test_scikit_learn_outlier_checks_pass_with_the_training_percentile(cls):
    # the check expects contamination of the *training* rows to be flagged
    det = make_test_instance(cls, calibration="training")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plateau warnings of the tiny budget
        check_outliers_train(cls.__name__, det)


def test_offset_follows_contamination_without_refitting(digit_zero):
    X_train, X_normal, _ = digit_zero
    det = DenoisingAE(hidden_dims=(32, 8), max_epochs=20, device="cpu", random_state=0)
    det.fit(X_train)
    offsets = []
    for contamination in (0.05, 0.1, 0.3):
        det.set_params(contamination=contamination)
        assert det.offset_ == conformal_threshold(
            det.calibration_scores_, contamination
        )
        np.testing.assert_array_equal(
            det.predict(X_normal),
            np.where(det.score_samples(X_normal) < det.offset_, -1, 1),
        )
        offsets.append(det.offset_)
    assert offsets[0] < offsets[1] < offsets[2]
    det.set_params(contamination=0.9)
    with pytest.raises(ValueError, match="contamination must be a float in"):
        det.predict(X_normal)


def test_a_changed_score_needs_a_new_calibration(digit_zero):
    X_train, X_normal, _ = digit_zero
    # NAP: the first hidden layer (32) is narrower than the input (64)
    det = DenoisingAE(hidden_dims=(32, 8), max_epochs=20, device="cpu", random_state=0)
    det.fit(X_train)
    offset = det.offset_
    det.set_params(verbose=0, device="cpu", lr=0.5)  # the score is unchanged
    assert det.offset_ == offset
    det.set_params(anomaly_score="reconstruction")
    for method in ("predict", "decision_function", "conformal_pvalues"):
        with pytest.raises(
            ValueError, match=r"anomaly_score='reconstruction'.*calibrate"
        ):
            getattr(det, method)(X_normal)
    det.score_samples(X_normal)  # scoring needs no threshold
    det.set_params(anomaly_score="auto")  # back to the calibrated score
    assert det.offset_ == offset
    det.set_params(anomaly_score="reconstruction").calibrate(X_normal)
    assert det.calibration_source_ == "calibrate"
    assert det.offset_ == conformal_threshold(
        det.score_samples(X_normal), det.contamination
    )


def test_calibrate_resets_the_threshold_from_other_normal_rows(digit_zero):
    X_train, X_normal, X_other = digit_zero
    det = DenoisingAE(hidden_dims=(32, 8), max_epochs=20, device="cpu", random_state=0)
    det.fit(X_train)
    before = det.calibration_scores_.copy()
    returned = det.calibrate(X_normal)
    assert returned is det and len(det.calibration_scores_) == len(X_normal)
    np.testing.assert_array_equal(
        det.calibration_scores_, np.sort(det.score_samples(X_normal))
    )
    assert not np.array_equal(before, det.calibration_scores_)
    with pytest.raises(ValueError, match="features"):
        det.calibrate(X_normal[:, :10])
    with pytest.warns(UserWarning, match="too few for contamination=0.1"):
        det.calibrate(X_normal[:5])
    assert det.offset_ == -np.inf and (det.predict(X_other) == 1).all()


def test_calibration_rows_as_a_count_and_too_few_rows():
    X = np.random.RandomState(0).uniform(size=(60, 5))
    det = DenoisingAE(hidden_dims=(4, 2), max_epochs=2, device="cpu", random_state=0)
    assert len(clone(det).set_params(calibration=15).fit(X).calibration_scores_) == 15
    with pytest.raises(ValueError, match="fewer than 2 to train on"):
        clone(det).set_params(calibration=59).fit(X)
    with pytest.raises(ValueError, match="calibration"):
        clone(det).set_params(calibration=1.0).fit(X)
    with pytest.warns(UserWarning, match="holds out no row"):
        tiny = clone(det).set_params(calibration=0.2).fit(X[:2])
    assert tiny.calibration_source_ == "training"
    with pytest.warns(UserWarning, match="too few for contamination=0.1"):
        few = clone(det).fit(X[:30])  # 6 calibration rows
    assert few.offset_ == -np.inf and (few.predict(X) == 1).all()
    assert np.isfinite(few.set_params(contamination=0.2).offset_)


def test_same_random_state_same_split_other_seed_other_split():
    X = np.random.RandomState(0).uniform(size=(60, 5))
    det = DenoisingAE(hidden_dims=(4, 2), max_epochs=2, device="cpu", random_state=0)
    a, b = clone(det).fit(X), clone(det).fit(X)
    np.testing.assert_array_equal(a.calibration_scores_, b.calibration_scores_)
    c = clone(det).set_params(random_state=1).fit(X)
    assert not np.array_equal(a.calibration_scores_, c.calibration_scores_)


def test_pvalues_of_unseen_normal_rows_are_uniform():
    """On a tabular task with many unseen normal rows, the detector's p-values
    are uniform and the BH selection keeps its false-discovery rate."""
    rng = np.random.RandomState(0)
    mixing = rng.normal(size=(3, 12))

    def normal(n):
        return np.tanh(rng.normal(size=(n, 3)) @ mixing)

    det = DenoisingAE(device="cpu", random_state=0, calibration=300).fit(normal(800))
    pvalues = det.conformal_pvalues(normal(3000))
    # given one set of 300 calibration rows, the law of the p-values is
    # uniform up to that set's sampling error (1.36 / sqrt(300) = 0.08 at 95 %)
    assert kstest(pvalues, "uniform").statistic < 0.1
    assert np.mean(pvalues <= 0.1) == pytest.approx(0.1, abs=0.04)
    anomalies = rng.uniform(-1, 1, size=(100, 12))
    mixed = det.conformal_pvalues(np.r_[normal(900), anomalies])
    selected = select_anomalies(mixed, fdr=0.1)
    assert selected[:900].sum() / max(selected.sum(), 1) <= 0.2
    assert selected[900:].mean() > 0.5


def test_streamed_fit_holds_out_the_same_rows(tmp_path):
    X = np.random.RandomState(0).uniform(size=(60, 5)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    det = DenoisingAE(hidden_dims=(4, 2), max_epochs=2, device="cpu", random_state=0)
    streamed, in_memory = clone(det).fit(mapped), clone(det).fit(X)
    np.testing.assert_array_equal(
        streamed.calibration_scores_, in_memory.calibration_scores_
    )
    np.testing.assert_array_equal(streamed.scaler_.min_, in_memory.scaler_.min_)


# ---------------------------------------------------------------- guard rails
def test_fit_with_labels_of_both_classes_warns_and_names_inlier_only():
    X = np.random.RandomState(0).uniform(size=(60, 5))
    y = np.r_[np.zeros(45), np.ones(15)]
    det = DenoisingAE(hidden_dims=(4, 2), max_epochs=2, device="cpu", random_state=0)
    with pytest.warns(UserWarning, match="InlierOnly"):
        clone(det).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clone(det).fit(X, np.zeros(60))  # one class: nothing to say
        clone(det).fit(X)


def test_bare_detector_in_a_search_warns_and_inlier_only_does_not():
    X = np.random.RandomState(0).uniform(size=(90, 5))
    y = np.r_[np.zeros(75), np.ones(15)]
    det = DenoisingAE(hidden_dims=(4, 2), max_epochs=2, device="cpu", random_state=0)
    with pytest.warns(UserWarning, match="ignores y and trains on every row"):
        cross_val_score(det, X, y, cv=3, scoring="roc_auc")
    # inlier folds, but the final refit sees every row
    bare = GridSearchCV(
        det,
        {"lr": [1e-3, 1e-2]},
        cv=InlierKFold(3),
        scoring=get_novelty_scorer("roc_auc"),
    )
    with pytest.warns(UserWarning, match="InlierOnly"):
        bare.fit(X, y)
    search = GridSearchCV(
        InlierOnly(det),
        {"estimator__lr": [1e-3, 1e-2]},
        cv=InlierKFold(3),
        scoring=get_novelty_scorer("roc_auc"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        search.fit(X, y)


def test_metrics_read_plus_minus_one_labels_the_scikit_learn_way():
    y_pm = np.array([1, 1, 1, -1, -1])  # scikit-learn: -1 = outlier
    anomaly_scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    with pytest.warns(UserWarning, match="-1 is taken as the outlier label"):
        assert novelty_roc_auc(y_pm, anomaly_scores) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert novelty_roc_auc(y_pm, anomaly_scores, outlier_label=-1) == 1.0
        assert novelty_roc_auc(y_pm, anomaly_scores, outlier_label=1) == 0.0
        assert novelty_roc_auc((y_pm == -1).astype(int), anomaly_scores) == 1.0


def test_scorers_read_plus_minus_one_labels_the_scikit_learn_way(digit_zero):
    X_train, X_normal, X_other = digit_zero
    det = DenoisingAE(hidden_dims=(32, 8), max_epochs=20, device="cpu", random_state=0)
    det.fit(X_train)
    X = np.r_[X_normal, X_other[:50]]
    y_pm = np.r_[np.ones(len(X_normal)), -np.ones(50)]
    scorer = get_novelty_scorer("roc_auc")
    with pytest.warns(UserWarning, match="-1 is taken as the outlier label"):
        auc = scorer(det, X, y_pm)
    assert auc > 0.9
    assert scorer(det, X, (y_pm == -1).astype(int)) == auc


def test_inlier_only_passes_calibration_through(digit_zero):
    X_train, X_normal, X_other = digit_zero
    X = np.r_[X_train, X_other[:30]]
    y = np.r_[np.zeros(len(X_train)), np.ones(30)]
    det = DenoisingAE(hidden_dims=(32, 8), max_epochs=20, device="cpu", random_state=0)
    wrapped = InlierOnly(det).fit(X, y)
    np.testing.assert_array_equal(
        wrapped.conformal_pvalues(X_normal),
        wrapped.estimator_.conformal_pvalues(X_normal),
    )
    assert wrapped.calibrate(X_normal) is wrapped
    assert wrapped.estimator_.calibration_source_ == "calibrate"
    assert wrapped.offset_ == wrapped.estimator_.offset_


def test_held_out_rows_do_not_shorten_the_auto_budget():
    X = np.random.RandomState(0).uniform(size=(600, 5))
    held_out = DenoisingAE(hidden_dims=(4, 2), device="cpu", random_state=0)
    every_row = clone(held_out).set_params(calibration="training")
    # 600 rows: batch 64, 10 steps an epoch, 60 epochs for 600 steps; the 480
    # training rows take 8 steps an epoch, so 75 epochs keep the 600 steps
    assert every_row._training_budget(600, 600) == (64, 60)
    assert held_out._training_budget(600, 480) == (64, 75)
    assert held_out.fit(X).n_epochs_ == 75
    # an explicit epoch count is kept
    assert clone(held_out).set_params(max_epochs=7)._training_budget(600, 480)[1] == 7
