"""The DCGAN/GANomaly-style discriminator used for feature matching."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class DCGANDiscriminator(nn.Module):
    """A DCGAN encoder ending in one sigmoid probability (real vs reconstructed).

    The layout of the GANomaly discriminator that the Puzzle-AE authors use: a
    4x4 stride-2 convolution without bias and LeakyReLU(0.2), then, while both
    sides are larger than 4, further 4x4 stride-2 convolutions that double the
    channels, each with BatchNorm and LeakyReLU(0.2); a last convolution whose
    kernel covers the remaining map (3x3 at 28 px, 4x4 at 32 px) gives one logit
    and a sigmoid. :meth:`features` returns the input of that last convolution
    (256x3x3 at 28 px with ``base_width=64``), the map used for feature matching.
    Convolution weights are drawn from N(0, 0.02) and BatchNorm weights from
    N(1, 0.02), as in DCGAN.

    Parameters
    ----------
    input_shape : sequence of three int
        ``(C, H, W)`` of the inputs; ``H`` and ``W`` fix the depth and the last
        kernel.
    base_width : int, default=64
        Channels of the first convolution (DCGAN's ``ndf``).

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import DCGANDiscriminator
    >>> disc = DCGANDiscriminator((1, 28, 28), base_width=8)
    >>> disc(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2])
    >>> disc.features(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 32, 3, 3])
    """

    def __init__(self, input_shape: Sequence[int], base_width: int = 64) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(
                f"input_shape must be (C, H, W); got {tuple(input_shape)!r}."
            )
        in_channels, height, width = (int(s) for s in input_shape)
        if min(height, width) < 4:
            raise ValueError(
                f"DCGANDiscriminator needs images of at least 4x4; got {height}x{width}."
            )
        channels = int(base_width)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels, 4, stride=2, padding=1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        height, width = height // 2, width // 2
        while min(height, width) > 4:
            layers += [
                nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(2 * channels),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
            height, width = height // 2, width // 2
        self.feature_extractor = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(channels, 1, (height, width), bias=False)
        self.feature_shape = (channels, height, width)
        self.apply(_dcgan_init)

    def features(self, x: Tensor) -> Tensor:
        """The feature map before the last convolution, ``(N, *feature_shape)``."""
        return self.feature_extractor(x)

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Probabilities of shape (N,) and the feature map, in one pass."""
        features = self.features(x)
        return self.classifier(features).flatten().sigmoid(), features

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_features(x)[0]


def _dcgan_init(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
