"""The speed kind's FLOP counts: the share of the matmul peak it reports
counts each score's whole work."""

import numpy as np
import pytest

from benchmarks.suite.kinds.speed import mlp_flops_per_row, score_flops_per_row
from skanomaly import DenoisingAE


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).uniform(size=(60, 12))
    return DenoisingAE(
        hidden_dims=(8, 4), max_epochs=2, device="cpu", random_state=0
    ).fit(X)


def test_score_flops_count_nap_and_the_latent_neighbour_term(fitted):
    det = fitted
    forward = mlp_flops_per_row(12, (8, 4))
    assert forward == 2 * 2 * (12 * 8 + 8 * 4)
    det.set_params(anomaly_score="reconstruction")
    assert score_flops_per_row(det) == forward
    det.set_params(anomaly_score="nap")
    # the encoder again on the reconstruction, and one whitening product per
    # layer of the pathway (input 12, hidden 8, code 4: full covariances)
    whitening = 2 * (12 * 12 + 8 * 8 + 4 * 4)
    assert score_flops_per_row(det) == forward + forward // 2 + whitening
    det.set_params(anomaly_score="nap+knn")
    n_codes = det.latent_codes_.shape[0]
    assert score_flops_per_row(det) == (
        forward + forward // 2 + whitening + forward // 2 + 2 * n_codes * 4
    )
    det.set_params(anomaly_score="reconstruction+knn")
    assert score_flops_per_row(det) == forward + forward // 2 + 2 * n_codes * 4
