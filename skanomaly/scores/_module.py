"""The fitted scoring function as one module: scaling, reshape, score, threshold."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class InputScaling(nn.Module):
    """``(x - minimum) / scale`` per feature on flat rows, or the identity.

    The torch twin of the detectors' fitted [0, 1] scaling
    (:class:`~skanomaly.utils._validation.UnitIntervalScaler`): it computes in
    float64 and returns float32, exactly as the numpy path does, so scores
    through it equal ``score_samples``.

    Parameters
    ----------
    minimum, scale : array-like, float or None
        The fitted offsets and ranges (scalars or one per feature); ``None``
        for the identity.
    compute_dtype : torch.dtype, default=torch.float64
        Precision of the arithmetic (float32 on devices without float64).
    """

    def __init__(self, minimum=None, scale=None, compute_dtype=torch.float64) -> None:
        super().__init__()
        self.identity = minimum is None
        self.compute_dtype = compute_dtype
        if not self.identity:
            self.register_buffer(
                "minimum", torch.as_tensor(minimum, dtype=compute_dtype)
            )
            self.register_buffer("scale", torch.as_tensor(scale, dtype=compute_dtype))

    def forward(self, x: Tensor) -> Tensor:
        if self.identity:
            return x.float()
        scaled = (x.to(self.compute_dtype) - self.minimum) / self.scale
        return scaled.float()


class AnomalyScoreModule(nn.Module):
    """A fitted detector's anomaly score as one differentiable torch module.

    Takes a float tensor in the units and layout of the detector's ``fit`` input
    (flat rows ``(n, n_features)``, or images ``(n, C, H, W)`` / ``(n, H, W)``),
    applies the fitted scaling, shapes the batch for the network and returns the
    method's per-sample anomaly score (larger = more anomalous; minus
    ``score_samples``). Gradients flow to the input. Built by
    :meth:`~skanomaly.base.BaseDeepDetector.anomaly_score_module`; it shares the
    detector's network weights.

    Parameters
    ----------
    scorer : nn.Module
        The method's score of net-ready batches.
    scaling : InputScaling
        The fitted input scaling.
    input_shape : sequence of int
        Shape of one sample: ``(C, H, W)`` or ``(n_features,)``.
    image_input : bool
        Whether the scorer takes ``(n, C, H, W)`` batches (else flat rows).
    """

    def __init__(
        self,
        scorer: nn.Module,
        scaling: InputScaling,
        input_shape: Sequence[int],
        image_input: bool,
    ) -> None:
        super().__init__()
        self.scorer = scorer
        self.scaling = scaling
        self.input_shape = tuple(int(s) for s in input_shape)
        self.image_input = bool(image_input)
        self.n_features = 1
        for size in self.input_shape:
            self.n_features *= size
        # the anomaly-score threshold of ``predict`` (minus the detector's
        # ``offset_``); the detector sets it
        self.register_buffer(
            "threshold", torch.tensor(float("nan"), dtype=torch.float64)
        )

    def _flat(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError(
                "the anomaly score module takes a float torch.Tensor; got "
                f"{type(x).__name__}"
                + (f" of dtype {x.dtype}" if isinstance(x, Tensor) else "")
                + "."
            )
        shape = tuple(x.shape[1:])
        accepted = {(self.n_features,), self.input_shape}
        if len(self.input_shape) == 3 and self.input_shape[0] == 1:
            accepted.add(self.input_shape[1:])
        if x.dim() < 2 or shape not in accepted:
            raise ValueError(
                f"expected samples of shape {self.input_shape} or "
                f"({self.n_features},) (flat rows); got a tensor of shape "
                f"{tuple(x.shape)}."
            )
        return x.reshape(x.shape[0], self.n_features)

    def net_input(self, x: Tensor) -> Tensor:
        """Raw samples scaled and shaped as the network takes them."""
        flat = self.scaling(self._flat(x))
        if self.image_input:
            return flat.reshape(flat.shape[0], *self.input_shape)
        return flat

    def score_net_input(self, x: Tensor) -> Tensor:
        """The anomaly score of a batch already scaled and shaped for the
        network (what the detector's ``score_samples`` runs)."""
        return self.scorer(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.scorer(self.net_input(x))

    def is_outlier(self, x: Tensor) -> Tensor:
        """Whether each sample's anomaly score exceeds ``threshold`` (the
        detector's ``predict(x) == -1``)."""
        return self(x) > self.threshold
