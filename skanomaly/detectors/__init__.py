"""The detectors; each is re-exported at the package top level."""

from skanomaly.detectors._denoising import DenoisingAE

__all__ = ["DenoisingAE"]
