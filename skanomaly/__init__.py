"""skanomaly: scikit-learn compatible deep novelty detectors."""

from skanomaly.detectors import DenoisingAE
from skanomaly.exceptions import TrainingDivergedError

__version__ = "0.1.0.dev0"

__all__ = ["DenoisingAE", "TrainingDivergedError", "__version__"]
