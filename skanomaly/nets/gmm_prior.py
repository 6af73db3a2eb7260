"""The Gaussian mixture prior of GMM-DAE and its robust variant, as a torch module."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from skanomaly.losses._gmm import (
    gmm_covariance,
    gmm_log_likelihood,
    gmm_marginal_cdf,
    gmm_means,
    sample_gmm,
)


class GMMPrior(nn.Module):
    """``K`` equal-weight isotropic Gaussians: means ``scale * e_k``, std ``sigma``.

    The means are a buffer, so the prior moves with the module that holds it
    and is saved in its ``state_dict``; it has no parameters.

    Parameters
    ----------
    n_components : int, default=10
        ``K``; at most ``latent_dim``.
    latent_dim : int, default=10
        ``D``, the size of a code.
    scale : float, default=10.0
        Distance of each mean from the origin (the 2022 paper's 10: modes
        ``10 * sqrt(2)`` apart).
    sigma : float, default=1.0
        Standard deviation of each mode.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import GMMPrior
    >>> prior = GMMPrior(n_components=2, latent_dim=3, scale=4.0)
    >>> prior.means
    tensor([[4., 0., 0.],
            [0., 4., 0.]])
    >>> prior.log_likelihood(torch.zeros(2, 3)).shape
    torch.Size([2])
    """

    means: Tensor

    def __init__(
        self,
        n_components: int = 10,
        latent_dim: int = 10,
        scale: float = 10.0,
        sigma: float = 1.0,
    ) -> None:
        super().__init__()
        self.register_buffer("means", gmm_means(n_components, latent_dim, scale))
        self.sigma = float(sigma)
        self.scale = float(scale)
        gmm_covariance(self.means, self.sigma)  # validates sigma

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def latent_dim(self) -> int:
        return int(self.means.shape[1])

    def marginal_cdf(self, z: Tensor) -> Tensor:
        """Per-dimension CDF of the prior at ``z``, ``Tensor of shape (n, D)``."""
        return gmm_marginal_cdf(z, self.means, self.sigma)

    def covariance(self) -> Tensor:
        """The prior's covariance, ``Tensor of shape (D, D)``."""
        return gmm_covariance(self.means, self.sigma)

    def log_likelihood(self, z: Tensor) -> Tensor:
        """Log-density of each code, ``Tensor of shape (n,)``."""
        return gmm_log_likelihood(z, self.means, self.sigma)

    def forward(self, z: Tensor) -> Tensor:
        """Negative log-likelihood of each code, ``Tensor of shape (n,)``."""
        return -self.log_likelihood(z)

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes drawn from the prior (on the CPU)."""
        return sample_gmm(n, self.means.cpu(), self.sigma, generator=generator)
