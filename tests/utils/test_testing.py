"""skanomaly.utils._testing: the test settings and data every detector gets."""

import numpy as np
import pytest

from skanomaly import DenoisingAE, PuzzleAE
from skanomaly.utils import _testing
from skanomaly.utils._testing import make_detector_data, make_test_instance


@pytest.mark.parametrize(
    ("cls", "train_shape", "sample_shape"),
    [(DenoisingAE, (50, 16), (16,)), (PuzzleAE, (50, 1, 16, 16), (1, 16, 16))],
)
def test_data_layout_follows_the_detector(cls, train_shape, sample_shape):
    data = make_detector_data(cls)
    assert data.X_train.shape == train_shape and data.X_train.dtype == np.float32
    assert data.X_test.shape == (16, *train_shape[1:])
    assert data.sample_shape == sample_shape and data.n_features == np.prod(
        sample_shape
    )
    np.testing.assert_array_equal(data.y_test, np.r_[np.zeros(8), np.ones(8)])
    for X in (data.X_train, data.X_test):
        assert X.min() >= 0 and X.max() <= 1
    assert data.fit_params == {}
    # an instance gives the same data; the seed decides it
    again = make_detector_data(make_test_instance(cls))
    np.testing.assert_array_equal(again.X_test, data.X_test)
    other = make_detector_data(cls, random_state=1)
    assert not np.array_equal(other.X_train, data.X_train)


def test_anomalies_are_far_from_the_normal_ramps():
    data = make_detector_data(DenoisingAE, n_train=10, n_test=5, size=8)
    normal, anomalous = data.X_test[:5], data.X_test[5:]
    ramp = np.linspace(0.2, 0.8, 8)
    assert np.abs(normal - ramp).max() <= 0.05 + 1e-6
    assert set(np.unique(anomalous)) <= {0.0, 1.0}


def test_per_estimator_overrides(monkeypatch):
    monkeypatch.setitem(_testing.DATA_PARAMS, "PuzzleAE", {"size": 8, "n_train": 12})
    monkeypatch.setitem(_testing.FIT_ARRAYS, "PuzzleAE", ("X_negative",))
    data = make_detector_data(PuzzleAE)
    assert data.X_train.shape == (12, 1, 8, 8)
    negatives = data.fit_params["X_negative"]
    assert negatives.shape == (3, 1, 8, 8) and set(np.unique(negatives)) <= {0, 1}


def test_test_instances_are_small_and_quiet():
    det = make_test_instance(DenoisingAE, max_epochs=5)
    assert det.device == "cpu" and det.random_state == 0 and det.verbose == 0
    assert det.max_epochs == 5 and det.hidden_dims == (16, 8)
