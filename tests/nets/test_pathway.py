"""RaPP's pathway differences, their streaming moments and the NAP score."""

import numpy as np
import pytest
import torch

import skanomaly.nets.pathway as pathway
from skanomaly.nets import MLPAutoencoder
from skanomaly.nets.pathway import (
    PathwayMoments,
    pathway_activations,
    pathway_differences,
)
from skanomaly.scores import NAPScore

GENERATOR = torch.Generator().manual_seed(0)


def rand(*shape):
    return torch.rand(*shape, generator=GENERATOR)


@pytest.fixture
def autoencoder():
    with torch.random.fork_rng():  # the global random state stays untouched
        torch.manual_seed(0)
        return MLPAutoencoder(6, (5, 3), act_layer=torch.nn.LeakyReLU).eval()


def test_activations_are_input_then_each_activation(autoencoder):
    x = rand(4, 6)
    acts = pathway_activations(autoencoder, x)
    assert [a.shape[1] for a in acts] == [6, 5, 3]
    torch.testing.assert_close(acts[0], x)
    torch.testing.assert_close(acts[-1], autoencoder.encode(x))


def test_differences_compare_x_and_its_reconstruction(autoencoder):
    x = rand(4, 6)
    diffs = pathway_differences(autoencoder, x)
    torch.testing.assert_close(diffs[0], x - autoencoder(x))
    expected = autoencoder.encode(x) - autoencoder.encode(autoencoder(x))
    torch.testing.assert_close(diffs[-1], expected)


def test_moments_merged_by_batches_equal_the_whole():
    rng = np.random.RandomState(0)
    data = rng.normal(3.0, 2.0, size=(50, 4))
    moments = PathwayMoments()
    for chunk in (data[:7], data[7:8], data[8:30], data[30:]):
        moments.update([torch.as_tensor(chunk)])
    assert moments.count == 50
    np.testing.assert_allclose(moments.means[0].numpy(), data.mean(axis=0))
    np.testing.assert_allclose(
        moments.scatters[0].numpy() / 50, np.cov(data.T, bias=True), rtol=1e-10
    )


def test_whitening_gives_the_mahalanobis_distance():
    rng = np.random.RandomState(1)
    data = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3))
    moments = PathwayMoments()
    moments.update([torch.as_tensor(data)])
    ((mean, projection),) = moments.whitening(shrinkage=None)
    point = rng.normal(size=3)
    whitened = ((torch.as_tensor(point) - mean) @ projection).pow(2).sum()
    inverse = np.linalg.inv(np.cov(data.T, bias=True))
    centred = point - data.mean(axis=0)
    np.testing.assert_allclose(float(whitened), centred @ inverse @ centred, rtol=1e-8)


def test_truncation_drops_directions_without_variance():
    rng = np.random.RandomState(2)
    data = np.c_[rng.normal(size=(30, 2)), np.zeros(30)]  # third feature constant
    moments = PathwayMoments()
    moments.update([torch.as_tensor(data)])
    ((_, projection),) = moments.whitening(shrinkage=None)
    assert projection.shape == (3, 2)
    ((_, shrunk),) = moments.whitening(shrinkage="oas")
    assert shrunk.shape == (3, 3) and torch.isfinite(shrunk).all()
    with pytest.raises(ValueError, match="shrinkage"):
        moments.whitening(shrinkage="ledoit")


def test_constant_layer_gets_the_identity():
    moments = PathwayMoments()
    moments.update([torch.ones(5, 2)])
    ((mean, projection),) = moments.whitening()
    torch.testing.assert_close(projection, torch.eye(2, dtype=torch.float64))


def test_wide_layers_are_whitened_per_feature(monkeypatch):
    monkeypatch.setattr(pathway, "MAX_FULL_COVARIANCE_FEATURES", 2)
    rng = np.random.RandomState(3)
    data = np.c_[rng.normal(0, 2.0, size=(40, 2)), np.zeros(40)]
    moments = PathwayMoments()
    moments.update([torch.as_tensor(data[:10])])
    moments.update([torch.as_tensor(data[10:])])
    ((_, projection),) = moments.whitening()
    assert projection.shape == (3,)
    np.testing.assert_allclose(projection[:2].numpy(), 1 / data[:, :2].std(axis=0))
    assert projection[2] == 0  # no variance: dropped, as the truncation does


def test_empty_moments_raise():
    with pytest.raises(ValueError, match="no rows"):
        PathwayMoments().whitening()


def test_nap_score_sums_the_layers(autoencoder):
    train = rand(40, 6)
    moments = PathwayMoments()
    with torch.no_grad():
        moments.update(pathway_differences(autoencoder, train))
        whitening = moments.whitening(shrinkage=None)
        x = rand(5, 6)
        score = NAPScore(autoencoder, whitening)(x)
        expected = sum(
            ((d.double() - m) @ p).pow(2).sum(dim=1)
            for d, (m, p) in zip(
                pathway_differences(autoencoder, x), whitening, strict=True
            )
        )
    assert score.dtype == torch.float64
    torch.testing.assert_close(score, expected)
    # the training rows sit near the number of kept directions on average
    with torch.no_grad():
        train_scores = NAPScore(autoencoder, whitening)(train)
    kept = sum(p.shape[1] for _, p in whitening)
    assert abs(float(train_scores.mean()) - kept) < 1e-6 * kept


def test_oas_shrinks_towards_the_identity_and_is_the_default():
    rng = np.random.RandomState(4)
    data = rng.normal(size=(8, 5)) * [1.0, 1.0, 1.0, 1.0, 1e-4]
    moments = PathwayMoments()
    moments.update([torch.as_tensor(data)])
    ((mean, default),) = moments.whitening()
    ((_, shrunk),) = moments.whitening(shrinkage="oas")
    torch.testing.assert_close(default, shrunk)
    from sklearn.covariance import oas

    expected, _ = oas(data)
    inverse = (shrunk @ shrunk.T).numpy()
    np.testing.assert_allclose(inverse, np.linalg.inv(expected), rtol=1e-6)
    # the direction of almost no variance is not blown up a million times
    ((_, truncated),) = moments.whitening(shrinkage=None)
    assert float(shrunk.abs().max()) < 1e-2 * float(truncated.abs().max())
