"""ARAE's training loss."""

from __future__ import annotations

from torch import Tensor, nn

from skanomaly.losses._reconstruction import squared_error_mean


def arae_loss(
    module: nn.Module, x: Tensor, x_adv: Tensor, gamma: float, codes=None
) -> Tensor:
    """Per-sample ARAE loss, ``Tensor of shape (n_samples,)``.

    ``mean_pixels (Dec(Enc(x_adv)) - x)^2 + gamma * mean_latent (Enc(x) - Enc(x_adv))^2``
    with gradients through both encoder branches (the authors' code; the paper
    writes sums, the code means). ``codes``: ``Enc(x)`` with its graph, when
    the caller computed it already.
    """
    z = module.encode(x) if codes is None else codes
    z_adv = module.encode(x_adv)
    reconstruction = module.decode(z_adv)
    return squared_error_mean(reconstruction, x.flatten(1)) + gamma * (
        squared_error_mean(z_adv, z)
    )
