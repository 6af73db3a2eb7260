"""Training glue: the skorch net every detector owns, and its callbacks."""

from skanomaly.training._net import DetectorNet
from skanomaly.training.callbacks import EpochProgressBar, NonFiniteLossGuard

__all__ = ["DetectorNet", "EpochProgressBar", "NonFiniteLossGuard"]
