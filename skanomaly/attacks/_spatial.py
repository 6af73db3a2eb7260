"""Rotation and translation attacks by exhaustive grid search."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skanomaly.attacks._utils import Objective, attack_mode


def affine_transform(
    x: Tensor, *, angle: float, translate: tuple[float, float] = (0.0, 0.0)
) -> Tensor:
    """Rotate and translate a batch of images (bilinear, zero fill).

    Built on :func:`torch.nn.functional.affine_grid` and
    :func:`~torch.nn.functional.grid_sample`, so it is batched and differentiable.
    Rotation is about the image centre in pixel space (correct for non-square
    images); pixels that come from outside the image are 0 (black).

    Parameters
    ----------
    x : Tensor of shape (n_samples, C, H, W)
        Images.
    angle : float
        Counter-clockwise rotation in degrees, as displayed (torchvision's
        convention).
    translate : tuple of float, default=(0.0, 0.0)
        Horizontal and vertical shift as fractions of the width and height
        (``4 / 28`` moves a 28-pixel image by 4 pixels).

    Returns
    -------
    x_t : Tensor of shape (n_samples, C, H, W)
        The transformed images.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(1, 1, 4, 4); x[0, 0, 1, 1] = 1.0
    >>> affine_transform(x, angle=0.0, translate=(0.25, 0.0))[0, 0, 1]
    tensor([0., 0., 1., 0.])
    """
    if x.dim() != 4:
        raise ValueError(f"x must have shape (n, C, H, W); got {tuple(x.shape)}.")
    n, _, h, w = x.shape
    theta = _inverse_affine(angle, translate, h, w, dtype=x.dtype, device=x.device)
    # one sampling grid, shared by the batch
    grid = F.affine_grid(theta, [1, *x.shape[1:]], align_corners=False)
    grid = grid.expand(n, *grid.shape[1:])
    return F.grid_sample(
        x, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )


def spatial_grid_search(
    objective: Objective,
    x: Tensor,
    *,
    input_shape: Sequence[int],
    angles: Sequence[float],
    translations: Sequence[float],
    module: nn.Module | None = None,
) -> Tensor:
    """Worst rotation and translation per sample, by trying every grid point.

    Every combination of an angle in ``angles`` with a horizontal and a vertical
    shift in ``translations`` is applied to the whole batch, and each sample keeps
    the transform that maximises ``objective`` (Engstrom et al., 2019, found this
    exhaustive search the most reliable attack on small grids; the ARAE authors
    use 31 angles in [-30, 30] degrees times shifts of {-4, 0, 4} pixels on 28x28
    images, 279 transforms).

    Parameters
    ----------
    objective : callable
        ``objective(x_t) -> Tensor of shape (n_samples,)``, larger = worse.
    x : Tensor of shape (n_samples, n_features) or (n_samples, C, H, W)
        Clean inputs; flat rows are reshaped with ``input_shape``.
    input_shape : sequence of int
        ``(C, H, W)`` of one sample.
    angles : sequence of float
        Rotation angles in degrees.
    translations : sequence of float
        Shifts per axis as fractions of the image size; the grid uses every
        (horizontal, vertical) pair.
    module : nn.Module, default=None
        The network ``objective`` runs; if given it is put in eval mode with frozen
        parameters during the search and restored afterwards.

    Returns
    -------
    x_adv : Tensor
        Detached transformed inputs, same shape as ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(2, 1, 3, 3); x[:, 0, 1, 1] = 1.0
    >>> right_column = lambda z: z[:, 0, :, 2].sum(dim=1)
    >>> x_adv = spatial_grid_search(right_column, x, input_shape=(1, 3, 3),
    ...                             angles=[0.0], translations=[0.0, 1 / 3])
    >>> x_adv[0, 0]
    tensor([[0., 0., 0.],
            [0., 0., 1.],
            [0., 0., 0.]])
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"spatial_grid_search needs input_shape=(C, H, W); got {input_shape!r}."
        )
    x = x.detach()
    images = x.reshape(x.shape[0], *shape)
    if not angles or not translations:
        raise ValueError("angles and translations must not be empty.")
    best = x.clone()
    best_loss = torch.full((x.shape[0],), -math.inf, device=x.device)
    with attack_mode(module), torch.no_grad():
        for angle, tx, ty in itertools.product(angles, translations, translations):
            candidate = affine_transform(
                images, angle=float(angle), translate=(float(tx), float(ty))
            ).reshape(x.shape)
            loss = objective(candidate).detach().reshape(-1).to(best_loss.dtype)
            better = loss > best_loss
            best[better] = candidate[better]
            best_loss = torch.where(better, loss, best_loss)
    return best


def _inverse_affine(
    angle: float,
    translate: tuple[float, float],
    h: int,
    w: int,
    *,
    dtype: torch.dtype,
    device: torch.device,
) -> Tensor:
    """``theta`` for ``affine_grid``: output coordinates -> input coordinates.

    The forward map rotates by ``angle`` about the centre (in pixels) and then
    shifts by ``translate`` (fractions of the size, i.e. ``2 * t`` in normalised
    coordinates); ``affine_grid`` needs its inverse, in normalised coordinates.
    """
    a = math.radians(-angle)  # counter-clockwise on screen (y points down)
    cos, sin = math.cos(a), math.sin(a)
    tx, ty = 2.0 * translate[0], 2.0 * translate[1]
    # pixel-space rotation expressed in normalised coordinates (x_n = x_p / (W/2))
    r = torch.tensor([[cos, -sin * h / w], [sin * w / h, cos]], dtype=torch.float64)
    r_inv = torch.linalg.inv(r)
    t = torch.tensor([tx, ty], dtype=torch.float64)
    theta = torch.cat([r_inv, (-r_inv @ t).unsqueeze(1)], dim=1)
    return theta.to(dtype=dtype, device=device).unsqueeze(0)
