"""What the robustness evaluations share: a fitted detector seen in its scaled space.

Every attack of :mod:`skanomaly.robustness` works in the space the detector's
network sees, the *scaled space*: ``detector.scaler_`` maps the user's units to
it, and the training data of a fitted detector spans [0, 1] there (per feature
or globally, after ``scaling``). For images in [0, 1] fitted with the default
``scaling="auto"`` the scaled space is the pixel space itself. Budgets
(``epsilon``, the L2 radius lambda), the box and the reported distances are
measured there; adversarial inputs are handed back in the user's units.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from skanomaly.augment.functional import crop_to_shape

#: the default box of the scaled space: the range of the training data
UNIT_BOX = (0.0, 1.0)


def check_detector(detector) -> None:
    """A fitted skanomaly detector (``anomaly_score_module``, ``scaler_``)."""
    if not callable(getattr(detector, "anomaly_score_module", None)) or not hasattr(
        type(detector), "_to_net_input"
    ):
        raise TypeError(
            "detector must be a skanomaly detector (with anomaly_score_module() and "
            f"encode()); got {type(detector).__name__}."
        )
    check_is_fitted(detector)


def check_budget(value, name: str, *, allow_zero: bool = True) -> float:
    """A finite real >= 0 (> 0 without ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}.")
    return value


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}.")
    return int(value)


def check_box(clip, X_scaled: np.ndarray) -> tuple[float, float] | None:
    """The box of the attack in the scaled space, widened to hold ``X_scaled``.

    ``clip`` is ``(low, high)`` or ``None`` (no box). Widening by the samples'
    own values means the box never moves a sample by itself: a test value out of
    the training range stays reachable, and the budget is the only bound on the
    perturbation.
    """
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise TypeError(
            f"clip must be a (low, high) pair of floats or None; got {clip!r}."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"clip must be (low, high) with low < high; got {clip!r}.")
    if X_scaled.size:
        low = min(low, float(X_scaled.min()))
        high = max(high, float(X_scaled.max()))
    return low, high


class ScaledDetector:
    """A fitted detector's score, encoder and decoder on flat scaled rows.

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    """

    def __init__(self, detector) -> None:
        check_detector(detector)
        self.detector = detector
        self.input_shape = tuple(int(s) for s in detector.input_shape_)
        self.n_features = int(np.prod(self.input_shape))
        self.device = torch.device(detector.device_)
        scaler = detector.scaler_
        if scaler.is_identity:
            self._minimum = self._scale = None
        else:
            self._minimum = torch.as_tensor(scaler.min_, dtype=torch.float64)
            self._scale = torch.as_tensor(scaler.scale_, dtype=torch.float64)

    # ------------------------------------------------------------ numpy side
    def scaled_rows(self, X, name: str = "X") -> np.ndarray:
        """``X`` validated and scaled as the detector does: flat float64 rows."""
        try:
            X_net = self.detector._prepare_input(np.array(X, copy=True))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc
        scaled = X_net.reshape(len(X_net), -1)
        return np.array(scaled, dtype=np.float64)

    def to_user(self, X_scaled: np.ndarray, like) -> np.ndarray:
        """Scaled flat rows back to user units, in the layout of ``like``."""
        rows = self.detector.scaler_.inverse_transform(
            np.asarray(X_scaled, dtype=np.float32)
        )
        rows = np.asarray(rows, dtype=np.float32)
        shape = np.shape(like)
        if len(shape) >= 2 and int(np.prod(shape[1:])) == self.n_features:
            return rows.reshape(len(rows), *shape[1:])
        return rows

    # ------------------------------------------------------------ torch side
    def tensor(self, X_scaled: np.ndarray) -> Tensor:
        return torch.as_tensor(X_scaled, dtype=torch.float64, device=self.device)

    def _user_units(self, x: Tensor) -> Tensor:
        x = x.to(torch.float64)
        if self._minimum is None:
            return x
        return x * self._scale.to(x.device) + self._minimum.to(x.device)

    def score_module(self) -> nn.Module:
        return self.detector.anomaly_score_module()

    def score(self, module: nn.Module, x: Tensor) -> Tensor:
        """Anomaly scores of flat scaled rows through ``anomaly_score_module()``."""
        return module(self._user_units(x)).to(torch.float64)

    def _net_batch(self, x: Tensor) -> Tensor:
        x = x.to(torch.float32)
        if self.detector._requires_image:
            return x.reshape(len(x), *self.input_shape)
        return x

    def autoencoder(self) -> nn.Module:
        """The fitted network, checked for ``encode`` and ``decode``."""
        module = self.detector.net_.module_
        missing = [
            name
            for name in ("encode", "decode")
            if not callable(getattr(module, name, None))
        ]
        if missing:
            raise TypeError(
                f"{type(self.detector).__name__}'s network "
                f"({type(module).__name__}) has no {' or '.join(missing)} method: "
                "the latent-space and maximum-damage attacks need an encoder and a "
                "decoder that reconstructs from the code alone (a U-Net's decoder "
                "also reads the skip connections). auc_under_attack works for "
                "every detector."
            )
        return module

    def encode(self, module: nn.Module, x: Tensor) -> Tensor:
        """Codes ``(n, code_size)`` of flat scaled rows."""
        return module.encode(self._net_batch(x)).flatten(1)

    def decode(self, module: nn.Module, z: Tensor) -> Tensor:
        """Flat scaled reconstructions ``(n, n_features)`` of codes."""
        out = module.decode(z.to(torch.float32))
        if out.dim() == 4 and len(self.input_shape) == 3:
            out = crop_to_shape(out, *self.input_shape[1:])
        out = out.reshape(len(z), -1)
        if out.shape[1] != self.n_features:
            raise TypeError(
                f"{type(module).__name__}.decode returns {out.shape[1]} values per "
                f"sample; the detector's samples have {self.n_features}."
            )
        return out.to(torch.float64)


def seeds(random_state) -> tuple[np.random.RandomState, torch.Generator]:
    """A numpy and a torch generator from one scikit-learn ``random_state``.

    Neither global generator is drawn from (``None`` takes OS entropy).
    """
    from skanomaly.utils._torch import derive_seed

    seed = derive_seed(random_state)
    return np.random.RandomState(seed), torch.Generator().manual_seed(seed)
