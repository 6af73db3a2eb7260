"""The DCGAN discriminator of Puzzle-AE."""

import pytest
import torch
from torch import nn

from skanomaly.nets import DCGANDiscriminator


def _seeded(cls, *args, **kwargs):
    """Build a module without touching the global generator."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return cls(*args, **kwargs)


def _rand(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("channels", "size", "width", "feature_shape"),
    [
        (1, (28, 28), 64, (256, 3, 3)),
        (3, (32, 32), 64, (256, 4, 4)),
        (1, (30, 30), 8, (32, 3, 3)),
        (1, (16, 16), 4, (8, 4, 4)),
    ],
)
def test_discriminator_feature_map_and_probability(
    channels, size, width, feature_shape
):
    disc = _seeded(DCGANDiscriminator, (channels, *size), base_width=width)
    x = _rand(3, channels, *size)
    prob, features = disc.forward_with_features(x)
    assert disc.feature_shape == feature_shape
    assert features.shape == (3, *feature_shape)
    assert torch.equal(features, disc.features(x))
    assert prob.shape == (3,) and ((prob > 0) & (prob < 1)).all()


def test_discriminator_dcgan_init():
    disc = _seeded(DCGANDiscriminator, (1, 64, 64), base_width=64)
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in disc.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.bias is None for m in convs)
    big = torch.cat([m.weight.detach().flatten() for m in convs])
    assert abs(float(big.std()) - 0.02) < 0.002
    assert abs(float(torch.cat([m.weight.detach() for m in norms]).mean()) - 1.0) < 0.01
    with pytest.raises(ValueError, match="at least 4x4"):
        DCGANDiscriminator((1, 2, 2))
