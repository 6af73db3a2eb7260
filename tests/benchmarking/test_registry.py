"""skanomaly.benchmarking._registry: the named detectors of the benchmark."""

import random

import numpy as np
import pytest
import torch

from skanomaly.benchmarking import (
    DETECTOR_FACTORIES,
    describe_detectors,
    get_budget,
    make_detector,
)


def test_registry_builds_every_detector():
    budget = get_budget("quick", max_epochs=3, device="cpu")
    for name in DETECTOR_FACTORIES:
        if name.startswith("pyod"):
            pytest.importorskip("pyod")
        with torch.random.fork_rng(), _numpy_state_kept():
            estimator = make_detector(name, budget, seed=5)
        assert hasattr(estimator, "fit"), name
        params = estimator.get_params()
        if "max_epochs" in params:
            assert params["max_epochs"] == 3
        if "epoch_num" in params:
            assert params["epoch_num"] == 3
    assert set(describe_detectors()) == set(DETECTOR_FACTORIES)
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("no-such-detector")


class _numpy_state_kept:
    """PyOD's deep detectors seed numpy's global generator in __init__."""

    def __enter__(self):
        self.state = np.random.get_state()  # noqa: NPY002
        self.python = random.getstate()

    def __exit__(self, *exc):
        np.random.set_state(self.state)  # noqa: NPY002
        random.setstate(self.python)
