"""RandomPuzzle: draws a permutation and a masked tile, applies the kernels."""

from __future__ import annotations

import torch
from torch import Tensor

from skanomaly.augment.functional import mask_tile, permute_tiles, puzzle_permutations


class RandomPuzzle:
    """Turn a batch into one jigsaw puzzle, optionally with one tile masked.

    As in the authors' code, **one permutation and one masked tile are drawn per
    call** (per mini-batch) and applied to every image of the batch. The
    permutation is drawn uniformly from ``permutations``; the mask is applied
    after permuting, at a position drawn uniformly from all tiles.

    Parameters
    ----------
    permutations : Tensor of shape (K, grid * grid) or None, default=None
        The permutation set; None takes the 23 non-identity permutations of
        4 tiles (:func:`~skanomaly.augment.puzzle_permutations`).
    masking : bool, default=True
        Mask one tile after permuting (see ``mask_mode``).
    mask_mode : {"auto", "zero", "grey"}, default="auto"
        Passed to :func:`~skanomaly.augment.mask_tile`: blank the tile
        for grey images, make it grey for colour images.

    Attributes
    ----------
    grid : int
        Tiles per side, read from the permutation length.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import RandomPuzzle
    >>> puzzle = RandomPuzzle()
    >>> g = torch.Generator().manual_seed(0)
    >>> puzzled, params = puzzle(torch.rand(8, 1, 28, 28), generator=g)
    >>> puzzled.shape, sorted(params)
    (torch.Size([8, 1, 28, 28]), ['mask_index', 'permutation', 'permutation_index'])
    """

    def __init__(
        self,
        permutations: Tensor | None = None,
        *,
        masking: bool = True,
        mask_mode: str = "auto",
    ) -> None:
        if permutations is None:
            permutations = puzzle_permutations(2, "all")
        self.permutations = torch.as_tensor(permutations, dtype=torch.int64)
        n_tiles = self.permutations.shape[1]
        self.grid = int(round(n_tiles**0.5))
        if self.grid * self.grid != n_tiles:
            raise ValueError(
                f"permutations of {n_tiles} tiles do not form a square grid."
            )
        self.masking = masking
        self.mask_mode = mask_mode

    def make_params(self, generator: torch.Generator | None = None) -> dict:
        """Draw the permutation index and the masked tile (None when not masking)."""
        index = int(
            torch.randint(len(self.permutations), (1,), generator=generator).item()
        )
        mask_index = None
        if self.masking:
            mask_index = int(
                torch.randint(self.grid * self.grid, (1,), generator=generator).item()
            )
        return {
            "permutation_index": index,
            "permutation": self.permutations[index],
            "mask_index": mask_index,
        }

    def transform(self, x: Tensor, params: dict) -> Tensor:
        """Apply drawn parameters to a batch ``x`` of shape (N, C, H, W)."""
        out = permute_tiles(x, params["permutation"], self.grid)
        if params["mask_index"] is not None:
            out = mask_tile(out, params["mask_index"], self.grid, self.mask_mode)
        return out

    def __call__(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict]:
        params = self.make_params(generator)
        return self.transform(x, params), params
