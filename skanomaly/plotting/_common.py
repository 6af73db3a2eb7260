"""Shared helpers of the plotting functions."""

from __future__ import annotations

import numpy as np


def import_pyplot():
    """Import matplotlib's pyplot, with an install hint when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skanomaly.plotting needs matplotlib: pip install 'skanomaly[plot]'"
        ) from exc
    return plt


def named_detectors(detectors) -> list[tuple[str, object]]:
    """``(name, detector)`` pairs from a detector, a list of them or a dict."""
    if isinstance(detectors, dict):
        pairs = list(detectors.items())
    elif isinstance(detectors, (list, tuple)):
        pairs = [(type(d).__name__, d) for d in detectors]
    else:
        pairs = [(type(detectors).__name__, detectors)]
    if not pairs:
        raise ValueError("pass at least one detector.")
    return [(str(name), det) for name, det in pairs]


def resolve_input_shape(detector, input_shape, n_features: int) -> tuple[int, int, int]:
    """``(C, H, W)`` from ``input_shape`` or the detector's ``input_shape_``."""
    shape = input_shape
    if shape is None:
        shape = getattr(detector, "input_shape_", None)
    if shape is not None and len(tuple(shape)) == 2:
        shape = (1, *tuple(shape))
    if shape is None or len(tuple(shape)) != 3:
        raise ValueError(
            "an image shape is needed: pass input_shape=(C, H, W) or a detector "
            f"fitted on images (got input_shape={input_shape!r} and the detector's "
            f"input_shape_={getattr(detector, 'input_shape_', None)!r})."
        )
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"input_shape {shape} holds {int(np.prod(shape))} values but X has "
            f"{n_features} features per sample."
        )
    return shape


def as_rows(X) -> np.ndarray:
    """Flatten 3-D/4-D image arrays to rows; check for 2-D numeric input."""
    X = np.asarray(X)
    if X.ndim in (3, 4):
        X = X.reshape(X.shape[0], -1)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(
            f"X must be a non-empty 2-D array of flattened images (or 3-D/4-D "
            f"images); got shape {X.shape}."
        )
    return X


def to_displayable(row: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """One flat image as (H, W) or (H, W, C) for ``imshow``, clipped to [0, 1]."""
    image = np.asarray(row, dtype=np.float64).reshape(shape)
    image = image[0] if shape[0] == 1 else np.moveaxis(image, 0, -1)
    return np.clip(image, 0.0, 1.0)
