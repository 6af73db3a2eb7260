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

__all__ = ["RandomNegatives", "permute_features", "shuffle_tiles"]


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


def permute_features(x: Tensor, permutations: Tensor) -> Tensor:
    """Rearrange the features of each sample by its own permutation.

    Parameters
    ----------
    x : Tensor of shape (n_samples, n_features)
        Samples as flat rows.
    permutations : Tensor of shape (n_samples, n_features)
        Sample ``i``'s output feature ``j`` is its input feature
        ``permutations[i, j]``.

    Returns
    -------
    permuted : Tensor of shape (n_samples, n_features)

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import permute_features
    >>> x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> permute_features(x, torch.tensor([[2, 0, 1], [0, 1, 2]]))
    tensor([[3., 1., 2.],
            [4., 5., 6.]])
    """
    return torch.gather(x, 1, permutations.to(x.device).long())


class RandomNegatives:
    """Make pseudo-anomalies from a batch of normal samples: their parts, rearranged.

    LIS-AE's second phase pushes the reconstruction error of negatives up while
    keeping that of the normal samples; the negatives stand for the unknown
    anomalies, so they should resemble the normal data in their parts and
    differ in their whole. Each negative is one sample of the batch with its
    parts moved:

    - images (``image_shape`` given): the 2x2 tiles of the image are
      rearranged by a random permutation that moves every tile (one of the 9
      derangements of 4 tiles): strokes, textures and the grey-level
      histogram are kept, the global shape is broken;
    - flat rows (``image_shape=None``): the features of the sample are
      rearranged by a random permutation, so the row keeps its values but
      puts them in the wrong features (a row of one feature is left as it
      is).

    Parameters
    ----------
    image_shape : sequence of int or None, default=None
        ``(C, H, W)`` of one image (sides of at least 2 px), or None for flat
        rows.

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
    >>> torch.equal(negatives.sort(dim=1).values, rows.sort(dim=1).values)
    True
    """

    #: the 4-tile permutations that move every tile (derangements)
    DERANGEMENTS = torch.tensor(
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

    def __init__(self, image_shape: Sequence[int] | None = None) -> None:
        self.image_shape = None if image_shape is None else tuple(image_shape)
        if self.image_shape is not None and (
            len(self.image_shape) != 3 or min(self.image_shape[1:]) < 2
        ):
            raise ValueError(
                f"image_shape must be (C, H, W) with H, W >= 2; got {image_shape!r}."
            )

    def make_params(
        self, n_samples: int, n_features: int, generator: torch.Generator | None = None
    ) -> dict:
        """Draw the permutations of ``n_samples`` samples (on the CPU).

        Returns ``{"permutations": Tensor}``: of shape ``(n_samples, 4)`` (tile
        derangements) for images, ``(n_samples, n_features)`` for rows.
        """
        if self.image_shape is not None:
            pick = torch.randint(
                len(self.DERANGEMENTS), (n_samples,), generator=generator
            )
            return {"permutations": self.DERANGEMENTS[pick]}
        noise = torch.rand(n_samples, n_features, generator=generator)
        return {"permutations": noise.argsort(dim=1)}

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Negatives ``Tensor`` shaped like ``x``, one per sample.

        Images may come flat, ``(n, C * H * W)``: they are rearranged in
        ``image_shape`` and returned in the input's shape.
        """
        n_samples = x.shape[0]
        n_features = x[0].numel() if n_samples else 0
        params = self.make_params(n_samples, n_features, generator)
        if self.image_shape is not None:
            images = x.reshape(n_samples, *self.image_shape)
            return shuffle_tiles(images, params["permutations"], grid=2).reshape(
                x.shape
            )
        rows = x.reshape(n_samples, -1)
        return permute_features(rows, params["permutations"]).reshape(x.shape)
