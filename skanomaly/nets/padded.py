"""A wrapper that pads images to a size a network accepts and crops its output."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from skanomaly.augment.functional import crop_to_shape, pad_to_grid


class PaddedNet(nn.Module):
    """Zero-pad images around the centre for ``net``, then crop its output back.

    Sides are padded to multiples of ``multiple`` and to at least ``min_size``
    (for example 28 px images to 30 for a 3x3 tile grid, or to 16 for a U-Net's
    four halvings); :meth:`forward` returns an output of the input's size.

    Parameters
    ----------
    net : nn.Module
        An image-to-image network.
    multiple : int, default=1
        Both sides of the padded image are multiples of it.
    min_size : int, default=1
        Smallest side of the padded image.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import PaddedNet, UNet
    >>> net = PaddedNet(UNet(1, base_width=2), multiple=3, min_size=16)
    >>> net.padded_shape((1, 28, 28))
    (30, 30)
    >>> net(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, net: nn.Module, *, multiple: int = 1, min_size: int = 1) -> None:
        super().__init__()
        self.net = net
        self.multiple = int(multiple)
        self.min_size = int(min_size)

    @property
    def in_channels(self) -> int:
        """Channels of the wrapped network's input."""
        return self.net.in_channels

    def pad(self, x: Tensor) -> Tensor:
        """The padded images."""
        return pad_to_grid(x, self.multiple, self.min_size)

    def crop(self, y: Tensor, height: int, width: int) -> Tensor:
        """The centre ``height x width`` region of padded outputs."""
        return crop_to_shape(y, height, width)

    def padded_shape(self, input_shape) -> tuple[int, int]:
        """``(H, W)`` the wrapped network sees for samples of ``input_shape``."""
        probe = self.pad(torch.zeros(1, *input_shape[-3:]))
        return tuple(int(s) for s in probe.shape[-2:])

    def encode(self, x: Tensor) -> Tensor:
        """The wrapped network's code of the padded images."""
        return self.net.encode(self.pad(x))

    def pooled_features(self, x: Tensor) -> Tensor:
        """The wrapped network's pooled features of the padded images."""
        return self.net.pooled_features(self.pad(x))

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        return self.crop(self.net(self.pad(x)), height, width)
