"""CRBND's two networks: a residual encoder-decoder and a small CNN classifier.

The reconstructor (Hashemi et al., 2022, Fig. 2-a; the authors' ``model.py``)
is a U-Net-like encoder-decoder whose blocks have short residual skips and no
long encoder-to-decoder skips, so that it cannot copy fine detail of unseen
images through to its output. The classifier tells connective positives from
connective negatives.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skanomaly.augment.functional import crop_to_shape, pad_to_grid

#: the stem and three encoder blocks halve each side four times
_SIDE_MULTIPLE = 16
#: images are padded to at least this side, so that the code is at least 2x2
#: (batch norm in training needs more than one value per channel)
_MIN_SIDE = 32


class _SeparableConv(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1 convolution (Keras ``SeparableConv2D``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )


class _EncoderBlock(nn.Module):
    """[ReLU, SepConv, BN] x2, max-pool /2, plus a strided 1x1 residual; dropout."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            _SeparableConv(in_channels, out_channels),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            _SeparableConv(out_channels, out_channels),
            nn.BatchNorm2d(out_channels),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.residual = nn.Conv2d(in_channels, out_channels, 1, stride=2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.body(x) + self.residual(x))


class _DecoderBlock(nn.Module):
    """[ReLU, Conv, BN] x2, ReLU, upsample x2, plus an upsampled 1x1 residual; dropout."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),
        )
        self.residual = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(in_channels, out_channels, 1),
            nn.ReLU(),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.body(x) + self.residual(x))


class ResidualAutoencoder(nn.Module):
    """CRBND's reconstructor: an encoder-decoder with short residual skips only.

    Encoder: a stride-2 3x3 convolution of ``width`` channels (BN, ReLU,
    dropout), then three blocks of ``2 * width``, ``4 * width`` and ``8 *
    width`` channels, each two separable convolutions with batch norm, a
    stride-2 max-pool and a strided 1x1 convolution as residual; then a fully
    connected ReLU code of ``latent_dim`` units. The decoder mirrors it with
    3x3 convolutions and nearest upsampling, and ends in a 3x3 convolution and
    a sigmoid. Images are zero-padded around the centre to sides that are
    multiples of 16, and at least 32, and the output is cropped back. At ``width=32`` and
    ``latent_dim=256`` on 32x32 images this is the authors' network (their
    transposed 3x3 convolutions of stride 1 are written as convolutions here,
    the same family of maps).

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    width : int, default=32
        Channels of the first convolution; the blocks have 2, 4 and 8 times as
        many.
    latent_dim : int, default=256
        Size of the code.
    dropout : float, default=0.3
        Dropout after the stem and every block (the last encoder block uses
        ``max(dropout, 0.5)``, as the authors' network does).

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import ResidualAutoencoder
    >>> net = ResidualAutoencoder((1, 28, 28), width=4, latent_dim=8)
    >>> net(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    >>> net.encode(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        width: int = 32,
        latent_dim: int = 256,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        channels, height, width_px = (int(s) for s in input_shape)
        self.input_shape = (channels, height, width_px)
        self.in_channels = channels
        padded = self._pad(torch.zeros(1, *self.input_shape))
        self.code_side = (padded.shape[-2] // 16, padded.shape[-1] // 16)
        w = int(width)
        deep = 8 * w
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, w, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.Dropout(dropout),
            _EncoderBlock(w, 2 * w, dropout),
            _EncoderBlock(2 * w, 4 * w, dropout),
            _EncoderBlock(4 * w, deep, max(dropout, 0.5)),
            nn.Flatten(),
            nn.Linear(deep * self.code_side[0] * self.code_side[1], latent_dim),
            nn.ReLU(),
        )
        self.expand = nn.Sequential(
            nn.Linear(latent_dim, deep * self.code_side[0] * self.code_side[1]),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(deep, deep, 3, padding=1, bias=False),
            nn.BatchNorm2d(deep),
            nn.ReLU(),
            nn.Conv2d(deep, deep, 3, padding=1, bias=False),
            nn.BatchNorm2d(deep),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),
            nn.Dropout(dropout),
            _DecoderBlock(deep, 4 * w, dropout),
            _DecoderBlock(4 * w, 2 * w, dropout),
            _DecoderBlock(2 * w, w, dropout),
            nn.Conv2d(w, channels, 3, padding=1),
            nn.Sigmoid(),
        )

    @staticmethod
    def _pad(x: Tensor) -> Tensor:
        return pad_to_grid(x, _SIDE_MULTIPLE, _MIN_SIDE)

    def encode(self, x: Tensor) -> Tensor:
        """The code, ``Tensor of shape (n_samples, latent_dim)``."""
        return self.encoder(self._pad(x))

    def decode(self, z: Tensor) -> Tensor:
        """Padded reconstructions of codes, ``(n, C, 16 * h, 16 * w)``."""
        deep = self.expand(z).reshape(z.shape[0], -1, *self.code_side)
        return self.decoder(deep)

    def forward(self, x: Tensor) -> Tensor:
        return crop_to_shape(self.decode(self.encode(x)), *x.shape[-2:])


class ConnectiveClassifier(nn.Module):
    """CRBND's binary classifier: two conv/max-pool layers and three dense layers.

    ``conv(width) -> ReLU -> maxpool 2 -> conv(2 * width) -> ReLU -> maxpool 2
    -> dropout 0.5 -> dense 8 * width -> ReLU -> dense 4 * width -> ReLU ->
    dense 1``: one logit, the log-odds that the input is a connective
    negative. At ``width=32`` this is the authors' classifier (256 and 128
    dense units), with "same" instead of "valid" 3x3 convolutions (so any image
    of at least 1 px per side fits) and one logit instead of a two-way softmax
    (the same model).

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    width : int, default=32
        Channels of the first convolution.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import ConnectiveClassifier
    >>> ConnectiveClassifier((1, 28, 28), width=4)(torch.rand(3, 1, 28, 28)).shape
    torch.Size([3])
    """

    def __init__(self, input_shape: Sequence[int], width: int = 32) -> None:
        super().__init__()
        channels, height, width_px = (int(s) for s in input_shape)
        w = int(width)
        self.features = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Flatten(),
        )
        side = ((height + 1) // 2 + 1) // 2, ((width_px + 1) // 2 + 1) // 2
        self.head = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(2 * w * side[0] * side[1], 8 * w),
            nn.ReLU(),
            nn.Linear(8 * w, 4 * w),
            nn.ReLU(),
            nn.Linear(4 * w, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)
