"""skanomaly.scores: anomaly scores as differentiable torch modules."""

import numpy as np
import pytest
import torch
from torch import nn

from skanomaly.augment import permute_tiles, puzzle_permutations
from skanomaly.nets import MLPAutoencoder, PaddedNet, UNet
from skanomaly.nets.pathway import PathwayMoments
from skanomaly.scores import (
    AnomalyScoreModule,
    FeatureDistanceScore,
    InputScaling,
    PuzzleErrorScore,
    ReconstructionErrorScore,
    ScaledSumScore,
)


def _seeded(cls, *args, **kwargs):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return cls(*args, **kwargs)


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def solver():
    return _seeded(PaddedNet, _seeded(UNet, 1, base_width=2), multiple=2, min_size=16)


def test_reconstruction_error_is_the_sum_of_squared_errors():
    ae = _seeded(MLPAutoencoder, 6, (4, 2))
    x = _rand(5, 6)
    score = ReconstructionErrorScore(ae)(x)
    assert score.shape == (5,)
    torch.testing.assert_close(score, (ae(x) - x).pow(2).sum(dim=1))


@pytest.mark.parametrize("aggregation", ["max", "mean", "min"])
def test_puzzle_score_aggregates_normalised_permutation_errors(solver, aggregation):
    perms = puzzle_permutations(2, "swaps")
    normalisers = torch.linspace(0.5, 2.0, len(perms), dtype=torch.float64)
    score = PuzzleErrorScore(solver, perms, normalisers, aggregation=aggregation)
    x = _rand(3, 1, 12, 12)  # padded to 16 x 16 for the U-Net
    with torch.no_grad():
        errors = score.permutation_errors(x)
        # the tiles are those of the padded image; only the original region counts
        expected = []
        for perm in perms:
            puzzled = permute_tiles(solver.pad(x), perm)
            solved = solver.crop(solver.net(puzzled), 12, 12)
            expected.append((solved - x).pow(2).flatten(1).mean(dim=1))
        torch.testing.assert_close(errors, torch.stack(expected, dim=1))
        normalised = errors.double() / normalisers
        reduce = {"max": torch.amax, "mean": torch.mean, "min": torch.amin}
        out = score(x)
    assert out.dtype == torch.float64 and out.shape == (3,)
    torch.testing.assert_close(out, reduce[aggregation](normalised, dim=1))


def test_puzzle_score_does_not_depend_on_images_per_pass(solver):
    perms = puzzle_permutations(2, "all")
    x = _rand(4, 1, 16, 16)
    ones = torch.ones(len(perms))
    with torch.no_grad():
        one_pass = PuzzleErrorScore(solver, perms, ones)(x)
        many = PuzzleErrorScore(solver, perms, ones, max_images_per_pass=5)(x)
    torch.testing.assert_close(one_pass, many, rtol=1e-6, atol=0)


def test_puzzle_score_rejects_unknown_aggregation(solver):
    with pytest.raises(ValueError, match="aggregation"):
        PuzzleErrorScore(
            solver, puzzle_permutations(2, "swaps"), torch.ones(6), "median"
        )


def test_feature_distance_is_the_oas_mahalanobis_distance_of_pooled_features(solver):
    from sklearn.covariance import OAS

    with torch.no_grad():
        train = solver.pooled_features(_rand(40, 1, 12, 12)).double()
        test_images = _rand(5, 1, 12, 12, seed=1)
        test = solver.pooled_features(test_images).double()
    moments = PathwayMoments()
    moments.update([train[:25]])
    moments.update([train[25:]])
    [(mean, projection)] = moments.whitening()
    score = FeatureDistanceScore(solver, mean, projection)(test_images)
    expected = OAS().fit(train.numpy()).mahalanobis(test.numpy())
    np.testing.assert_allclose(score.detach().numpy(), expected, rtol=1e-6)


class _SquaredNorm(nn.Module):
    def forward(self, x):
        return x.pow(2).sum(dim=1)


def test_scaled_sum_divides_each_score_by_its_scale():
    x = _rand(4, 3)
    score = ScaledSumScore([_SquaredNorm(), _SquaredNorm()], [2.0, 4.0])
    expected = x.pow(2).sum(dim=1).double() * (1 / 2 + 1 / 4)
    torch.testing.assert_close(score(x), expected)


def test_scaled_sum_rejects_bad_scales():
    with pytest.raises(ValueError, match="one value per score"):
        ScaledSumScore([_SquaredNorm()], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        ScaledSumScore([_SquaredNorm()], [0.0])


def test_input_scaling_is_the_fitted_min_max_in_float64():
    scaling = InputScaling(np.array([1.0, -2.0]), np.array([2.0, 4.0]))
    x = torch.tensor([[2.0, 0.0], [5.0, -2.0]])
    out = scaling(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([[0.5, 0.5], [2.0, 0.0]]))
    assert scaling.minimum.dtype == torch.float64
    identity = InputScaling()
    assert identity.identity and torch.equal(identity(x.double()), x)
    assert identity(x.double()).dtype == torch.float32
    low = InputScaling(0.5, 2.0, compute_dtype=torch.float32)
    assert low.scale.dtype == torch.float32


def _module(input_shape, image_input, scaling=None):
    n_features = int(np.prod(input_shape))

    class Scorer(nn.Module):
        """Records the shape of what it is given; sums its values."""

        def forward(self, x):
            self.shape = tuple(x.shape)
            return x.flatten(1).sum(dim=1)

    return AnomalyScoreModule(
        Scorer(), scaling or InputScaling(), input_shape, image_input
    ), n_features


@pytest.mark.parametrize(
    ("input_shape", "image_input", "layouts", "seen"),
    [
        ((6,), False, [(3, 6)], (3, 6)),
        ((1, 2, 3), False, [(3, 6), (3, 1, 2, 3), (3, 2, 3)], (3, 6)),
        ((1, 2, 3), True, [(3, 6), (3, 1, 2, 3), (3, 2, 3)], (3, 1, 2, 3)),
        ((3, 2, 2), True, [(3, 12), (3, 3, 2, 2)], (3, 3, 2, 2)),
    ],
)
def test_score_module_takes_every_layout_of_fit(
    input_shape, image_input, layouts, seen
):
    module, n_features = _module(input_shape, image_input)
    for shape in layouts:
        x = _rand(*shape).requires_grad_()
        out = module(x)
        assert module.scorer.shape == seen
        torch.testing.assert_close(out, x.detach().reshape(3, -1).sum(dim=1))
        out.sum().backward()
        assert torch.equal(x.grad, torch.ones_like(x))


def test_score_module_applies_the_scaling():
    scaling = InputScaling(np.full(4, 1.0), np.full(4, 2.0))
    module, _ = _module((4,), False, scaling)
    torch.testing.assert_close(module(torch.full((2, 4), 3.0)), torch.full((2,), 4.0))


def test_score_module_rejects_other_types_and_shapes():
    module, _ = _module((3, 2, 2), True)
    with pytest.raises(TypeError, match="float torch.Tensor; got Tensor of dtype"):
        module(torch.zeros(2, 12, dtype=torch.int64))
    with pytest.raises(TypeError, match="got ndarray"):
        module(np.zeros((2, 12), dtype=np.float32))
    for shape in [(12,), (2, 13), (2, 2, 2), (2, 3, 4, 1), (2, 1, 3, 2, 2)]:
        with pytest.raises(ValueError, match=r"expected samples of shape \(3, 2, 2\)"):
            module(torch.zeros(shape))
