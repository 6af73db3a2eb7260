"""RobustGMMDAE's scores: reconstruction error, prior negative log-likelihood, or both."""

from __future__ import annotations

from torch import Tensor, nn

from skanomaly.losses import squared_error_sum
from skanomaly.nets import GMMPrior


class GMMDAEScore(nn.Module):
    """RobustGMMDAE's anomaly score: reconstruction error, prior NLL, or both.

    The reconstruction term is ``sum (Dec(Enc(x)) - x)^2`` per sample (no
    latent noise); the likelihood term is ``-log p(Enc(x))`` under the prior.
    ``"combined"`` adds the two after standardising each with its training
    mean and standard deviation (``center`` and ``scale``, buffers).

    Parameters
    ----------
    autoencoder : nn.Module
        Has ``encode`` and ``decode``.
    prior : GMMPrior
        The fitted prior.
    kind : {"reconstruction", "likelihood", "combined"}
        Which score.
    center, scale : Tensor of shape (2,), default=None
        Training mean and standard deviation of the two terms (needed by
        ``"combined"``).

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import GMMPrior, MLPGMMAutoencoder
    >>> from skanomaly.scores import GMMDAEScore
    >>> ae, prior = MLPGMMAutoencoder(6, 2, (8,)), GMMPrior(2, 2)
    >>> score = GMMDAEScore(ae, prior, "combined", torch.zeros(2), torch.ones(2))
    >>> x = torch.rand(3, 6)
    >>> rec, nll = score.terms(x)
    >>> torch.allclose(score(x), rec + nll)
    True
    """

    def __init__(
        self,
        autoencoder: nn.Module,
        prior: GMMPrior,
        kind: str,
        center: Tensor | None = None,
        scale: Tensor | None = None,
    ) -> None:
        super().__init__()
        if kind not in ("reconstruction", "likelihood", "combined"):
            raise ValueError(
                "kind must be 'reconstruction', 'likelihood' or 'combined'; got "
                f"{kind!r}."
            )
        if kind == "combined" and (center is None or scale is None):
            raise ValueError("kind='combined' needs the training center and scale.")
        self.autoencoder = autoencoder
        self.prior = prior
        self.kind = kind
        self.register_buffer("center", None if center is None else center.float())
        self.register_buffer("scale", None if scale is None else scale.float())

    def terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(reconstruction error, negative log-likelihood)``, each of shape (n,)."""
        z = self.autoencoder.encode(x)
        reconstruction = self.autoencoder.decode(z).reshape(x.shape)
        return squared_error_sum(reconstruction, x), -self.prior.log_likelihood(z)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "likelihood":
            return -self.prior.log_likelihood(self.autoencoder.encode(x))
        if self.kind == "reconstruction":
            reconstruction = self.autoencoder(x)
            return squared_error_sum(reconstruction.reshape(x.shape), x)
        reconstruction, nll = self.terms(x)
        center, scale = self.center, self.scale
        return (reconstruction - center[0]) / scale[0] + (nll - center[1]) / scale[1]
