"""Augmentations as deterministic kernels (``functional``) plus thin random classes.

Pure torch: nothing here imports scikit-learn or numpy.
"""

from skanomaly.augment._distortions import (
    coarse_dropout,
    gaussian_noise,
    motion_blur,
    random_motion_blur,
)
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
    "coarse_dropout",
    "crop_to_shape",
    "gaussian_noise",
    "inverse_permutation",
    "mask_tile",
    "motion_blur",
    "pad_to_grid",
    "permute_features",
    "permute_tiles",
    "puzzle_permutations",
    "random_motion_blur",
    "shuffle_tiles",
]
