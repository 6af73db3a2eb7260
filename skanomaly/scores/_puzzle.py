"""Puzzle-AE's score: normalised errors of every puzzle of an image, aggregated."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from skanomaly.augment.functional import permute_tiles


def _exporting() -> bool:
    """Whether torch.export is tracing (never, on torch without the check)."""
    check = getattr(torch.compiler, "is_exporting", None)
    return bool(check()) if check is not None else False


class PuzzleErrorScore(nn.Module):
    """Puzzle-AE's score: normalised errors of every puzzle, aggregated.

    For each permutation ``P_i`` of the set, ``S_i = mean((U(P_i x) - x)**2)``
    over pixels and channels; ``S_i / c_i`` with the held-out normalisers
    ``c_i``; then the maximum, mean or minimum over ``i``. Computed in float64.

    Parameters
    ----------
    solver : nn.Module
        The puzzle solver; takes and returns images of the input's shape (a
        :class:`~skanomaly.nets.PaddedNet` that pads to the tile grid).
    permutations : Tensor of shape (K, grid * grid)
        Output tile ``j`` is input tile ``perm[j]``.
    normalisers : Tensor of shape (K,)
        ``c_i``; ones for no normalisation.
    aggregation : {"max", "mean", "min"}, default="max"
        How the K normalised errors are combined.
    max_images_per_pass : int, default=2048
        Upper bound on the puzzled images in one forward pass of the solver.
        On CPU, a pass whose activations fit in the caches (a few dozen
        28 x 28 images) is fastest; accelerators prefer large passes.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import puzzle_permutations
    >>> from skanomaly.nets import PaddedNet, UNet
    >>> from skanomaly.scores import PuzzleErrorScore
    >>> perms = puzzle_permutations(2, "all")
    >>> solver = PaddedNet(UNet(1, base_width=2), multiple=2, min_size=16)
    >>> score = PuzzleErrorScore(solver, perms, torch.ones(len(perms)))
    >>> score(torch.rand(3, 1, 8, 8)).shape
    torch.Size([3])
    """

    def __init__(
        self,
        solver: nn.Module,
        permutations: Tensor,
        normalisers: Tensor,
        aggregation: str = "max",
        max_images_per_pass: int = 2048,
    ) -> None:
        super().__init__()
        if aggregation not in ("max", "mean", "min"):
            raise ValueError(
                f"aggregation must be 'max', 'mean' or 'min'; got {aggregation!r}."
            )
        self.solver = solver
        self.register_buffer("permutations", torch.as_tensor(permutations).long())
        self.register_buffer(
            "normalisers", torch.as_tensor(normalisers, dtype=torch.float64)
        )
        self.grid = int(round(self.permutations.shape[1] ** 0.5))
        self.aggregation = aggregation
        self.max_images_per_pass = int(max_images_per_pass)

    def permutation_errors(self, x: Tensor) -> Tensor:
        """``(n, K)`` mean squared errors of every permutation, unnormalised.

        Every puzzle of the batch is cut in one gather; the solver then runs on
        consecutive slices of at most ``max_images_per_pass`` of those ``K * n``
        puzzles.
        """
        n = x.shape[0]
        solver = self.solver
        height, width = x.shape[-2:]
        # (K * n, C, H', W'), permutation by permutation
        puzzled = permute_tiles(solver.pad(x), self.permutations, self.grid)
        targets = x.reshape(n, -1)
        if _exporting():
            # one pass: a Python loop over chunks would fix the batch size of
            # an exported graph (skanomaly.export_onnx)
            output = solver.crop(solver.net(puzzled), height, width)
            diff = output.reshape(len(self.permutations), n, -1) - targets
            return diff.pow(2).mean(dim=2).T
        rows = torch.arange(len(puzzled), device=x.device) % max(n, 1)
        per_pass = max(1, self.max_images_per_pass)
        errors = []
        for start in range(0, len(puzzled), per_pass):
            chunk = slice(start, start + per_pass)
            output = solver.crop(solver.net(puzzled[chunk]), height, width)
            diff = output.reshape(output.shape[0], -1) - targets[rows[chunk]]
            errors.append(diff.pow(2).mean(dim=1))
        if not errors:
            return x.new_empty(n, len(self.permutations))
        return torch.cat(errors).reshape(len(self.permutations), n).T

    def aggregate(self, errors: Tensor) -> Tensor:
        """The score of ``(n, K)`` unnormalised errors: normalised, aggregated."""
        normalised = errors.double() / self.normalisers
        if self.aggregation == "max":
            return normalised.max(dim=1).values
        if self.aggregation == "min":
            return normalised.min(dim=1).values
        return normalised.mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.aggregate(self.permutation_errors(x))
