"""The one fitted scoring module: built once, used by every scoring path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from skanomaly import DenoisingAE, PuzzleAE
from skanomaly.base import BaseDeepDetector
from skanomaly.scores import AnomalyScoreModule
from skanomaly.utils._testing import make_test_instance

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 6)).astype(np.float32)
    return X, np.vstack([X[:5], rng.uniform(-5, 5, size=(5, 6))]).astype(np.float32)


@pytest.fixture
def fitted(data):
    return make_test_instance(DenoisingAE).fit(data[0])


def _count_builds(monkeypatch):
    builds = []
    original = BaseDeepDetector._build_fitted_module

    def counting(self):
        builds.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(BaseDeepDetector, "_build_fitted_module", counting)
    return builds


def test_scoring_builds_nothing_per_call(fitted, data, monkeypatch):
    builds = _count_builds(monkeypatch)
    module = fitted.anomaly_score_module()
    for _ in range(3):
        fitted.score_samples(data[1])
        fitted.predict(data[1])
        fitted.decision_function(data[1])
    assert builds == []
    assert fitted.anomaly_score_module() is module
    assert isinstance(module, AnomalyScoreModule)


def test_the_module_holds_the_networks_and_the_threshold(fitted, data):
    module = fitted.anomaly_score_module()
    network = fitted.net_.module_
    assert any(sub is network for sub in module.modules())
    assert float(module.threshold) == -fitted.offset_
    x = torch.as_tensor(data[1])
    np.testing.assert_array_equal(
        module.is_outlier(x).numpy(), fitted.predict(data[1]) == -1
    )
    fitted.set_params(contamination=0.4)
    module = fitted.anomaly_score_module()
    assert float(module.threshold) == -fitted.offset_
    np.testing.assert_array_equal(
        module.is_outlier(x).numpy(), fitted.predict(data[1]) == -1
    )


def test_a_score_changing_parameter_rebuilds_the_module(fitted, data, monkeypatch):
    before = fitted.anomaly_score_module()
    fitted.set_params(anomaly_score="nap")
    builds = _count_builds(monkeypatch)
    scores = fitted.score_samples(data[1])
    assert builds == ["DenoisingAE"]
    after = fitted.anomaly_score_module()
    assert after is not before
    np.testing.assert_allclose(
        after(torch.as_tensor(data[1])).detach().numpy(), -scores, rtol=1e-6
    )
    # the stale threshold is NaN in the module, and an error for predict
    assert np.isnan(float(after.threshold))
    with pytest.raises(ValueError, match="score changed"):
        fitted.predict(data[1])


def test_pickling_rebuilds_the_module_from_the_networks(fitted, data, monkeypatch):
    fitted.score_samples(data[1])
    state = fitted.__getstate__()
    assert not any(key.startswith("_cached_") for key in state)
    restored = pickle.loads(pickle.dumps(fitted))
    builds = _count_builds(monkeypatch)
    np.testing.assert_array_equal(
        restored.score_samples(data[1]), fitted.score_samples(data[1])
    )
    restored.score_samples(data[1])
    assert builds == ["DenoisingAE"]
    module = restored.anomaly_score_module()
    assert any(sub is restored.net_.module_ for sub in module.modules())


def test_fit_leaves_no_gradients_behind(fitted):
    params = [p for m in fitted._registered_modules() for p in m.parameters()]
    assert params and all(p.grad is None for p in params)


def test_puzzle_ae_scores_through_one_channels_last_copy(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 1, 12, 12)).astype(np.float32)
    detector = make_test_instance(PuzzleAE).fit(X)
    module = detector.anomaly_score_module()
    copies = [
        sub
        for sub in module.modules()
        if sub is not detector.net_.module_ and type(sub) is type(detector.net_.module_)
    ]
    assert len(copies) == 1
    builds = _count_builds(monkeypatch)
    first = detector.score_samples(X[:5])
    np.testing.assert_array_equal(detector.score_samples(X[:5]), first)
    assert builds == []
    np.testing.assert_allclose(
        module(torch.as_tensor(X[:5])).detach().numpy(), -first, rtol=1e-5
    )
