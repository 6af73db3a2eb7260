"""Input handling shared by the detectors: image shapes, the [0, 1] scaling, and
the labels a novelty detector ignores."""

from __future__ import annotations

import warnings

import numpy as np


def split_spatial_input(X):
    """Flatten 3-D ``(n, H, W)`` or 4-D ``(n, C, H, W)`` arrays to rows.

    Returns the (possibly reshaped) array and the per-sample shape, or ``None``
    when ``X`` is not a 3-D/4-D array. Other inputs are returned untouched so
    that scikit-learn's validation reports their problems.
    """
    ndim = getattr(X, "ndim", None)
    if ndim is None or ndim not in (3, 4) or not hasattr(X, "reshape"):
        return X, None
    if ndim == 3:
        sample_shape = (1, *X.shape[1:])
    else:
        sample_shape = tuple(X.shape[1:])
    n_values = int(np.prod(X.shape[1:]))
    return np.asarray(X).reshape(X.shape[0], n_values), tuple(
        int(s) for s in sample_shape
    )


def check_input_shape(input_shape, n_features, *, requires_image=False, name=""):
    """Check ``input_shape`` against the number of features; return the sample shape.

    Parameters
    ----------
    input_shape : tuple of int or None
        ``(C, H, W)`` (or ``(H, W)``, read as one channel) for images, or None.
    n_features : int
        Columns of the flattened input.
    requires_image : bool
        Raise when no spatial shape is known (image-only methods).
    name : str
        Estimator name, for messages.
    """
    if input_shape is None:
        if requires_image:
            raise ValueError(
                f"{name} works on images: pass input_shape=(C, H, W) with flattened "
                "rows, or a 3-D (n, H, W) / 4-D (n, C, H, W) array; got 2-D input "
                f"with {n_features} features and no input_shape."
            )
        return (int(n_features),)
    shape = tuple(input_shape)
    if not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape):
        raise ValueError(f"input_shape must hold positive ints; got {input_shape!r}.")
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) not in (1, 3):
        raise ValueError(
            f"input_shape must be (C, H, W), (H, W) or (n_features,); got {input_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"input_shape={input_shape!r} holds {int(np.prod(shape))} values but X has "
            f"{n_features} features per sample."
        )
    if requires_image and len(shape) != 3:
        raise ValueError(
            f"{name} works on images and needs a spatial input_shape=(C, H, W); "
            f"got {input_shape!r}."
        )
    return tuple(int(s) for s in shape)


#: rows :meth:`UnitIntervalScaler.transform` scales at a time
_SCALE_BLOCK_ROWS = 4096


class UnitIntervalScaler:
    """Map inputs to [0, 1] with bounds learned at fit.

    ``mode`` is one of:

    - ``"auto"``: leave the data unchanged when every training value is already in
      [0, 1] (images, as in the papers), else behave like ``"feature"``;
    - ``"feature"``: per-feature min-max of the training data;
    - ``"global"``: one min and max over all training values (keeps the relative
      scale of pixels of an image that is not in [0, 1], e.g. 0..255);
    - ``"none"``: never scale.

    Test values outside the training range map outside [0, 1] and are not clipped,
    so a value never seen in training still looks anomalous. Constant features get
    a unit range.
    """

    def __init__(self, mode: str = "auto"):
        self.mode = mode

    def fit(self, X: np.ndarray) -> UnitIntervalScaler:
        mode = self.mode
        if mode == "auto":
            in_unit = X.min() >= 0.0 and X.max() <= 1.0
            mode = "none" if in_unit else "feature"
        self.mode_ = mode
        if mode == "none":
            self.min_, self.scale_ = None, None
        elif mode == "feature":
            lo = X.min(axis=0).astype(np.float64)
            span = X.max(axis=0).astype(np.float64) - lo
            self.min_, self.scale_ = lo, _unit_range(span)
        elif mode == "global":
            lo = float(X.min())
            self.min_, self.scale_ = lo, float(_unit_range(np.array(X.max() - lo)))
        else:
            raise ValueError(
                f"scaling={self.mode!r} is not one of 'auto', 'feature', 'global', 'none'."
            )
        return self

    def fit_bounds(self, feature_min: np.ndarray, feature_max: np.ndarray):
        """Fit from the per-feature float32 minima and maxima of the training
        rows (a streamed pass, :func:`~skanomaly.utils._streaming.feature_bounds`):
        the same scaling as :meth:`fit` on those rows."""
        mode = self.mode
        if mode == "auto":
            in_unit = feature_min.min() >= 0.0 and feature_max.max() <= 1.0
            mode = "none" if in_unit else "feature"
        self.mode_ = mode
        if mode == "none":
            self.min_, self.scale_ = None, None
        elif mode == "feature":
            lo = feature_min.astype(np.float64)
            span = feature_max.astype(np.float64) - lo
            self.min_, self.scale_ = lo, _unit_range(span)
        elif mode == "global":
            lo = float(feature_min.min())
            span = np.array(feature_max.max() - lo)
            self.min_, self.scale_ = lo, float(_unit_range(span))
        else:
            raise ValueError(
                f"scaling={self.mode!r} is not one of 'auto', 'feature', 'global', 'none'."
            )
        return self

    @property
    def is_identity(self) -> bool:
        return self.mode_ == "none"

    def transform(self, X: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Scaled float32 values: a new array (or ``out``, which may be ``X``
        itself to scale a float32 array in place), or ``X`` itself when the
        scaling is the identity. ``X`` is modified only when it is ``out``.

        The rows are scaled in float64 a block at a time, so the memory it
        takes beyond the result stays bounded whatever the number of rows.
        """
        if self.is_identity:
            return X
        if out is None:
            out = np.empty(X.shape, dtype=np.float32)
        for start in range(0, len(X), _SCALE_BLOCK_ROWS):
            block = slice(start, start + _SCALE_BLOCK_ROWS)
            # float64 arithmetic rounded once to float32, as astype(float32) does
            out[block] = (X[block].astype(np.float64) - self.min_) / self.scale_
        return out

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Map scaled values back to the scale of the training data."""
        if self.is_identity:
            return X
        return (X.astype(np.float64) * self.scale_ + self.min_).astype(np.float32)


def _unit_range(span: np.ndarray) -> np.ndarray:
    span = np.asarray(span, dtype=np.float64)
    return np.where(span > np.finfo(np.float32).eps, span, 1.0)


def warn_if_labels_ignored(y, name: str) -> None:
    """Warn when a novelty detector's ``fit`` gets a ``y`` of several classes.

    Novelty detectors train on every row and ignore ``y``: rows labelled as
    outliers are trained on as normal, which is what happens when a bare
    detector goes into ``GridSearchCV`` or ``cross_val_score`` with labels.
    """
    if y is None:
        return
    try:
        values = np.unique(np.asarray(y).ravel())
    except (TypeError, ValueError):  # labels numpy cannot sort: not ours to judge
        return
    if len(values) < 2:
        return
    shown = values[:4].tolist() + (["..."] if len(values) > 4 else [])
    warnings.warn(
        f"{name}.fit got a y with {len(values)} distinct labels {shown}, but it "
        "ignores y and trains on every row, outliers included. To train on the "
        "inliers of y (in GridSearchCV and cross_val_score too), wrap it: "
        "skanomaly.model_selection.InlierOnly(detector). Score with "
        "skanomaly.metrics.get_novelty_scorer: scikit-learn's scoring='roc_auc' "
        "reads decision_function, which is higher for normal rows, so it "
        "inverts the AUC when 1 marks the anomalies.",
        UserWarning,
        stacklevel=4,  # the caller of fit, past scikit-learn's wrapper
    )
