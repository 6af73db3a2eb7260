"""Augmentations as deterministic kernels (``functional``) plus thin random classes.

Pure torch: nothing here imports scikit-learn or numpy.
"""

from skanomaly.augment._negatives import (
    RandomNegatives,
    permute_features,
    shuffle_tiles,
)
from skanomaly.augment._puzzle import RandomPuzzle
from skanomaly.augment.functional import (
    crop_to_shape,
    inverse_permutation,
    mask_tile,
    pad_to_grid,
    permute_tiles,
    puzzle_permutations,
)

__all__ = [
    "RandomNegatives",
    "RandomPuzzle",
    "crop_to_shape",
    "inverse_permutation",
    "mask_tile",
    "pad_to_grid",
    "permute_features",
    "permute_tiles",
    "puzzle_permutations",
    "shuffle_tiles",
]
