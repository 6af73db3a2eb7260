"""The detectors; each is re-exported at the package top level."""

from skanomaly.detectors._arae import ARAE
from skanomaly.detectors._denoising import DenoisingAE
from skanomaly.detectors._lis_ae import LISAE
from skanomaly.detectors._puzzle_ae import PuzzleAE

__all__ = ["ARAE", "DenoisingAE", "LISAE", "PuzzleAE"]
