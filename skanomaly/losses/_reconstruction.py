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
