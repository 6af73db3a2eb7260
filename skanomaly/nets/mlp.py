"""Fully connected autoencoders."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _dense_stack(
    sizes: Sequence[int], act_layer: type[nn.Module], final_act: type[nn.Module] | None
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        last = index == len(sizes) - 2
        act = final_act if last else act_layer
        if act is not None:
            layers.append(act())
    return nn.Sequential(*layers)


#: hidden-layer activations by the names the estimators take
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "leaky_relu": nn.LeakyReLU,
    "sigmoid": nn.Sigmoid,
}


class MLPAutoencoder(nn.Module):
    """A symmetric fully connected autoencoder.

    The encoder maps ``in_features`` through ``hidden_dims``; the last entry is the
    latent size. The decoder mirrors it back to ``in_features``.

    Parameters
    ----------
    in_features : int
        Size of one flattened input.
    hidden_dims : sequence of int, default=(512, 256, 128)
        Encoder widths; the last one is the latent dimension.
    act_layer : type of nn.Module, default=nn.Sigmoid
        Activation after every hidden layer.
    latent_act_layer : type of nn.Module or None, default=nn.Sigmoid
        Activation of the latent code (None: linear).
    out_act_layer : type of nn.Module or None, default=nn.Sigmoid
        Activation of the reconstruction (None: linear).
    init : {"glorot_normal", "torch"}, default="glorot_normal"
        Weight initialisation: Keras' glorot normal with zero biases (the ARAE
        authors' code) or torch's default.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPAutoencoder
    >>> ae = MLPAutoencoder(in_features=8, hidden_dims=(4, 2))
    >>> ae(torch.rand(3, 8)).shape
    torch.Size([3, 8])
    >>> ae.encode(torch.rand(3, 8)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        in_features: int,
        hidden_dims: Sequence[int] = (512, 256, 128),
        *,
        act_layer: type[nn.Module] = nn.Sigmoid,
        latent_act_layer: type[nn.Module] | None = nn.Sigmoid,
        out_act_layer: type[nn.Module] | None = nn.Sigmoid,
        init: str = "glorot_normal",
    ) -> None:
        super().__init__()
        dims = [int(in_features), *(int(d) for d in hidden_dims)]
        self.in_features = int(in_features)
        self.latent_dim = dims[-1]
        self.encoder = _dense_stack(dims, act_layer, latent_act_layer)
        self.decoder = _dense_stack(dims[::-1], act_layer, out_act_layer)
        if init == "glorot_normal":
            self.apply(_glorot_normal_zero_bias)
        elif init != "torch":
            raise ValueError(f"init must be 'glorot_normal' or 'torch'; got {init!r}")

    def encode(self, x: Tensor) -> Tensor:
        """Latent codes, ``Tensor of shape (n_samples, latent_dim)``."""
        return self.encoder(x.flatten(1))

    def decode(self, z: Tensor) -> Tensor:
        """Flat reconstructions, ``Tensor of shape (n_samples, in_features)``."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)).view_as(x)


def _glorot_normal_zero_bias(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        # Keras' glorot_normal is a normal truncated at 2 std with std sqrt(2/(in+out))
        fan_in, fan_out = module.in_features, module.out_features
        std = (2.0 / (fan_in + fan_out)) ** 0.5 / 0.87962566103423978
        with torch.no_grad():
            nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
            nn.init.zeros_(module.bias)
