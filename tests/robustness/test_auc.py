"""ROC AUC under attack, for every detector."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from skanomaly import DenoisingAE
from skanomaly.robustness import AUCUnderAttack, auc_under_attack
from skanomaly.utils import all_estimators
from skanomaly.utils._testing import make_detector_data, make_test_instance


@pytest.fixture(scope="module")
def digits_detector(digits_one_class):
    X_train, X_test, y_test = digits_one_class
    det = DenoisingAE(
        hidden_dims=(32, 8),
        max_epochs=30,
        batch_size=32,
        anomaly_score="reconstruction",  # the paper's score: smooth, convex-ish
        device="cpu",
        random_state=0,
    ).fit(X_train)
    # a balanced test subset keeps the attacks quick
    rng = np.random.RandomState(0)
    normal = rng.choice(np.flatnonzero(y_test == 0), 40, replace=False)
    anomalous = rng.choice(np.flatnonzero(y_test == 1), 40, replace=False)
    idx = np.r_[normal, anomalous]
    return det, X_test[idx], y_test[idx]


def test_epsilon_zero_is_the_clean_auc(digits_detector):
    det, X, y = digits_detector
    before = X.copy()
    res = auc_under_attack(det, X, y, epsilons=[0.0], random_state=0)
    clean = roc_auc_score(y, -det.score_samples(X))
    assert res.aucs[0] == pytest.approx(clean, abs=1e-12)
    np.testing.assert_allclose(res.anomaly_scores[0], -det.score_samples(X))
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(
    ("norm", "epsilons"),
    [
        ("linf", [0.0, 0.02, 0.05, 0.1, 0.2]),
        ("l2", [0.0, 0.2, 0.5, 1.0, 2.0]),
    ],
)
def test_auc_decreases_with_epsilon(digits_detector, norm, epsilons):
    det, X, y = digits_detector
    res = auc_under_attack(
        det, X, y, epsilons=epsilons, norm=norm, steps=10, random_state=0
    )
    assert isinstance(res, AUCUnderAttack) and res.norm == norm
    np.testing.assert_array_equal(res.epsilons, epsilons)
    assert res.aucs[0] > 0.9
    assert (np.diff(res.aucs) <= 1e-9).all(), res.aucs
    assert res.aucs[-1] < res.aucs[0] - 0.2
    assert res.anomaly_scores.shape == (len(epsilons), len(X))


def test_attack_pushes_scores_the_wrong_way(digits_detector):
    det, X, y = digits_detector
    res = auc_under_attack(det, X, y, epsilons=[0, 0.05], random_state=0)
    change = res.anomaly_scores[1] - res.anomaly_scores[0]
    assert (change[y == 0] > 0).all() and (change[y == 1] < 0).all()


def test_reproducible(digits_detector):
    det, X, y = digits_detector
    a = auc_under_attack(det, X[::4], y[::4], epsilons=[0.05], random_state=1)
    b = auc_under_attack(det, X[::4], y[::4], epsilons=[0.05], random_state=1)
    np.testing.assert_array_equal(a.anomaly_scores, b.anomaly_scores)


@pytest.mark.parametrize("name_and_class", all_estimators(), ids=lambda p: p[0])
def test_runs_for_every_detector(name_and_class):
    _, cls = name_and_class
    det = make_test_instance(cls)
    data = make_detector_data(det, n_test=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det.fit(data.X_train, **data.fit_params)
    res = auc_under_attack(
        det, data.X_test, data.y_test, epsilons=[0, 0.1], steps=2, random_state=0
    )
    clean = roc_auc_score(data.y_test, -det.score_samples(data.X_test))
    assert res.aucs[0] == pytest.approx(clean, abs=1e-12)
    assert res.aucs.shape == (2,) and np.isfinite(res.aucs).all()
    assert res.aucs[1] <= res.aucs[0] + 1e-9


def test_bad_input(digits_detector):
    det, X, y = digits_detector
    with pytest.raises(ValueError, match="epsilons"):
        auc_under_attack(det, X, y, epsilons=[0.1, -0.1])
    with pytest.raises(ValueError, match="epsilons"):
        auc_under_attack(det, X, y, epsilons=[])
    with pytest.raises(ValueError, match="epsilons"):
        auc_under_attack(det, X, y, epsilons=[np.nan])
    with pytest.raises(ValueError, match="binary"):
        auc_under_attack(det, X, np.where(y == 1, 2, 0), epsilons=[0])
    with pytest.raises(ValueError, match="both"):
        auc_under_attack(det, X, np.zeros(len(X)), epsilons=[0])
    with pytest.raises(ValueError, match="different lengths"):
        auc_under_attack(det, X, y[:-1], epsilons=[0])
    with pytest.raises(ValueError, match="1-D"):
        auc_under_attack(det, X, y.reshape(-1, 1), epsilons=[0])
    with pytest.raises(ValueError, match="norm"):
        auc_under_attack(det, X, y, norm="l1")
    with pytest.raises(ValueError, match="steps"):
        auc_under_attack(det, X, y, steps=0)
    with pytest.raises(ValueError, match="features"):
        auc_under_attack(det, X[:, :10], y, epsilons=[0])
    with pytest.raises(TypeError, match="skanomaly detector"):
        auc_under_attack(object(), X, y)
