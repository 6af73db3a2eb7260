"""skanomaly: scikit-learn compatible deep novelty detectors."""

from skanomaly.detectors import ARAE, LISAE, DenoisingAE, PuzzleAE
from skanomaly.exceptions import TrainingDivergedError
from skanomaly.utils._negatives import Negatives

__version__ = "0.1.0.dev0"

__all__ = [
    "ARAE",
    "DenoisingAE",
    "LISAE",
    "Negatives",
    "PuzzleAE",
    "TrainingDivergedError",
    "__version__",
]
