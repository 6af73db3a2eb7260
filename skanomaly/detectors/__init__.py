"""The detectors; each is re-exported at the package top level."""

from skanomaly.detectors._arae import ARAE
from skanomaly.detectors._crbnd import CRBND
from skanomaly.detectors._denoising import DenoisingAE
from skanomaly.detectors._lis_ae import LISAE
from skanomaly.detectors._puzzle_ae import PuzzleAE
from skanomaly.detectors._robust_gmm_dae import RobustGMMDAE

__all__ = ["ARAE", "CRBND", "DenoisingAE", "LISAE", "PuzzleAE", "RobustGMMDAE"]
