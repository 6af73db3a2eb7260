"""Stateless, objective-agnostic adversarial attacks (pure torch).

Every attack takes an ``objective(x_adv) -> Tensor of shape (n_samples,)`` to
*maximise* and a batch ``x``, and returns the perturbed batch (detached, same
shape and dtype). Gradients are taken with :func:`torch.autograd.grad` with
respect to the input only, so no parameter ``.grad`` is touched; pass ``module=``
to have a network put in eval mode (and its parameters frozen) for the attack and
restored afterwards.
"""

from skanomaly.attacks._gradient import fgsm, pgd
from skanomaly.attacks._spatial import affine_transform, spatial_grid_search
from skanomaly.attacks._utils import attack_mode, select_worst_case

__all__ = [
    "affine_transform",
    "attack_mode",
    "fgsm",
    "pgd",
    "select_worst_case",
    "spatial_grid_search",
]
