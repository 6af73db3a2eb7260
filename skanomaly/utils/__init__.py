"""Helpers shared by the detectors: seeding, devices, input handling, discovery."""

from skanomaly.utils._torch import torch_threads
from skanomaly.utils.discovery import all_estimators

__all__ = ["all_estimators", "torch_threads"]
