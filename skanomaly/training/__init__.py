"""Training glue: the skorch net every detector owns, its callbacks, the fit context."""

from skanomaly.training._accelerate import accelerate
from skanomaly.training._context import FitContext
from skanomaly.training._net import DetectorNet
from skanomaly.training._settings import settings_from
from skanomaly.training.callbacks import EpochProgressBar, NonFiniteLossGuard

__all__ = [
    "DetectorNet",
    "accelerate",
    "EpochProgressBar",
    "FitContext",
    "NonFiniteLossGuard",
    "settings_from",
]
