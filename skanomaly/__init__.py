"""skanomaly: scikit-learn compatible deep novelty detectors."""

from skanomaly.detectors import ARAE, DenoisingAE, PuzzleAE
from skanomaly.exceptions import TrainingDivergedError

__version__ = "0.1.0.dev0"

__all__ = ["ARAE", "DenoisingAE", "PuzzleAE", "TrainingDivergedError", "__version__"]
