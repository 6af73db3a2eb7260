"""Shared by the benchmarking tests: a tiny DenoisingAE and one small run."""

import pytest
from sklearn.ensemble import IsolationForest

from skanomaly import DenoisingAE
from skanomaly.benchmarking import run_benchmark


def _tiny_ae(**params):
    return DenoisingAE(
        hidden_dims=(16, 4),
        max_epochs=1,
        batch_size=64,
        device="cpu",
        random_state=0,
        **params,
    )


@pytest.fixture(scope="session")
def small_result():
    return run_benchmark(
        {"ae": _tiny_ae(), "forest": IsolationForest(n_estimators=10, random_state=0)},
        normal_classes=[0, (1, 7)],
        progress=False,
    )


@pytest.fixture
def tiny_ae():
    """Build a one-epoch DenoisingAE (keyword arguments are added)."""
    return _tiny_ae
