"""Whitened feature distances (NAP, Puzzle-AE's features) and the sum of scaled scores."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skanomaly.nets.pathway import pathway_differences


def whitened_distance(features: Tensor, mean: Tensor, projection: Tensor) -> Tensor:
    """``||(features - mean) @ projection||^2`` per row, summed in float64.

    ``(mean, projection)`` is one entry of
    ``skanomaly.nets.pathway.PathwayMoments.whitening``; a 1-D ``projection``
    holds per-feature inverse deviations (a diagonal whitening) and multiplies
    instead. The centring and the product run in the dtype of ``projection``
    (float32: the speed of float32 matrix kernels; float64: exact to float64
    rounding); the squares are summed in float64.

    Examples
    --------
    >>> import torch
    >>> whitened_distance(torch.tensor([[3.0, 4.0]]), torch.zeros(2), torch.eye(2))
    tensor([25.], dtype=torch.float64)
    """
    centred = features.to(projection.dtype) - mean.to(projection.dtype)
    whitened = centred * projection if projection.ndim == 1 else centred @ projection
    return whitened.double().pow(2).sum(dim=1)


class NAPScore(nn.Module):
    """RaPP's NAP score: whitened reconstruction differences along the pathway.

    ``score(x) = sum_l ||(d_l(x) - mean_l) @ projection_l||^2`` with
    ``d_l(x) = h_l(x) - h_l(rec(x))``, from
    ``skanomaly.nets.pathway.PathwayMoments`` fitted on the training
    data. Larger = more anomalous. The whitening products run in
    ``matmul_dtype`` and the sum in float64: float32 products (the default)
    keep the scores within float32 rounding of the float64 ones (a relative
    1e-5 or less) at the speed of float32 matrix kernels.

    Parameters
    ----------
    autoencoder : nn.Module
        The fitted autoencoder (see ``skanomaly.nets.pathway.pathway_activations``).
    whitening : sequence of (Tensor, Tensor)
        ``(mean, projection)`` per layer, from
        ``skanomaly.nets.pathway.PathwayMoments.whitening``.
    matmul_dtype : torch.dtype, default=torch.float32
        Precision of the centring and the whitening product (float64: exact,
        two to four times slower on a CPU).

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPAutoencoder
    >>> from skanomaly.nets.pathway import PathwayMoments, pathway_differences
    >>> from skanomaly.scores import NAPScore
    >>> ae = MLPAutoencoder(6, (4, 2))
    >>> moments = PathwayMoments()
    >>> moments.update(pathway_differences(ae, torch.rand(20, 6)))
    >>> NAPScore(ae, moments.whitening())(torch.rand(3, 6)).shape
    torch.Size([3])
    """

    def __init__(
        self,
        autoencoder: nn.Module,
        whitening: Sequence[tuple[Tensor, Tensor]],
        matmul_dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.n_layers = len(whitening)
        for index, (mean, projection) in enumerate(whitening):
            # the float64 statistics rounded once, not per batch
            mean = torch.as_tensor(mean).double().to(matmul_dtype)
            projection = torch.as_tensor(projection).double().to(matmul_dtype)
            self.register_buffer(f"mean_{index}", mean)
            self.register_buffer(f"projection_{index}", projection)

    def forward(self, x: Tensor) -> Tensor:
        differences = pathway_differences(self.autoencoder, x)
        total = None
        for index, d in enumerate(differences):
            term = whitened_distance(
                d,
                getattr(self, f"mean_{index}"),
                getattr(self, f"projection_{index}"),
            )
            total = term if total is None else total + term
        return total


class FeatureDistanceScore(nn.Module):
    """Mahalanobis distance of a network's pooled features to the training data.

    ``score(x) = ||(f(x) - mean) @ projection||^2`` with ``f`` the network's
    ``pooled_features`` and ``(mean, projection)`` from
    ``skanomaly.nets.pathway.PathwayMoments.whitening`` of the training
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
    >>> from skanomaly.scores import FeatureDistanceScore
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
    >>> from skanomaly.scores import ScaledSumScore
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
