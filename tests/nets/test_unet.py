"""The U-Net of Puzzle-AE."""

import pytest
import torch
from torch import nn

from skanomaly.nets import UNet


def _seeded(cls, *args, **kwargs):
    """Build a module without touching the global generator."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return cls(*args, **kwargs)


def _rand(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("channels", "size"), [(1, (28, 28)), (3, (32, 32)), (1, (17, 30))]
)
def test_unet_keeps_the_image_shape(channels, size):
    net = _seeded(UNet, channels, base_width=4)
    x = _rand(2, channels, *size)
    assert net(x).shape == x.shape
    assert net.encode(x).shape[:2] == (2, 32)


def test_unet_has_the_authors_layout():
    net = _seeded(UNet, 1, base_width=64)
    # the paper's U-Net: 17.3 M parameters, no normalisation layers, linear output
    assert sum(p.numel() for p in net.parameters()) == 17_257_409
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()
    )
    assert isinstance(net.outc, nn.Conv2d) and net.outc.kernel_size == (1, 1)
    widths = [net.inc[2].out_channels] + [
        d[1][2].out_channels for d in (net.down1, net.down2, net.down3, net.down4)
    ]
    assert widths == [64, 128, 256, 512, 512]


def test_pooled_features_are_the_spatial_means_of_every_encoder_level():
    net = _seeded(UNet, 1, base_width=4)
    x = _rand(3, 1, 20, 20)
    features = net.pooled_features(x)
    assert features.shape == (3, 23 * 4)
    levels = net._encoder(x)
    torch.testing.assert_close(features[:, :4], levels[0].mean(dim=(2, 3)))
    torch.testing.assert_close(features[:, -32:], levels[-1].mean(dim=(2, 3)))


def test_unet_output_is_linear():
    net = _seeded(UNet, 1, base_width=4)
    with torch.no_grad():
        net.outc.bias.fill_(-5.0)
    assert (net(_rand(1, 1, 16, 16)) < 0).any()


def test_unet_rejects_bad_input():
    net = _seeded(UNet, 1, base_width=4)
    with pytest.raises(ValueError, match="at least 16"):
        net(_rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="expects"):
        net(_rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="even"):
        UNet(1, base_width=3)
