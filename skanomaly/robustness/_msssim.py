"""MS-SSIM of image batches with pytorch-msssim, for images as small as 28 px."""

from __future__ import annotations

import numbers

import numpy as np
import torch

#: Wang et al.'s weights of the five scales (pytorch-msssim's defaults)
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _next_side(side: int) -> int:
    # pytorch-msssim's avg_pool2d(kernel_size=2, padding=side % 2)
    return (side + 2 * (side % 2) - 2) // 2 + 1


def max_levels(side: int, win_size: int) -> int:
    """The most scales (at most 5) whose images are at least ``win_size`` wide."""
    levels = 0
    while levels < len(MS_SSIM_WEIGHTS) and side >= win_size:
        levels += 1
        side = _next_side(side)
    return levels


def ms_ssim(X, Y, *, image_shape, data_range=1.0, win_size=5, levels=None):
    """Multi-scale structural similarity of image pairs, one value per pair.

    Computed with the `pytorch-msssim <https://github.com/VainF/pytorch-msssim>`_
    package: a Gaussian window of ``win_size`` pixels and sigma 1.5, 2x2
    average pooling between scales, the contrast-structure terms of every scale
    but the last and the SSIM of the last one, each through a ReLU, combined
    with Wang et al.'s weights. The package's ``ms_ssim`` always takes five
    scales and asserts an image side above ``(win_size - 1) * 16`` px, which a
    28 px image meets only for a 1 px window; when five scales do not fit, the
    same computation runs on the package's SSIM kernel with the scales that do
    fit (every image at least ``win_size`` px wide), weighted by the first of
    Wang et al.'s weights renormalised to sum to 1. For 28x28 images and the
    default 5 px window that is three scales (28, 14 and 7 px) weighted 0.071,
    0.453 and 0.476. (The authors of the robust GMM-DAE used another package's
    MS-SSIM, with a 6 px window shrunk to the image at the coarse scales; values
    are comparable in trend, not digit for digit.)

    Parameters
    ----------
    X, Y : array-like of shape (n_samples, n_features) or image array
        The images to compare, as flat rows or ``(n, C, H, W)`` / ``(n, H, W)``.
    image_shape : tuple of int
        ``(C, H, W)`` (or ``(H, W)``) of one image.
    data_range : float, default=1.0
        The range of the pixel values (1 for images in [0, 1]).
    win_size : int, default=5
        Side of the Gaussian window, odd.
    levels : int, default=None
        Number of scales, 1 to 5; ``None`` takes as many as fit.

    Returns
    -------
    similarity : ndarray of shape (n_samples,), dtype float64
        MS-SSIM of each pair, in [0, 1]; 1 for identical images.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly.robustness import ms_ssim
    >>> X = np.random.RandomState(0).uniform(size=(2, 28, 28))
    >>> ms_ssim(X, X, image_shape=(28, 28))
    array([1., 1.])
    >>> bool(ms_ssim(X, 1 - X, image_shape=(28, 28))[0] < 0.2)
    True
    """
    from pytorch_msssim import ms_ssim as package_ms_ssim

    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (C, H, W) or (H, W); got {image_shape!r}."
        )
    if isinstance(win_size, bool) or not isinstance(win_size, numbers.Integral):
        raise TypeError(f"win_size must be an odd int; got {win_size!r}.")
    if win_size < 1 or win_size % 2 == 0:
        raise ValueError(f"win_size must be an odd int >= 1; got {win_size!r}.")
    side = min(shape[1:])
    fit = max_levels(side, win_size)
    if levels is None:
        levels = fit
    elif isinstance(levels, bool) or not isinstance(levels, numbers.Integral):
        raise TypeError(f"levels must be an int or None; got {levels!r}.")
    if not 1 <= levels <= fit:
        raise ValueError(
            f"levels must be between 1 and {fit} for {side} px images and a "
            f"{win_size} px window; got {levels!r}."
            if fit
            else f"images of {side} px are smaller than the {win_size} px window."
        )
    tensors = []
    for name, A in (("X", X), ("Y", Y)):
        A = np.asarray(A, dtype=np.float64)
        if A.ndim < 2 or int(np.prod(A.shape[1:])) != int(np.prod(shape)):
            raise ValueError(
                f"{name} must hold images of shape {shape}; got an array of shape "
                f"{A.shape}."
            )
        tensors.append(torch.as_tensor(A.reshape(len(A), *shape)))
    x, y = tensors
    if x.shape != y.shape:
        raise ValueError(
            f"X and Y must hold as many images; got {len(x)} and {len(y)}."
        )
    if len(x) == 0:
        return np.zeros(0)
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], dtype=torch.float64)
    weights = weights / weights.sum()
    with torch.no_grad():
        if levels == len(MS_SSIM_WEIGHTS) and side > (win_size - 1) * 16:
            value = package_ms_ssim(
                x,
                y,
                data_range=data_range,
                size_average=False,
                win_size=win_size,
                weights=weights.tolist(),
            )
            return value.double().numpy()
        value = _ms_ssim_levels(x, y, weights, data_range, win_size)
    return value.numpy()


def _ms_ssim_levels(x, y, weights, data_range, win_size):
    """pytorch-msssim's MS-SSIM loop on ``len(weights)`` scales (no size check).

    The same steps as the package's ``ms_ssim``, on its ``_ssim`` kernel.
    """
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    levels = len(weights)
    win = _fspecial_gauss_1d(win_size, 1.5).to(torch.float64)
    win = win.repeat([x.shape[1], 1, 1, 1])
    terms = []
    for level in range(levels):
        ssim, cs = _ssim(x, y, win=win, data_range=data_range, size_average=False)
        if level < levels - 1:
            terms.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = torch.nn.functional.avg_pool2d(x, kernel_size=2, padding=padding)
            y = torch.nn.functional.avg_pool2d(y, kernel_size=2, padding=padding)
    terms.append(torch.relu(ssim))
    stacked = torch.stack(terms)  # (levels, n, channels)
    return torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean(dim=1)
