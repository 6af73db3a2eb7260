"""LIS-AE's losses: the reconstruction norm and the latent-shaping loss (Eq. 1)."""

from __future__ import annotations

import torch
from torch import Tensor


def reconstruction_norm(reconstruction: Tensor, x: Tensor) -> Tensor:
    """``||x_hat - x||_2`` per sample, ``Tensor of shape (n_samples,)``.

    The paper's training losses and anomaly score (the Euclidean norm, not its
    square).
    """
    return torch.linalg.vector_norm((reconstruction - x).flatten(1), dim=1)


def latent_shaping_loss(
    positive_error: Tensor, negative_error: Tensor, beta: float, gamma: float
) -> Tensor:
    """The paper's Eq. 1 on a batch: ``mean ||e+|| + beta * mean |gamma - ||e-|| |``.

    Parameters
    ----------
    positive_error, negative_error : Tensor of shape (n,) and (m,)
        Per-sample reconstruction norms of the positives and the negatives.
    beta : float
        Weight of the negatives' term.
    gamma : float
        The negatives' target error.

    Returns
    -------
    loss : Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> latent_shaping_loss(torch.tensor([1.0, 3.0]), torch.tensor([4.0, 8.0]),
    ...                     beta=0.5, gamma=6.0)
    tensor(3.)
    """
    return positive_error.mean() + beta * (gamma - negative_error).abs().mean()
