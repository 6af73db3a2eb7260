"""Anomaly scores as torch modules: differentiable, batched, larger = more anomalous."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skanomaly.augment.functional import permute_tiles
from skanomaly.losses import squared_error_sum
from skanomaly.nets.pathway import whitened_distance


class ReconstructionErrorScore(nn.Module):
    """Sum of squared reconstruction errors per sample (the ARAE paper's score).

    Parameters
    ----------
    autoencoder : nn.Module
        Maps a batch to its reconstruction of the same shape.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPAutoencoder
    >>> from skanomaly.nets.scores import ReconstructionErrorScore
    >>> score = ReconstructionErrorScore(MLPAutoencoder(4, (3, 2)))
    >>> score(torch.rand(5, 4)).shape
    torch.Size([5])
    """

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: Tensor) -> Tensor:
        return squared_error_sum(self.autoencoder(x), x)


class PuzzleErrorScore(nn.Module):
    """Puzzle-AE's score: normalised errors of every puzzle, aggregated.

    For each permutation ``P_i`` of the set, ``S_i = mean((U(P_i x) - x)**2)``
    over pixels and channels; ``S_i / c_i`` with the held-out normalisers
    ``c_i``; then the maximum, mean or minimum over ``i``. Computed in float64.

    Parameters
    ----------
    solver : nn.Module
        The puzzle solver; takes and returns images of the input's shape (a
        :class:`~skanomaly.nets.PaddedNet` that pads to the tile grid).
    permutations : Tensor of shape (K, grid * grid)
        Output tile ``j`` is input tile ``perm[j]``.
    normalisers : Tensor of shape (K,)
        ``c_i``; ones for no normalisation.
    aggregation : {"max", "mean", "min"}, default="max"
        How the K normalised errors are combined.
    max_images_per_pass : int, default=2048
        Upper bound on the puzzled images in one forward pass of the solver.
        On CPU, a pass whose activations fit in the caches (a few dozen
        28 x 28 images) is fastest; accelerators prefer large passes.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.augment import puzzle_permutations
    >>> from skanomaly.nets import PaddedNet, UNet
    >>> from skanomaly.nets.scores import PuzzleErrorScore
    >>> perms = puzzle_permutations(2, "all")
    >>> solver = PaddedNet(UNet(1, base_width=2), multiple=2, min_size=16)
    >>> score = PuzzleErrorScore(solver, perms, torch.ones(len(perms)))
    >>> score(torch.rand(3, 1, 8, 8)).shape
    torch.Size([3])
    """

    def __init__(
        self,
        solver: nn.Module,
        permutations: Tensor,
        normalisers: Tensor,
        aggregation: str = "max",
        max_images_per_pass: int = 2048,
    ) -> None:
        super().__init__()
        if aggregation not in ("max", "mean", "min"):
            raise ValueError(
                f"aggregation must be 'max', 'mean' or 'min'; got {aggregation!r}."
            )
        self.solver = solver
        self.register_buffer("permutations", torch.as_tensor(permutations).long())
        self.register_buffer(
            "normalisers", torch.as_tensor(normalisers, dtype=torch.float64)
        )
        self.grid = int(round(self.permutations.shape[1] ** 0.5))
        self.aggregation = aggregation
        self.max_images_per_pass = int(max_images_per_pass)

    def permutation_errors(self, x: Tensor) -> Tensor:
        """``(n, K)`` mean squared errors of every permutation, unnormalised.

        Every puzzle of the batch is cut in one gather; the solver then runs on
        consecutive slices of at most ``max_images_per_pass`` of those ``K * n``
        puzzles.
        """
        n = x.shape[0]
        solver = self.solver
        height, width = x.shape[-2:]
        # (K * n, C, H', W'), permutation by permutation
        puzzled = permute_tiles(solver.pad(x), self.permutations, self.grid)
        targets = x.reshape(n, -1)
        rows = torch.arange(len(puzzled), device=x.device) % max(n, 1)
        per_pass = max(1, self.max_images_per_pass)
        errors = []
        for start in range(0, len(puzzled), per_pass):
            chunk = slice(start, start + per_pass)
            output = solver.crop(solver.net(puzzled[chunk]), height, width)
            diff = output.reshape(output.shape[0], -1) - targets[rows[chunk]]
            errors.append(diff.pow(2).mean(dim=1))
        if not errors:
            return x.new_empty(n, len(self.permutations))
        return torch.cat(errors).reshape(len(self.permutations), n).T

    def aggregate(self, errors: Tensor) -> Tensor:
        """The score of ``(n, K)`` unnormalised errors: normalised, aggregated."""
        normalised = errors.double() / self.normalisers
        if self.aggregation == "max":
            return normalised.max(dim=1).values
        if self.aggregation == "min":
            return normalised.min(dim=1).values
        return normalised.mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.aggregate(self.permutation_errors(x))


class FeatureDistanceScore(nn.Module):
    """Mahalanobis distance of a network's pooled features to the training data.

    ``score(x) = ||(f(x) - mean) @ projection||^2`` with ``f`` the network's
    ``pooled_features`` and ``(mean, projection)`` from
    :meth:`~skanomaly.nets.pathway.PathwayMoments.whitening` of the training
    images' features. Larger = more anomalous. Computed in float64.

    Parameters
    ----------
    network : nn.Module
        Has a ``pooled_features(x)`` method returning ``(n, n_features)``, such
        as :class:`~skanomaly.nets.UNet` or :class:`~skanomaly.nets.PaddedNet`.
    mean : Tensor of shape (n_features,)
        Mean feature vector of the training data.
    projection : Tensor of shape (n_features, n_kept) or (n_features,)
        Whitening matrix, or per-feature inverse deviations.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import UNet
    >>> from skanomaly.nets.pathway import PathwayMoments
    >>> from skanomaly.nets.scores import FeatureDistanceScore
    >>> net = UNet(1, base_width=2)
    >>> moments = PathwayMoments()
    >>> moments.update([net.pooled_features(torch.rand(30, 1, 16, 16))])
    >>> [(mean, projection)] = moments.whitening()
    >>> FeatureDistanceScore(net, mean, projection)(torch.rand(3, 1, 16, 16)).shape
    torch.Size([3])
    """

    def __init__(self, network: nn.Module, mean: Tensor, projection: Tensor) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.as_tensor(mean).double())
        self.register_buffer("projection", torch.as_tensor(projection).double())

    def forward(self, x: Tensor) -> Tensor:
        features = self.network.pooled_features(x)
        return whitened_distance(features, self.mean, self.projection)


class ScaledSumScore(nn.Module):
    """Sum of several scores, each divided by its own scale.

    ``score(x) = sum_j s_j(x) / scale_j``: scores of different units (a pixel
    error and a feature distance, say) weigh equally once each is expressed
    in its spread over held-out normal data. (Centring each term as well would
    only shift the sum by a constant.) Computed in float64.

    Parameters
    ----------
    scores : sequence of nn.Module
        Per-sample scores, larger = more anomalous.
    scales : array-like of shape (len(scores),)
        Positive spread of each score, e.g. its median absolute deviation on
        held-out normal samples.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skanomaly.nets.scores import ScaledSumScore
    >>> class Norm(nn.Module):
    ...     def forward(self, x):
    ...         return x.pow(2).sum(dim=1)
    >>> score = ScaledSumScore([Norm(), Norm()], [2.0, 1.0])
    >>> score(torch.ones(2, 3))
    tensor([4.5000, 4.5000], dtype=torch.float64)
    """

    def __init__(self, scores: Sequence[nn.Module], scales) -> None:
        super().__init__()
        self.scores = nn.ModuleList(scores)
        scales = torch.as_tensor(scales, dtype=torch.float64)
        if scales.shape != (len(self.scores),):
            raise ValueError(
                f"scales needs one value per score ({len(self.scores)}); "
                f"got shape {tuple(scales.shape)}."
            )
        if not bool((scales > 0).all()):
            raise ValueError(f"scales must be positive; got {scales.tolist()}.")
        self.register_buffer("scales", scales)

    def forward(self, x: Tensor) -> Tensor:
        raw = torch.stack([score(x).double() for score in self.scores], dim=1)
        return (raw / self.scales).sum(dim=1)


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
