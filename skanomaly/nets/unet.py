"""A U-Net without BatchNorm (the Puzzle-AE authors' layout)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DoubleConv(nn.Sequential):
    """(3x3 convolution, padding 1, then ReLU) twice."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
        )


class _Down(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.MaxPool2d(2), DoubleConv(in_channels, out_channels, out_channels)
        )


class _Up(nn.Module):
    """Bilinear x2 upsampling, zero-pad to the skip, concatenate, DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.up(x)
        dh = skip.shape[-2] - x.shape[-2]
        dw = skip.shape[-1] - x.shape[-1]
        if dh or dw:  # F.pad copies even when it pads nothing
            x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """Four-level U-Net with bilinear upsampling and no normalisation layers.

    The layout of the Puzzle-AE authors' network (itself the common "milesial"
    U-Net without BatchNorm): with ``b = base_width`` the encoder has widths
    b, 2b, 4b, 8b, 8b (max-pooling between levels), the decoder concatenates the
    skips and narrows back to b, and a 1x1 convolution maps to ``out_channels``.
    The output is **linear** (no sigmoid), as in the authors' code. ``b = 64``
    gives the paper's 17.3 M parameters; the cost grows about as ``b**2``.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    out_channels : int or None, default=None
        Channels of the output; None means ``in_channels``.
    base_width : int, default=64
        Width of the first level.

    Notes
    -----
    Inputs must be at least 16 pixels on each side (four halvings). Odd sizes
    work: the upsampled maps are zero-padded to their skip connection.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import UNet
    >>> net = UNet(in_channels=1, base_width=4)
    >>> net(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    >>> net.encode(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 32, 1, 1])
    >>> net.pooled_features(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 92])
    """

    min_size = 16

    def __init__(
        self, in_channels: int, out_channels: int | None = None, base_width: int = 64
    ) -> None:
        super().__init__()
        b = int(base_width)
        if b < 2 or b % 2:
            raise ValueError(
                f"base_width must be an even int >= 2; got {base_width!r}."
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels or in_channels)
        self.base_width = b
        self.inc = DoubleConv(self.in_channels, b, b)
        self.down1 = _Down(b, 2 * b)
        self.down2 = _Down(2 * b, 4 * b)
        self.down3 = _Down(4 * b, 8 * b)
        self.down4 = _Down(8 * b, 8 * b)
        self.up1 = _Up(16 * b, 4 * b)
        self.up2 = _Up(8 * b, 2 * b)
        self.up3 = _Up(4 * b, b)
        self.up4 = _Up(2 * b, b)
        self.outc = nn.Conv2d(b, self.out_channels, kernel_size=1)

    def _check(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"UNet expects (N, {self.in_channels}, H, W) input; got {tuple(x.shape)}."
            )
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"UNet needs images of at least {self.min_size}x{self.min_size} "
                f"pixels; got {tuple(x.shape[-2:])} (pad them first)."
            )

    def _encoder(self, x: Tensor) -> list[Tensor]:
        self._check(x)
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        return [x1, x2, x3, x4, self.down4(x4)]

    def encode(self, x: Tensor) -> Tensor:
        """The bottleneck feature map, ``Tensor of shape (N, 8 * base_width, h, w)``.

        The decoder also reads the skip connections, so a U-Net has no separate
        ``decode``.
        """
        return self._encoder(x)[-1]

    def pooled_features(self, x: Tensor) -> Tensor:
        """Every encoder level's feature map averaged over space, concatenated.

        Returns
        -------
        features : Tensor of shape (N, 23 * base_width)
            The spatial means of the levels of widths b, 2b, 4b, 8b and 8b: a
            summary of the image at every scale, whatever its size.
        """
        return torch.cat([level.mean(dim=(2, 3)) for level in self._encoder(x)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2, x3, x4, x5 = self._encoder(x)
        y = self.up1(x5, x4)
        y = self.up2(y, x3)
        y = self.up3(y, x2)
        y = self.up4(y, x1)
        return self.outc(y)
