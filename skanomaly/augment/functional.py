"""Deterministic puzzle kernels: tile permutations, tile masking and padding.

Every function here is a pure function of its arguments (no random state); the
random choices live in :class:`skanomaly.augment.RandomPuzzle`. Tiles are
numbered row by row: with ``grid=2``, 0 is top-left, 1 top-right, 2 bottom-left
and 3 bottom-right. A permutation ``perm`` puts input tile ``perm[i]`` at output
position ``i``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "crop_to_shape",
    "inverse_permutation",
    "mask_tile",
    "pad_to_grid",
    "permute_tiles",
    "puzzle_permutations",
]


def puzzle_permutations(
    grid: int = 2,
    kind: str = "all",
    *,
    n_permutations: int | None = None,
    seed: int = 0,
) -> Tensor:
    """The permutation set of a jigsaw puzzle, one permutation per row.

    Parameters
    ----------
    grid : {2, 3}, default=2
        Tiles per side: 4 or 9 tiles.
    kind : {"all", "swaps"}, default="all"
        ``"all"`` with ``grid=2``: the 23 non-identity permutations of 4 tiles
        (every one moves at least two tiles), in lexicographic order. ``"all"``
        with ``grid=3``: permutations that move exactly 6 of the 9 tiles (the
        paper's "9-parts" puzzle; there are 22,260, so a fixed subset of
        ``n_permutations``, default 23, is drawn with ``seed``). ``"swaps"``: the
        transpositions of two tiles (6 for 4 tiles, 36 for 9), meant for
        texture-like images where tiles look alike.
    n_permutations : int or None, default=None
        Keep this many permutations, drawn without replacement with ``seed``
        (sorted back into lexicographic order). None keeps the whole set, except
        for ``grid=3, kind="all"`` where it means 23.
    seed : int, default=0
        Seed of the subset draw; the same arguments always give the same set.

    Returns
    -------
    perms : Tensor of shape (n_permutations, grid * grid), dtype int64
        Each row is a permutation of ``range(grid * grid)``.

    Examples
    --------
    >>> from skanomaly.augment.functional import puzzle_permutations
    >>> puzzle_permutations(2).shape
    torch.Size([23, 4])
    >>> puzzle_permutations(2, "swaps")[0]
    tensor([0, 1, 3, 2])
    """
    if grid not in (2, 3):
        raise ValueError(f"grid must be 2 or 3; got {grid!r}.")
    if kind not in ("all", "swaps"):
        raise ValueError(f"kind must be 'all' or 'swaps'; got {kind!r}.")
    n_tiles = grid * grid
    if kind == "swaps":
        perms = []
        for i, j in itertools.combinations(range(n_tiles), 2):
            perm = list(range(n_tiles))
            perm[i], perm[j] = j, i
            perms.append(perm)
        table = torch.tensor(sorted(perms), dtype=torch.int64)
    elif grid == 2:
        table = torch.tensor(
            list(itertools.permutations(range(4)))[1:], dtype=torch.int64
        )
    else:
        table = _six_of_nine_displaced().clone()
        if n_permutations is None:
            n_permutations = 23
    if n_permutations is not None:
        if not 1 <= n_permutations <= len(table):
            raise ValueError(
                f"n_permutations must be in [1, {len(table)}] for grid={grid}, "
                f"kind={kind!r}; got {n_permutations!r}."
            )
        if n_permutations < len(table):
            generator = torch.Generator().manual_seed(int(seed))
            chosen = torch.randperm(len(table), generator=generator)[:n_permutations]
            table = table[chosen.sort().values]
    return table


@functools.lru_cache(maxsize=1)
def _six_of_nine_displaced() -> Tensor:
    """All permutations of 9 tiles that move exactly 6 (6 of 9 permuted)."""
    derangements = [
        p for p in itertools.permutations(range(6)) if all(p[i] != i for i in range(6))
    ]
    perms = []
    for moved in itertools.combinations(range(9), 6):
        for derangement in derangements:
            perm = list(range(9))
            for slot, source in zip(moved, derangement, strict=True):
                perm[slot] = moved[source]
            perms.append(perm)
    return torch.tensor(sorted(perms), dtype=torch.int64)


def inverse_permutation(perm: Tensor | Sequence[int]) -> Tensor:
    """The permutation that undoes ``perm``.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment.functional import inverse_permutation
    >>> inverse_permutation(torch.tensor([1, 2, 0, 3]))
    tensor([2, 0, 1, 3])
    """
    perm = torch.as_tensor(perm, dtype=torch.int64)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm), dtype=torch.int64)
    return inverse


def _check_divisible(x: Tensor, grid: int) -> None:
    if x.dim() != 4:
        raise ValueError(f"expected a (N, C, H, W) tensor; got shape {tuple(x.shape)}.")
    height, width = x.shape[-2:]
    if height % grid or width % grid:
        raise ValueError(
            f"image size {height}x{width} is not divisible by grid={grid}; "
            "pad it first (pad_to_grid)."
        )


def permute_tiles(x: Tensor, perm: Tensor | Sequence[int], grid: int = 2) -> Tensor:
    """Cut each image into ``grid x grid`` tiles and rearrange them.

    Output tile ``i`` is input tile ``perm[i]`` (tiles numbered row by row). A
    table of K permutations puzzles every image with each of them in one
    gather.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
        Images; H and W must be divisible by ``grid``.
    perm : Tensor or sequence of int, of shape (grid * grid,) or (K, grid * grid)
        The permutation, or K permutations one per row.
    grid : int, default=2
        Tiles per side.

    Returns
    -------
    puzzled : Tensor of shape (N, C, H, W), or (K * N, C, H, W) for K permutations
        A new tensor; ``x`` is not modified. With K permutations, rows
        ``k * N`` to ``(k + 1) * N - 1`` are the images puzzled by ``perm[k]``.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment.functional import permute_tiles
    >>> x = torch.arange(4.0).view(1, 1, 2, 2)
    >>> permute_tiles(x, [3, 2, 1, 0]).flatten().tolist()
    [3.0, 2.0, 1.0, 0.0]
    >>> permute_tiles(x, [[1, 0, 2, 3], [0, 1, 3, 2]]).flatten(1).tolist()
    [[1.0, 0.0, 2.0, 3.0], [0.0, 1.0, 3.0, 2.0]]
    """
    _check_divisible(x, grid)
    perm = torch.as_tensor(perm, dtype=torch.int64, device=x.device)
    n_tiles = grid * grid
    if perm.dim() not in (1, 2) or perm.shape[-1] != n_tiles:
        raise ValueError(
            f"perm must have {n_tiles} entries (per row) for grid={grid}; got "
            f"{perm.tolist()}."
        )
    perms = perm.reshape(-1, n_tiles)
    n, c, height, width = x.shape
    th, tw = height // grid, width // grid
    # one gather for every permutation: output tile (k, i) is the input tile in
    # row perms[k, i] // grid and column perms[k, i] % grid; the indexed
    # dimensions come first: (K, tile, N, C, th, tw)
    rows, cols = perms // grid, perms % grid
    tiles = x.reshape(n, c, grid, th, grid, tw)[:, :, rows, :, cols, :]
    tiles = tiles.reshape(len(perms), grid, grid, n, c, th, tw)
    puzzled = tiles.permute(0, 3, 4, 1, 5, 2, 6).reshape(-1, c, height, width)
    return puzzled if perm.dim() == 2 else puzzled.reshape(n, c, height, width)


def mask_tile(x: Tensor, index: int, grid: int = 2, mode: str = "auto") -> Tensor:
    """Blank one tile: inpainting (grey) or colourisation (RGB) pretext task.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
        Images; H and W must be divisible by ``grid``.
    index : int
        The tile to mask, numbered row by row.
    grid : int, default=2
        Tiles per side.
    mode : {"auto", "zero", "grey"}, default="auto"
        ``"zero"`` sets the tile to 0 (the paper's inpainting for grey images);
        ``"grey"`` replaces every pixel of the tile by the mean of its channels at
        that pixel (the authors' colourisation task for RGB images); ``"auto"``
        picks ``"zero"`` for one channel and ``"grey"`` otherwise.

    Returns
    -------
    masked : Tensor of shape (N, C, H, W)
        A new tensor; ``x`` is not modified.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment.functional import mask_tile
    >>> mask_tile(torch.ones(1, 1, 2, 2), 0).flatten().tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    _check_divisible(x, grid)
    if not 0 <= index < grid * grid:
        raise ValueError(f"index must be in [0, {grid * grid}); got {index!r}.")
    if mode == "auto":
        mode = "zero" if x.shape[1] == 1 else "grey"
    if mode not in ("zero", "grey"):
        raise ValueError(f"mode must be 'auto', 'zero' or 'grey'; got {mode!r}.")
    height, width = x.shape[-2:]
    th, tw = height // grid, width // grid
    row, col = divmod(int(index), grid)
    rows = slice(row * th, (row + 1) * th)
    cols = slice(col * tw, (col + 1) * tw)
    out = x.clone()
    if mode == "zero":
        out[:, :, rows, cols] = 0
    else:
        out[:, :, rows, cols] = x[:, :, rows, cols].mean(dim=1, keepdim=True)
    return out


def pad_to_grid(x: Tensor, grid: int = 2, min_size: int = 1) -> Tensor:
    """Zero-pad images so both sides are multiples of ``grid`` and >= ``min_size``.

    The padding is split as evenly as possible (the extra row or column goes to
    the bottom or right), so the image stays centred;
    :func:`crop_to_shape` undoes it.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment.functional import pad_to_grid
    >>> pad_to_grid(torch.ones(1, 1, 28, 28), grid=3).shape
    torch.Size([1, 1, 30, 30])
    """
    pads = []
    for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dim first
        target = max(size, int(min_size))
        target += (-target) % grid
        extra = target - size
        pads.extend([extra // 2, extra - extra // 2])
    if not any(pads):
        return x
    return F.pad(x, pads)


def crop_to_shape(x: Tensor, height: int, width: int) -> Tensor:
    """Cut the centre ``height x width`` region that :func:`pad_to_grid` padded.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment.functional import crop_to_shape, pad_to_grid
    >>> x = torch.rand(2, 1, 5, 7)
    >>> torch.equal(crop_to_shape(pad_to_grid(x, 2, 8), 5, 7), x)
    True
    """
    top = (x.shape[-2] - height) // 2
    left = (x.shape[-1] - width) // 2
    return x[..., top : top + height, left : left + width]
