"""Gradient attacks: FGSM and projected gradient descent in L-inf and L2."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from skanomaly.attacks._utils import Objective, attack_mode, check_clip

_NORMS = ("linf", "l2")


def fgsm(
    objective: Objective,
    x: Tensor,
    *,
    epsilon: float,
    step_size: float | None = None,
    norm: str = "linf",
    random_start: bool = False,
    clip: tuple[float, float] | None = (0.0, 1.0),
    generator: torch.Generator | None = None,
    module: nn.Module | None = None,
) -> Tensor:
    """Fast gradient sign method: one gradient step that increases ``objective``.

    With ``random_start`` the step starts from ``delta0 ~ U(-epsilon, epsilon)``
    (L-inf; uniform in the ball for L2), and the result is
    ``clip(x + clip(delta0 + step_size * sign(grad), -epsilon, epsilon))``.

    Parameters
    ----------
    objective : callable
        ``objective(x_adv) -> Tensor of shape (n_samples,)``, the per-sample loss
        to maximise. Samples must not interact (no batch statistics).
    x : Tensor of shape (n_samples, ...)
        Clean inputs.
    epsilon : float
        Radius of the perturbation ball (L-inf or L2).
    step_size : float, default=None
        Length of the step; ``None`` means ``epsilon``.
    norm : {"linf", "l2"}, default="linf"
        Geometry of the ball and of the step (sign of the gradient, or the
        gradient normalised to unit L2 norm per sample).
    random_start : bool, default=False
        Start from a random point of the ball instead of ``x``.
    clip : tuple of float or None, default=(0.0, 1.0)
        Box the adversarial input is clipped to; ``None`` for no box.
    generator : torch.Generator, default=None
        Source of the random start (the global generator when ``None``).
    module : nn.Module, default=None
        The network ``objective`` runs; if given it is put in eval mode with frozen
        parameters during the attack and restored afterwards.

    Returns
    -------
    x_adv : Tensor
        Detached adversarial inputs, same shape and dtype as ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.full((2, 3), 0.5)
    >>> fgsm(lambda z: z.sum(dim=1), x, epsilon=0.1)
    tensor([[0.6000, 0.6000, 0.6000],
            [0.6000, 0.6000, 0.6000]])
    """
    return _projected_ascent(
        objective,
        x,
        epsilon=epsilon,
        steps=1,
        step_size=epsilon if step_size is None else step_size,
        norm=norm,
        random_start=random_start,
        clip=clip,
        generator=generator,
        module=module,
    )


def pgd(
    objective: Objective,
    x: Tensor,
    *,
    epsilon: float,
    steps: int = 10,
    step_size: float | None = None,
    norm: str = "linf",
    random_start: bool = True,
    clip: tuple[float, float] | None = (0.0, 1.0),
    generator: torch.Generator | None = None,
    module: nn.Module | None = None,
) -> Tensor:
    """Projected gradient ascent on ``objective`` inside an L-inf or L2 ball.

    From ``delta ~ U(ball)`` (``random_start``) or zero, each step does
    ``delta <- project(delta + step_size * direction(grad))`` and
    ``x_adv = clip(x + delta)``, where ``direction`` is the sign of the gradient
    (L-inf) or the gradient divided by its per-sample L2 norm (L2), and
    ``project`` clips to ``[-epsilon, epsilon]`` (L-inf) or rescales onto the L2
    ball. As in the ARAE authors' code, ``delta`` itself is not projected onto the
    box; ``x_adv`` always lies in both the ball around ``x`` and the box (for
    ``x`` inside the box).

    Parameters
    ----------
    objective : callable
        ``objective(x_adv) -> Tensor of shape (n_samples,)``, the per-sample loss
        to maximise. Samples must not interact (no batch statistics).
    x : Tensor of shape (n_samples, ...)
        Clean inputs.
    epsilon : float
        Radius of the ball (L-inf or L2 norm per sample).
    steps : int, default=10
        Number of gradient steps.
    step_size : float, default=None
        Step length; ``None`` means ``2.5 * epsilon / steps`` (Madry et al. and the
        ARAE authors' code).
    norm : {"linf", "l2"}, default="linf"
        The perturbation ball.
    random_start : bool, default=True
        Start from a uniform random point of the ball.
    clip : tuple of float or None, default=(0.0, 1.0)
        Box the adversarial input is clipped to; ``None`` for no box.
    generator : torch.Generator, default=None
        Source of the random start (the global generator when ``None``).
    module : nn.Module, default=None
        The network ``objective`` runs; if given it is put in eval mode with frozen
        parameters during the attack and restored afterwards.

    Returns
    -------
    x_adv : Tensor
        Detached adversarial inputs, same shape and dtype as ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.full((2, 4), 0.5)
    >>> g = torch.Generator().manual_seed(0)
    >>> x_adv = pgd(lambda z: (z - 0.5).pow(2).sum(dim=1), x, epsilon=0.1,
    ...             steps=5, generator=g)
    >>> bool(((x_adv - x).abs() <= 0.1 + 1e-6).all())
    True
    """
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative int; got {steps!r}.")
    if step_size is None:
        step_size = 2.5 * epsilon / steps if steps else 0.0
    return _projected_ascent(
        objective,
        x,
        epsilon=epsilon,
        steps=int(steps),
        step_size=step_size,
        norm=norm,
        random_start=random_start,
        clip=clip,
        generator=generator,
        module=module,
    )


def _projected_ascent(
    objective: Objective,
    x: Tensor,
    *,
    epsilon: float,
    steps: int,
    step_size: float,
    norm: str,
    random_start: bool,
    clip: tuple[float, float] | None,
    generator: torch.Generator | None,
    module: nn.Module | None,
) -> Tensor:
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}; got {norm!r}.")
    if not math.isfinite(epsilon) or epsilon < 0:
        raise ValueError(f"epsilon must be a finite float >= 0; got {epsilon!r}.")
    if not math.isfinite(step_size) or step_size < 0:
        raise ValueError(f"step_size must be a finite float >= 0; got {step_size!r}.")
    clip = check_clip(clip)
    x = x.detach()
    if epsilon == 0 or (steps == 0 and not random_start) or x.numel() == 0:
        return x.clone()
    delta = (
        _random_in_ball(x, epsilon, norm, generator)
        if random_start
        else torch.zeros_like(x)
    )
    x_adv = _box(x + delta, clip)
    with attack_mode(module):
        for _ in range(steps):
            x_adv = x_adv.detach().requires_grad_(True)
            with torch.enable_grad():
                loss = objective(x_adv)
                if loss.shape != x.shape[:1]:
                    raise ValueError(
                        "objective must return one loss per sample, shape "
                        f"{tuple(x.shape[:1])}; got {tuple(loss.shape)}."
                    )
                (grad,) = torch.autograd.grad(loss.sum(), x_adv)
            with torch.no_grad():
                if norm == "linf":
                    delta = (delta + step_size * grad.sign()).clamp(-epsilon, epsilon)
                else:
                    delta = _project_l2(delta + step_size * _unit_l2(grad), epsilon)
                x_adv = _box(x + delta, clip)
    return x_adv.detach()


def _box(x: Tensor, clip: tuple[float, float] | None) -> Tensor:
    return x if clip is None else x.clamp(*clip)


def _per_sample_norm(t: Tensor) -> Tensor:
    norms = t.flatten(1).norm(dim=1)
    return norms.view(-1, *([1] * (t.dim() - 1)))


def _unit_l2(t: Tensor) -> Tensor:
    return t / _per_sample_norm(t).clamp_min(1e-12)


def _project_l2(delta: Tensor, epsilon: float) -> Tensor:
    norms = _per_sample_norm(delta)
    return delta * (epsilon / norms.clamp_min(1e-12)).clamp(max=1.0)


def _random_in_ball(
    x: Tensor, epsilon: float, norm: str, generator: torch.Generator | None
) -> Tensor:
    device = generator.device if generator is not None else x.device
    if norm == "linf":
        u = torch.rand(x.shape, generator=generator, device=device, dtype=x.dtype)
        return ((2 * u - 1) * epsilon).to(x.device)
    # uniform in the L2 ball: a Gaussian direction and radius epsilon * U^(1/d)
    direction = torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype)
    n, d = x.shape[0], x[0].numel()
    radius = torch.rand(n, generator=generator, device=device, dtype=x.dtype)
    radius = epsilon * radius.pow(1.0 / d)
    delta = _unit_l2(direction) * radius.view(-1, *([1] * (x.dim() - 1)))
    return delta.to(x.device)
