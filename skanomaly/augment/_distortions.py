"""Image distortions of CRBND: motion blur, coarse dropout, additive Gaussian noise.

Each takes a batch of images ``(n, C, H, W)`` in [0, 1] and returns a new
batch. Motion blur is kornia's (its kernel is tested in tests/augment);
coarse dropout (imgaug's ``CoarseDropout``, which neither torchvision nor
kornia offers: kornia's erasing draws one rectangle) is a low-resolution
Bernoulli mask upsampled with nearest neighbours. The random draws come from
``generator``, or from torch's default generator when it is None (inside
``fit`` that generator is the fit's seeded fork).
"""

from __future__ import annotations

import math

import kornia.filters
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["coarse_dropout", "gaussian_noise", "motion_blur", "random_motion_blur"]


def motion_blur(x: Tensor, length: int, angle: Tensor, direction: Tensor) -> Tensor:
    """Blur each image along a line: a camera moved during the exposure.

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W)
    length : int
        Length of the blur in pixels, odd and at least 3.
    angle : Tensor of shape (n,)
        Direction of the motion in degrees (0: horizontal, 90: vertical).
    direction : Tensor of shape (n,)
        In [-1, 1]: 0 spreads the weight evenly along the line, -1 and 1 put
        it towards one end (a motion that slows down).

    Returns
    -------
    blurred : Tensor of shape (n, C, H, W)
        Zero padding at the borders.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import motion_blur
    >>> x = torch.zeros(1, 1, 7, 7)
    >>> x[0, 0, 3, 3] = 1.0
    >>> out = motion_blur(x, 3, torch.tensor([0.0]), torch.tensor([0.0]))
    >>> out[0, 0, 3, 2:5]
    tensor([0.3333, 0.3333, 0.3333])
    """
    length = int(length)
    if length < 3 or length % 2 == 0:
        raise ValueError(f"length must be an odd integer of at least 3; got {length}.")
    angle = angle.to(device=x.device, dtype=x.dtype)
    direction = direction.to(device=x.device, dtype=x.dtype)
    blurred = kornia.filters.motion_blur(
        x, length, angle, direction, border_type="constant"
    )
    # the dtype of x also under autocast (mixed-precision training), where the
    # convolution returns float16 or bfloat16
    return blurred.to(x.dtype)


def random_motion_blur(x: Tensor, length: int, *, generator=None) -> Tensor:
    """:func:`motion_blur` with an angle in [0, 360) and a direction in [-1, 1] per image.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import random_motion_blur
    >>> g = torch.Generator().manual_seed(0)
    >>> random_motion_blur(torch.rand(4, 1, 8, 8), 5, generator=g).shape
    torch.Size([4, 1, 8, 8])
    """
    n = x.shape[0]
    angle = torch.rand(n, generator=generator) * 360.0
    direction = torch.rand(n, generator=generator) * 2.0 - 1.0
    return motion_blur(x, length, angle, direction)


def coarse_dropout(
    x: Tensor, p: float, size_fraction: float, *, generator=None
) -> Tensor:
    """Zero rectangular cells of each image, each cell with probability ``p``.

    The image is divided into a grid of ``ceil(size_fraction * H)`` by
    ``ceil(size_fraction * W)`` cells (imgaug's ``size_percent``), each cell
    is dropped independently, on every channel at once.

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W)
    p : float
        Probability in [0, 1] that a cell is zeroed.
    size_fraction : float
        Cells per side, as a fraction of the side in (0, 1]: 0.4 on a 32 px
        image gives a 13 x 13 grid of cells of about 2.5 px.

    Returns
    -------
    dropped : Tensor of shape (n, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import coarse_dropout
    >>> g = torch.Generator().manual_seed(0)
    >>> out = coarse_dropout(torch.ones(200, 1, 32, 32), 0.5, 0.4, generator=g)
    >>> round(float(1 - out.mean()), 1)  # the fraction zeroed
    0.5
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}.")
    if not 0.0 < size_fraction <= 1.0:
        raise ValueError(f"size_fraction must be in (0, 1]; got {size_fraction}.")
    n, _, height, width = x.shape
    grid = (math.ceil(size_fraction * height), math.ceil(size_fraction * width))
    keep = (torch.rand(n, 1, *grid, generator=generator) >= p).to(x.dtype)
    keep = F.interpolate(keep.to(x.device), size=(height, width), mode="nearest")
    return x * keep


def gaussian_noise(x: Tensor, std: Tensor | float, *, generator=None) -> Tensor:
    """``clip(x + std * N(0, 1), 0, 1)``, with one ``std`` per image or for all.

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W)
    std : float or Tensor of shape (n,)
        Standard deviation in the units of ``x`` ([0, 1] pixels).

    Returns
    -------
    noisy : Tensor of shape (n, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import gaussian_noise
    >>> g = torch.Generator().manual_seed(0)
    >>> out = gaussian_noise(torch.full((2, 1, 4, 4), 0.5), 0.1, generator=g)
    >>> bool(out.min() >= 0) and bool(out.max() <= 1)
    True
    """
    std = torch.as_tensor(std, dtype=x.dtype)
    if std.ndim == 1:
        std = std.reshape(-1, *([1] * (x.ndim - 1)))
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return (x + std.to(x.device) * noise.to(x.device)).clamp(0.0, 1.0)
