"""Per-sample reconstruction errors."""

from __future__ import annotations

from torch import Tensor


def squared_error_sum(x_hat: Tensor, x: Tensor) -> Tensor:
    """Sum of squared errors per sample, ``Tensor of shape (n_samples,)``.

    Examples
    --------
    >>> import torch
    >>> squared_error_sum(torch.ones(2, 3), torch.zeros(2, 3))
    tensor([3., 3.])
    """
    return (x_hat - x).pow(2).flatten(1).sum(dim=1)


def squared_error_mean(x_hat: Tensor, x: Tensor) -> Tensor:
    """Mean of squared errors per sample, ``Tensor of shape (n_samples,)``.

    Examples
    --------
    >>> import torch
    >>> squared_error_mean(torch.ones(2, 4), torch.zeros(2, 4))
    tensor([1., 1.])
    """
    return (x_hat - x).pow(2).flatten(1).mean(dim=1)


def charbonnier_mean(x_hat: Tensor, x: Tensor, epsilon: float = 1e-3) -> Tensor:
    """Mean Charbonnier error per sample, ``mean sqrt((x_hat - x)^2 + epsilon^2)``.

    A smooth L1 loss (CRBND's reconstruction loss, ``epsilon = 1e-3``):
    ``Tensor of shape (n_samples,)``.

    Examples
    --------
    >>> import torch
    >>> charbonnier_mean(torch.full((2, 4), 0.5), torch.zeros(2, 4), epsilon=0.0)
    tensor([0.5000, 0.5000])
    """
    return ((x_hat - x).pow(2) + epsilon**2).sqrt().flatten(1).mean(dim=1)
