"""skanomaly: scikit-learn compatible deep novelty detectors."""

from skanomaly.deploy import export_onnx, load, save
from skanomaly.detectors import (
    ARAE,
    CRBND,
    LISAE,
    DenoisingAE,
    PuzzleAE,
    RobustGMMDAE,
)
from skanomaly.exceptions import TrainingDivergedError
from skanomaly.utils._negatives import Negatives

__version__ = "0.1.0.dev0"

__all__ = [
    "ARAE",
    "CRBND",
    "DenoisingAE",
    "LISAE",
    "Negatives",
    "PuzzleAE",
    "RobustGMMDAE",
    "TrainingDivergedError",
    "__version__",
    "export_onnx",
    "load",
    "save",
]
