"""Autoencoders with an explicit latent layer Z (LIS-AE): x -> s = E(x) -> z = tanh(Z s) -> D(z).

LIS-AE (Battikh and Lenskiy, 2022) trains the whole network first, then only
the latent layer ``Z`` (one fully connected layer followed by tanh), so the
networks here keep ``E``, ``Z`` and ``D`` apart: ``encoder`` (E, whose output
``s`` is flat), ``latent`` (the :class:`~torch.nn.Linear` part of ``Z``) and
``decoder`` (D).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skanomaly.augment.functional import crop_to_shape, pad_to_grid

#: the two stride-2 convolutions halve each side twice
_SIDE_MULTIPLE = 4


class _LatentLayerAutoencoder(nn.Module):
    """``D(tanh(Z(E(x))))`` over ``encoder``, ``latent`` and ``decoder``."""

    encoder: nn.Module
    latent: nn.Linear
    decoder: nn.Module
    negative_slope: float

    def features(self, x: Tensor) -> Tensor:
        """``s = E(x)``: the latent layer's input, ``Tensor of shape (n, feature_dim)``."""
        raise NotImplementedError

    def encode(self, x: Tensor) -> Tensor:
        """``z = tanh(Z s)``, ``Tensor of shape (n_samples, latent_dim)``."""
        return torch.tanh(self.latent(self.features(x)))

    def decode(self, z: Tensor) -> Tensor:
        """Reconstructions of codes, one sample shaped as the network's input."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)

    def reset_parameters(self) -> None:
        """He-normal weights for the LeakyReLU layers, Glorot-normal for Z, zero biases.

        torch's default initialisation shrinks the signal through these
        un-normalised stacks, so the decoder first outputs the mean sample and
        leaves that plateau only after hundreds of steps (or never, at a larger
        learning rate); with this one, training leaves it within the first
        hundred steps.
        """
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.kaiming_normal_(
                    module.weight, a=self.negative_slope, nonlinearity="leaky_relu"
                )
                nn.init.zeros_(module.bias)
        nn.init.xavier_normal_(self.latent.weight)


class ConvLISAutoencoder(_LatentLayerAutoencoder):
    """LIS-AE's convolutional autoencoder for images of any size from 8 px.

    - E: conv ``width`` 4x4 stride 2, LeakyReLU(0.2), conv ``2 * width`` 4x4
      stride 2, LeakyReLU(0.2), flatten: ``s``;
    - Z: ``Linear(feature_dim, latent_dim)`` then tanh;
    - D: ``Linear(latent_dim, feature_dim)``, LeakyReLU, transposed conv
      ``2 * width -> width`` 4x4 stride 2, LeakyReLU, transposed conv ``width
      -> width`` 4x4 stride 2, LeakyReLU, conv 3x3 to the input channels,
      sigmoid.

    For 28 px grey images and ``width=32`` this is the paper's MNIST /
    Fashion-MNIST network as the design notes fix it (``s`` has 3,136
    values). Sides that are not multiples of 4 are zero-padded around the
    centre and the output is cropped back, so any ``H, W >= 8`` works.
    Inputs may be images ``(n, C, H, W)`` or flat rows ``(n, C * H * W)``;
    :meth:`forward` returns the input's shape.

    Parameters
    ----------
    input_shape : sequence of int
        ``(C, H, W)`` of one image.
    latent_dim : int, default=32
        Size of the code ``z``.
    width : int, default=32
        Channels of the first convolution; the second has twice as many.
    negative_slope : float, default=0.2
        Slope of the LeakyReLUs.

    Attributes
    ----------
    feature_dim : int
        Size of ``s``, the flat output of the encoder.
    padded_shape : tuple of int
        ``(H, W)`` after the padding to multiples of 4.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import ConvLISAutoencoder
    >>> ae = ConvLISAutoencoder((1, 28, 28), latent_dim=16, width=8)
    >>> ae.features(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 784])
    >>> ae.encode(torch.rand(2, 784)).shape
    torch.Size([2, 16])
    >>> ae(torch.rand(2, 1, 9, 9)).shape
    Traceback (most recent call last):
    ...
    ValueError: expected images of shape (1, 28, 28); got a tensor of shape (2, 1, 9, 9).
    >>> ConvLISAutoencoder((3, 10, 10), width=4)(torch.rand(2, 3, 10, 10)).shape
    torch.Size([2, 3, 10, 10])
    """

    #: smallest image side the network takes
    min_size = 8

    def __init__(
        self,
        input_shape: Sequence[int],
        latent_dim: int = 32,
        width: int = 32,
        *,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 3 or min(shape[1:]) < self.min_size or shape[0] < 1:
            raise ValueError(
                f"ConvLISAutoencoder takes images (C, H, W) with H, W >= "
                f"{self.min_size}; got input_shape={tuple(input_shape)!r}."
            )
        channels = shape[0]
        self.input_shape = shape
        self.negative_slope = float(negative_slope)
        probe = pad_to_grid(torch.zeros(1, *shape), _SIDE_MULTIPLE, self.min_size)
        self.padded_shape = tuple(int(s) for s in probe.shape[-2:])
        self._grid = (self.padded_shape[0] // 4, self.padded_shape[1] // 4)
        wide = 2 * width
        self.feature_dim = wide * self._grid[0] * self._grid[1]
        self.latent_dim = int(latent_dim)

        def act() -> nn.Module:
            return nn.LeakyReLU(negative_slope)

        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            act(),
            nn.Conv2d(width, wide, 4, stride=2, padding=1),
            act(),
            nn.Flatten(),
        )
        self.latent = nn.Linear(self.feature_dim, self.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, self.feature_dim),
            act(),
            nn.Unflatten(1, (wide, *self._grid)),
            nn.ConvTranspose2d(wide, width, 4, stride=2, padding=1),
            act(),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),
            act(),
            nn.Conv2d(width, channels, 3, padding=1),
            nn.Sigmoid(),
        )
        self.reset_parameters()

    def _images(self, x: Tensor) -> Tensor:
        shape = tuple(x.shape[1:])
        size = self.input_shape[0] * self.input_shape[1] * self.input_shape[2]
        if shape == self.input_shape:
            return x
        if shape == (size,):
            return x.reshape(x.shape[0], *self.input_shape)
        raise ValueError(
            f"expected images of shape {self.input_shape}; got a tensor of shape "
            f"{tuple(x.shape)}."
        )

    def features(self, x: Tensor) -> Tensor:
        """``s = E(x)``, ``Tensor of shape (n_samples, feature_dim)``."""
        padded = pad_to_grid(self._images(x), _SIDE_MULTIPLE, self.min_size)
        return self.encoder(padded)

    def decode(self, z: Tensor) -> Tensor:
        """Images ``Tensor of shape (n_samples, C, H, W)`` of codes ``z``."""
        return crop_to_shape(self.decoder(z), *self.input_shape[1:])


class MLPLISAutoencoder(_LatentLayerAutoencoder):
    """LIS-AE's network for flat rows: fully connected, LeakyReLU, tanh code.

    - E: ``Linear(in_features, 4 * width)``, LeakyReLU(0.2),
      ``Linear(4 * width, 2 * width)``, LeakyReLU: ``s``;
    - Z: ``Linear(2 * width, latent_dim)`` then tanh;
    - D: ``Linear(latent_dim, 2 * width)``, LeakyReLU, ``Linear(2 * width, 4 *
      width)``, LeakyReLU, ``Linear(4 * width, in_features)``, sigmoid.

    Parameters
    ----------
    in_features : int
        Size of one row.
    latent_dim : int, default=32
        Size of the code ``z``.
    width : int, default=32
        The hidden layers have ``4 * width`` and ``2 * width`` units.
    negative_slope : float, default=0.2
        Slope of the LeakyReLUs.

    Attributes
    ----------
    feature_dim : int
        Size of ``s`` (``2 * width``).

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPLISAutoencoder
    >>> ae = MLPLISAutoencoder(10, latent_dim=3, width=4)
    >>> ae(torch.rand(5, 10)).shape, ae.encode(torch.rand(5, 10)).shape
    (torch.Size([5, 10]), torch.Size([5, 3]))
    """

    def __init__(
        self,
        in_features: int,
        latent_dim: int = 32,
        width: int = 32,
        *,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.negative_slope = float(negative_slope)
        self.latent_dim = int(latent_dim)
        self.feature_dim = 2 * int(width)
        hidden = 4 * int(width)

        def act() -> nn.Module:
            return nn.LeakyReLU(negative_slope)

        self.encoder = nn.Sequential(
            nn.Linear(self.in_features, hidden),
            act(),
            nn.Linear(hidden, self.feature_dim),
            act(),
        )
        self.latent = nn.Linear(self.feature_dim, self.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, self.feature_dim),
            act(),
            nn.Linear(self.feature_dim, hidden),
            act(),
            nn.Linear(hidden, self.in_features),
            nn.Sigmoid(),
        )
        self.reset_parameters()

    def features(self, x: Tensor) -> Tensor:
        """``s = E(x)``, ``Tensor of shape (n_samples, 2 * width)``."""
        return self.encoder(x.flatten(1))

    def decode(self, z: Tensor) -> Tensor:
        """Flat reconstructions ``Tensor of shape (n_samples, in_features)``."""
        return self.decoder(z)
