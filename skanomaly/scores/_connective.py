"""CRBND's score: the classifier's log-odds for a connective sample."""

from __future__ import annotations

from torch import Tensor, nn


def connective(x: Tensor, other: Tensor, lambda_: float) -> Tensor:
    """A connective sample, ``lambda_ * x + (1 - lambda_) * other`` (Eqs. 4-5).

    Examples
    --------
    >>> import torch
    >>> connective(torch.ones(1, 2), torch.zeros(1, 2), 0.25)
    tensor([[0.2500, 0.2500]])
    """
    return lambda_ * x + (1.0 - lambda_) * other


class ConnectiveScore(nn.Module):
    """CRBND's anomaly score: the classifier's log-odds of "negative" for
    ``lambda_ * x + (1 - lambda_) * A(x)``.

    The log-odds rank samples as the paper's probability does (the sigmoid is
    increasing) without the ties of probabilities that round to 1.

    Parameters
    ----------
    reconstructor : nn.Module
        ``A``, mapping images to their reconstructions.
    classifier : nn.Module
        Maps connective images to one logit each.
    lambda_ : float
        Weight of the input in the connective sample.
    """

    def __init__(
        self, reconstructor: nn.Module, classifier: nn.Module, lambda_: float
    ) -> None:
        super().__init__()
        self.reconstructor = reconstructor
        self.classifier = classifier
        self.lambda_ = float(lambda_)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(connective(x, self.reconstructor(x), self.lambda_))
