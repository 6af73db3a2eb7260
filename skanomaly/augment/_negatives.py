"""Pseudo-anomalies made from normal samples: LIS-AE's built-in negatives.

LIS-AE needs negative examples "from a similar domain" (Omniglot for MNIST, the
next class for Fashion-MNIST). When a user has none, :class:`RandomNegatives`
makes them from the positives of each training batch. The kernels are
deterministic functions of their arguments; the random choices are drawn by
:meth:`RandomNegatives.make_params`. Pure torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["RandomNegatives", "flip_images", "shuffle_tiles", "swap_features"]


def shuffle_tiles(x: Tensor, permutations: Tensor, grid: int = 2) -> Tensor:
    """Rearrange the ``grid x grid`` tiles of each image by its own permutation.

    Tiles are numbered row by row; image ``i``'s output tile ``j`` is its input
    tile ``permutations[i, j]``. Rows and columns beyond the last whole tile
    (sides that are not multiples of ``grid``) stay in place.

    Parameters
    ----------
    x : Tensor of shape (n_samples, C, H, W)
        Images.
    permutations : Tensor of shape (n_samples, grid * grid)
        One permutation of the tiles per image.
    grid : int, default=2
        Tiles per side.

    Returns
    -------
    shuffled : Tensor of shape (n_samples, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import shuffle_tiles
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> shuffle_tiles(x, torch.tensor([[3, 2, 1, 0]]))[0, 0]
    tensor([[10., 11.,  8.,  9.],
            [14., 15., 12., 13.],
            [ 2.,  3.,  0.,  1.],
            [ 6.,  7.,  4.,  5.]])
    """
    n, channels, height, width = x.shape
    th, tw = height // grid, width // grid
    if th == 0 or tw == 0:
        raise ValueError(f"images of {height}x{width} px have no {grid}x{grid} tiles.")
    core = x[..., : grid * th, : grid * tw]
    tiles = core.reshape(n, channels, grid, th, grid, tw).permute(0, 2, 4, 1, 3, 5)
    tiles = tiles.reshape(n, grid * grid, channels, th, tw)
    index = permutations.to(x.device).long().reshape(n, grid * grid, 1, 1, 1)
    moved = torch.gather(tiles, 1, index.expand_as(tiles))
    moved = moved.reshape(n, grid, grid, channels, th, tw).permute(0, 3, 1, 4, 2, 5)
    out = x.clone()
    out[..., : grid * th, : grid * tw] = moved.reshape(
        n, channels, grid * th, grid * tw
    )
    return out


def flip_images(x: Tensor, flips: Tensor) -> Tensor:
    """Mirror each image: left-right, upside down, or both (a half turn).

    Parameters
    ----------
    x : Tensor of shape (n_samples, C, H, W)
        Images.
    flips : Tensor of shape (n_samples,)
        Per image: 0 leaves it, 1 flips left-right, 2 upside down, 3 both.

    Returns
    -------
    flipped : Tensor of shape (n_samples, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import flip_images
    >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]).repeat(2, 1, 1, 1)
    >>> flip_images(x, torch.tensor([1, 3]))[:, 0]
    tensor([[[2., 1.],
             [4., 3.]],
    <BLANKLINE>
            [[4., 3.],
             [2., 1.]]])
    """
    flips = flips.to(x.device).reshape(-1, 1, 1, 1)
    out = torch.where(flips % 2 == 1, x.flip(-1), x)
    return torch.where(flips >= 2, out.flip(-2), out)


def swap_features(x: Tensor, donors: Tensor, mask: Tensor) -> Tensor:
    """Replace some features of each sample by those of another sample.

    Parameters
    ----------
    x : Tensor of shape (n_samples, ...)
        Samples.
    donors : Tensor of shape (n_samples,)
        Row ``i`` takes its replaced features from row ``donors[i]`` of ``x``.
    mask : Tensor of bool, shaped like ``x``
        Where the features are replaced.

    Returns
    -------
    swapped : Tensor shaped like ``x``

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import swap_features
    >>> x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    >>> swap_features(x, torch.tensor([1, 0]), torch.tensor([[True, False, True]] * 2))
    tensor([[1., 0., 1.],
            [0., 1., 0.]])
    """
    return torch.where(mask, x[donors.to(x.device)], x)


class RandomNegatives:
    """Make pseudo-anomalies from a batch of normal samples.

    LIS-AE's second phase pushes the reconstruction error of negatives up to a
    target while keeping that of the normal samples; the negatives stand for
    the unknown anomalies, so they should resemble the normal data in their
    parts and differ in their whole. Each negative is made from one sample of
    the batch:

    - images (``image_shape`` given): the image's 2x2 tiles are rearranged by a
      random permutation that moves every tile (local strokes and textures are
      kept; the global shape is broken); then, with probability 1/2, the image
      is also mirrored (left-right, upside down or both, at random);
    - flat rows (``image_shape=None``): a random ``swap_fraction`` of the
      sample's features is replaced by those of another sample of the batch,
      so every value is a normal value while the combination is not.

    Parameters
    ----------
    image_shape : sequence of int or None, default=None
        ``(C, H, W)`` of one image (sides of at least 2 px), or None for flat
        rows.
    swap_fraction : float, default=0.5
        Rows: the expected share of features replaced.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import RandomNegatives
    >>> g = torch.Generator().manual_seed(0)
    >>> images = torch.rand(6, 1, 8, 8)
    >>> RandomNegatives((1, 8, 8))(images, generator=g).shape
    torch.Size([6, 1, 8, 8])
    >>> rows = torch.rand(6, 5)
    >>> negatives = RandomNegatives()(rows, generator=g)
    >>> bool(torch.isin(negatives, rows).all())
    True
    """

    #: the 4-tile permutations that move every tile (derangements)
    _DERANGEMENTS = torch.tensor(
        [
            [1, 0, 3, 2],
            [1, 2, 3, 0],
            [1, 3, 0, 2],
            [2, 0, 3, 1],
            [2, 3, 0, 1],
            [2, 3, 1, 0],
            [3, 0, 1, 2],
            [3, 2, 0, 1],
            [3, 2, 1, 0],
        ]
    )

    def __init__(
        self, image_shape: Sequence[int] | None = None, *, swap_fraction: float = 0.5
    ) -> None:
        self.image_shape = None if image_shape is None else tuple(image_shape)
        if self.image_shape is not None and (
            len(self.image_shape) != 3 or min(self.image_shape[1:]) < 2
        ):
            raise ValueError(
                f"image_shape must be (C, H, W) with H, W >= 2; got {image_shape!r}."
            )
        if not 0 < swap_fraction <= 1:
            raise ValueError(f"swap_fraction must be in (0, 1]; got {swap_fraction!r}.")
        self.swap_fraction = float(swap_fraction)

    def make_params(self, n: int, generator: torch.Generator | None = None) -> dict:
        """Draw the random choices for ``n`` samples (on the CPU)."""
        if self.image_shape is not None:
            pick = torch.randint(len(self._DERANGEMENTS), (n,), generator=generator)
            mirror = torch.randint(2, (n,), generator=generator).bool()
            kind = torch.randint(1, 4, (n,), generator=generator)
            return {
                "permutations": self._DERANGEMENTS[pick],
                "flips": torch.where(mirror, kind, torch.zeros_like(kind)),
            }
        n_features = None  # drawn lazily in __call__, which knows the width
        donors = (
            torch.arange(n) + torch.randint(1, max(n, 2), (n,), generator=generator)
        ) % max(n, 1)
        return {"donors": donors, "n_features": n_features}

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Negatives ``Tensor`` shaped like ``x``, one per sample.

        Images may come flat, ``(n, C * H * W)``: they are made in
        ``image_shape`` and returned in the input's shape.
        """
        params = self.make_params(x.shape[0], generator)
        if self.image_shape is not None:
            images = x.reshape(x.shape[0], *self.image_shape)
            out = shuffle_tiles(images, params["permutations"], grid=2)
            return flip_images(out, params["flips"]).reshape(x.shape)
        mask = torch.rand(x.shape, generator=generator) < self.swap_fraction
        return swap_features(x, params["donors"], mask.to(x.device))
