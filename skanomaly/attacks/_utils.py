"""Helpers shared by the attacks: module state handling and worst-case selection."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

#: an attack objective: a batch of candidates -> per-sample loss to maximise
Objective = Callable[[Tensor], Tensor]


@contextlib.contextmanager
def attack_mode(module: nn.Module | None) -> Iterator[None]:
    """Put ``module`` in eval mode with frozen parameters; restore both afterwards.

    Freezing (``requires_grad=False``) keeps the attack from building gradient
    paths to the weights; the previous train/eval flag of every submodule and the
    ``requires_grad`` flag of every parameter are restored on exit, also when the
    block raises. ``None`` does nothing.

    Parameters
    ----------
    module : nn.Module or None
        The network under attack.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 1).train()
    >>> with attack_mode(net):
    ...     net.training, net.weight.requires_grad
    (False, False)
    >>> net.training, net.weight.requires_grad
    (True, True)
    """
    if module is None:
        yield
        return
    modes = [(m, m.training) for m in module.modules()]
    flags = [(p, p.requires_grad) for p in module.parameters()]
    try:
        module.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for m, training in modes:
            m.training = training
        for p, flag in flags:
            p.requires_grad_(flag)


def select_worst_case(objective: Objective, candidates: Sequence[Tensor]) -> Tensor:
    """Per sample, the candidate with the largest objective.

    Parameters
    ----------
    objective : callable
        ``objective(x) -> Tensor of shape (n_samples,)``, larger = worse.
    candidates : sequence of Tensor
        Perturbed versions of the same batch, all of one shape.

    Returns
    -------
    x_worst : Tensor
        For each sample the candidate that maximises ``objective`` (ties: the
        first), detached.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.tensor([[0.0], [3.0]]), torch.tensor([[1.0], [2.0]])
    >>> select_worst_case(lambda x: x[:, 0], [a, b])
    tensor([[1.],
            [3.]])
    """
    if not candidates:
        raise ValueError("select_worst_case needs at least one candidate.")
    with torch.no_grad():
        stacked = torch.stack([c.detach() for c in candidates])
        losses = torch.stack([objective(c).detach().reshape(-1) for c in stacked])
        best = losses.argmax(dim=0)
        return stacked[best, torch.arange(stacked.shape[1], device=best.device)]


def check_clip(clip: tuple[float, float] | None) -> tuple[float, float] | None:
    if clip is None:
        return None
    lo, hi = (float(v) for v in clip)
    if not lo < hi:
        raise ValueError(f"clip must be (low, high) with low < high; got {clip!r}.")
    return lo, hi
