"""Reconstruction-error scores: the squared error (ARAE, DenoisingAE, CRBND's
ablation) and its norm (LIS-AE)."""

from __future__ import annotations

from torch import Tensor, nn

from skanomaly.losses import reconstruction_norm, squared_error_sum


class ReconstructionErrorScore(nn.Module):
    """Sum of squared reconstruction errors per sample (the ARAE paper's score).

    Parameters
    ----------
    autoencoder : nn.Module
        Maps a batch to its reconstruction of the same shape.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPAutoencoder
    >>> from skanomaly.scores import ReconstructionErrorScore
    >>> score = ReconstructionErrorScore(MLPAutoencoder(4, (3, 2)))
    >>> score(torch.rand(5, 4)).shape
    torch.Size([5])
    """

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: Tensor) -> Tensor:
        return squared_error_sum(self.autoencoder(x), x)


class LISAEScore(nn.Module):
    """The paper's anomaly score ``||D(Z(E(x))) - x||_2`` per sample.

    Parameters
    ----------
    autoencoder : nn.Module
        Maps a batch to its reconstruction of the same shape.
    """

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: Tensor) -> Tensor:
        return reconstruction_norm(self.autoencoder(x), x)
