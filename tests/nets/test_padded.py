"""skanomaly.nets.PaddedNet: pad images for a network, crop its output back."""

import pytest
import torch
from torch import nn

from skanomaly.nets import PaddedNet, UNet


class Probe(nn.Module):
    """Identity that records the shapes it sees; encodes to the row means."""

    in_channels = 2

    def forward(self, x):
        self.seen = tuple(x.shape)
        return x

    def encode(self, x):
        self.seen = tuple(x.shape)
        return x.flatten(1).mean(dim=1, keepdim=True)


@pytest.mark.parametrize(
    ("size", "multiple", "min_size", "padded"),
    [
        ((28, 28), 3, 16, (30, 30)),
        ((28, 28), 2, 16, (28, 28)),
        ((8, 10), 2, 16, (16, 16)),
        ((17, 30), 2, 1, (18, 30)),
        ((5, 5), 1, 1, (5, 5)),
    ],
)
def test_pads_to_the_grid_and_crops_back(size, multiple, min_size, padded):
    probe = Probe()
    net = PaddedNet(probe, multiple=multiple, min_size=min_size)
    assert net.padded_shape((2, *size)) == padded
    x = torch.rand(3, 2, *size, generator=torch.Generator().manual_seed(0))
    out = net(x)
    assert probe.seen == (3, 2, *padded)
    assert torch.equal(out, x)  # the identity, padded and cropped back
    net.encode(x)
    assert probe.seen == (3, 2, *padded)
    assert net.in_channels == 2


def test_padding_is_zeros_around_the_centre():
    net = PaddedNet(Probe(), multiple=1, min_size=6)
    padded = net.pad(torch.ones(1, 1, 2, 4))
    assert padded.shape == (1, 1, 6, 6)
    assert padded.sum() == 8 and torch.equal(padded[0, 0, 2:4, 1:5], torch.ones(2, 4))


def test_wraps_a_unet_for_small_images():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = PaddedNet(UNet(1, base_width=2), multiple=2, min_size=UNet.min_size)
    x = torch.rand(2, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    assert net(x).shape == x.shape
    assert net.padded_shape((1, 9, 9)) == (16, 16)
