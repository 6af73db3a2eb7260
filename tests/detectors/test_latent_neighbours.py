"""The latent-neighbour term of ``anomaly_score="...+knn"``: its score module,
the reference codes and the term scales every detector with it keeps."""

import copy

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

import skanomaly.detectors._neighbours as neighbours
from skanomaly import ARAE, CRBND, LISAE, DenoisingAE, RobustGMMDAE
from skanomaly.detectors._neighbours import term_scale
from skanomaly.scores import LatentNeighbourScore, kth_neighbour_distance
from skanomaly.utils._torch import derive_seed

SMALL = {"max_epochs": 2, "device": "cpu", "random_state": 0}
DETECTORS = [
    (DenoisingAE, {"hidden_dims": (8, 3)}),
    (ARAE, {"hidden_dims": (8, 3)}),
    (LISAE, {"latent_dim": 3, "width": 4}),
    (RobustGMMDAE, {"hidden_dims": (8,), "latent_dim": 3, "n_components": 2}),
    # 5 features read as 1x1x5 images
    (
        CRBND,
        {"width": 2, "latent_dim": 3, "classifier_width": 2, "input_shape": (1, 1, 5)},
    ),
]


def _rows(n=120, seed=0):
    return np.random.RandomState(seed).uniform(size=(n, 5)).astype(np.float32)


def test_kth_neighbour_distance_is_scikit_learns():
    rng = np.random.RandomState(0)
    reference, queries = rng.normal(size=(50, 4)), rng.normal(size=(7, 4))
    distances, _ = NearestNeighbors(n_neighbors=5).fit(reference).kneighbors(queries)
    ours = kth_neighbour_distance(
        torch.as_tensor(queries), torch.as_tensor(reference), 5
    )
    np.testing.assert_allclose(ours.numpy(), distances[:, 4], rtol=1e-10)
    # more neighbours than codes: the farthest code
    far = kth_neighbour_distance(
        torch.as_tensor(queries), torch.as_tensor(reference[:3]), 5
    )
    full = np.linalg.norm(queries[:, None] - reference[None, :3], axis=2).max(axis=1)
    np.testing.assert_allclose(far.numpy(), full, rtol=1e-10)


def test_score_module_rejects_an_empty_reference():
    with pytest.raises(ValueError, match="non-empty 2-D"):
        LatentNeighbourScore(torch.nn.Identity(), torch.zeros(0, 3), 5)


def test_term_scale_falls_back_on_ties():
    assert term_scale([1.0, 2.0, 4.0]) == 1.0  # the median absolute deviation
    assert term_scale([1.0, 1.0, 1.0, 5.0]) == pytest.approx(np.std([1, 1, 1, 5]))
    assert term_scale([3.0, 3.0]) == 1.0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("cls", "params"), DETECTORS, ids=lambda v: getattr(v, "__name__", "")
)
def test_default_adds_the_scaled_neighbour_term(cls, params):
    X = _rows()
    det = cls(**params, **SMALL).fit(X)
    assert det._resolved_anomaly_score().endswith("+knn")
    # 120 rows, 24 held out: the codes of the 96 training rows
    assert det.latent_codes_.shape == (96, 3)
    assert det.latent_codes_.dtype == np.float32
    base = det._resolved_anomaly_score()[: -len("+knn")]
    X_test = _rows(20, seed=1)
    alone = copy.deepcopy(det).set_params(anomaly_score=base).score_samples(X_test)
    module = det.anomaly_score_module()
    term = LatentNeighbourScore(
        module.scorer.scores[1].autoencoder, torch.as_tensor(det.latent_codes_), 5
    )
    with torch.no_grad():
        knn = term(module.net_input(torch.as_tensor(X_test))).numpy()
    expected = alone / det.score_scales_[base] - knn / det.score_scales_["knn"]
    np.testing.assert_allclose(det.score_samples(X_test), expected, rtol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scales_come_from_the_held_out_rows():
    X = _rows()
    det = DenoisingAE(hidden_dims=(8, 3), **SMALL).fit(X)
    # the held-out rows' reconstruction errors, scaled as the module does
    recon = copy.deepcopy(det).set_params(anomaly_score="reconstruction")
    _, held_out = det._calibration_rows(len(X), derive_seed(0))
    assert len(held_out) == 24
    assert det.score_scales_["reconstruction"] == pytest.approx(
        term_scale(-recon.score_samples(X[held_out])), rel=1e-6
    )
    # not the training rows' spread, which is smaller
    training = np.setdiff1d(np.arange(len(X)), held_out)
    assert det.score_scales_["reconstruction"] != pytest.approx(
        term_scale(-recon.score_samples(X[training])), rel=1e-3
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_reference_codes_are_capped(monkeypatch):
    monkeypatch.setattr(neighbours, "MAX_REFERENCE_CODES", 40)
    X = _rows()
    det = DenoisingAE(hidden_dims=(8, 3), **SMALL, calibration="training").fit(X)
    assert det.latent_codes_.shape == (40, 3)
    again = DenoisingAE(hidden_dims=(8, 3), **SMALL, calibration="training").fit(X)
    np.testing.assert_array_equal(det.latent_codes_, again.latent_codes_)
    assert np.isfinite(det.score_samples(X)).all()
