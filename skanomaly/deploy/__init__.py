"""Deploying a fitted detector: files that run no code when loaded, and ONNX.

:func:`save` and :func:`load` keep a fitted detector in a file read with
``torch.load(weights_only=True)``, with a format version and a checksum
(pickling works too, but unpickling runs code); :func:`export_onnx` writes
the whole scoring function, threshold included, to an ONNX file. See
docs/persistence.md and docs/deployment.md.
"""

from skanomaly.deploy._onnx import export_onnx
from skanomaly.deploy._safe_file import FORMAT_VERSION, load, save

__all__ = ["FORMAT_VERSION", "export_onnx", "load", "save"]
