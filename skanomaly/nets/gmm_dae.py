"""Deterministic autoencoders with a linear code (GMM-DAE, Saseendran et al.).

The code is linear (no activation), so it can spread over the Gaussian
mixture prior; the reconstruction ends in a sigmoid, for inputs in [0, 1].
Both networks use ReLU hidden layers with He-normal weights and zero biases.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from skanomaly.augment.functional import crop_to_shape, pad_to_grid

#: the two stride-2 convolutions halve each side twice
_SIDE_MULTIPLE = 4


def _he_init(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)


def _relu_stack(sizes: Sequence[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return layers


class MLPGMMAutoencoder(nn.Module):
    """The papers' fully connected network: ReLU layers, a linear code, a sigmoid output.

    - encoder: ``in_features -> hidden_dims`` (Linear + ReLU each) ``->
      latent_dim`` (Linear, no activation);
    - decoder: ``latent_dim -> reversed(hidden_dims)`` (Linear + ReLU each)
      ``-> in_features`` (Linear, sigmoid).

    With ``hidden_dims=(200, 200, 200, 200)`` and ``latent_dim=10`` this is the
    2022 paper's MNIST / Fashion-MNIST network (on 32x32 images: 0.66 M
    parameters). Inputs may have any shape ``(n, ...)``; :meth:`forward`
    returns the input's shape.

    Parameters
    ----------
    in_features : int
        Values per sample.
    latent_dim : int, default=10
        Size of the code.
    hidden_dims : sequence of int, default=(200, 200, 200, 200)
        Widths of the encoder's hidden layers; the decoder mirrors them.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPGMMAutoencoder
    >>> ae = MLPGMMAutoencoder(12, latent_dim=3, hidden_dims=(8, 8))
    >>> ae(torch.rand(5, 12)).shape, ae.encode(torch.rand(5, 12)).shape
    (torch.Size([5, 12]), torch.Size([5, 3]))
    """

    def __init__(
        self,
        in_features: int,
        latent_dim: int = 10,
        hidden_dims: Sequence[int] = (200, 200, 200, 200),
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.latent_dim = int(latent_dim)
        dims = [self.in_features, *(int(d) for d in hidden_dims)]
        self.encoder = nn.Sequential(
            *_relu_stack(dims), nn.Linear(dims[-1], self.latent_dim)
        )
        back = [self.latent_dim, *dims[:0:-1]]
        self.decoder = nn.Sequential(
            *_relu_stack(back), nn.Linear(back[-1], self.in_features), nn.Sigmoid()
        )
        _he_init(self)

    def encode(self, x: Tensor) -> Tensor:
        """Codes, ``Tensor of shape (n_samples, latent_dim)``."""
        return self.encoder(x.flatten(1))

    def decode(self, z: Tensor) -> Tensor:
        """Flat reconstructions, ``Tensor of shape (n_samples, in_features)``."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)


class ConvGMMAutoencoder(nn.Module):
    """A small convolutional network with a linear code, for images from 8 px.

    - encoder: conv ``width`` 4x4 stride 2, ReLU, conv ``2 * width`` 4x4
      stride 2, ReLU, flatten, Linear to ``latent_dim`` (no activation);
    - decoder: Linear to the feature map, ReLU, transposed conv ``2 * width
      -> width`` 4x4 stride 2, ReLU, transposed conv to the input channels 4x4
      stride 2, sigmoid.

    The papers' SVHN / CelebA network has four strided convolutions with
    batch normalisation; this one has two and none, so that the latent attack
    and the scores treat every sample on its own, and so that 8 px images fit.
    Sides that are not multiples of 4 are zero-padded around the centre and
    the output cropped back. Inputs may be images ``(n, C, H, W)`` or flat rows
    ``(n, C * H * W)``; :meth:`forward` returns the input's shape.

    Parameters
    ----------
    input_shape : sequence of int
        ``(C, H, W)`` of one image, ``H, W >= 8``.
    latent_dim : int, default=10
        Size of the code.
    width : int, default=32
        Channels of the first convolution; the second has twice as many.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import ConvGMMAutoencoder
    >>> ae = ConvGMMAutoencoder((1, 10, 10), latent_dim=4, width=4)
    >>> ae(torch.rand(2, 100)).shape, ae.encode(torch.rand(2, 1, 10, 10)).shape
    (torch.Size([2, 100]), torch.Size([2, 4]))
    """

    #: smallest image side the network takes
    min_size = 8

    def __init__(
        self, input_shape: Sequence[int], latent_dim: int = 10, width: int = 32
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 3 or shape[0] < 1 or min(shape[1:]) < self.min_size:
            raise ValueError(
                f"ConvGMMAutoencoder takes images (C, H, W) with H, W >= "
                f"{self.min_size}; got input_shape={tuple(input_shape)!r}."
            )
        self.input_shape = shape
        self.latent_dim = int(latent_dim)
        channels, width = shape[0], int(width)
        probe_h = -(-shape[1] // _SIDE_MULTIPLE) * _SIDE_MULTIPLE
        probe_w = -(-shape[2] // _SIDE_MULTIPLE) * _SIDE_MULTIPLE
        grid = (probe_h // 4, probe_w // 4)
        wide = 2 * width
        features = wide * grid[0] * grid[1]
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, wide, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(features, self.latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, features),
            nn.ReLU(),
            nn.Unflatten(1, (wide, *grid)),
            nn.ConvTranspose2d(wide, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )
        _he_init(self)

    def _images(self, x: Tensor) -> Tensor:
        size = self.input_shape[0] * self.input_shape[1] * self.input_shape[2]
        if tuple(x.shape[1:]) == self.input_shape:
            return x
        if tuple(x.shape[1:]) == (size,):
            return x.reshape(x.shape[0], *self.input_shape)
        raise ValueError(
            f"expected images of shape {self.input_shape}; got a tensor of shape "
            f"{tuple(x.shape)}."
        )

    def encode(self, x: Tensor) -> Tensor:
        """Codes, ``Tensor of shape (n_samples, latent_dim)``."""
        return self.encoder(pad_to_grid(self._images(x), _SIDE_MULTIPLE))

    def decode(self, z: Tensor) -> Tensor:
        """Images ``Tensor of shape (n_samples, C, H, W)`` of codes ``z``."""
        return crop_to_shape(self.decoder(z), *self.input_shape[1:])

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)
