"""Reconstruction along the encoder's projection pathway (RaPP, NAP).

Kim et al. (ICLR 2020), "RaPP: Novelty Detection with Reconstruction along
Projection Pathway": the reconstruction ``rec(x)`` is fed through the encoder
again, and the activations of ``x`` and of ``rec(x)`` are compared layer by
layer, the input layer included. NAP (normalised aggregation along the
pathway) whitens each layer's differences with the mean and covariance of the
training data's differences, so the score is a sum of per-layer Mahalanobis
distances. The input layer's term alone is a whitened reconstruction error.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

#: layers wider than this are whitened per feature (a diagonal covariance),
#: so the statistics stay small: a full covariance of 12,288 features
#: (64x64 colour images) would take 1.2 GB
MAX_FULL_COVARIANCE_FEATURES = 4096
#: principal directions with less variance than this times the largest are
#: dropped (RaPP's truncated SVD keeps singular values above 1e-6 of the largest)
RELATIVE_EIGENVALUE_FLOOR = 1e-12


def pathway_activations(autoencoder: nn.Module, x: Tensor) -> list[Tensor]:
    """``x`` flattened and the output of every activation of the encoder.

    Parameters
    ----------
    autoencoder : nn.Module
        Has an ``encoder`` ``nn.Sequential`` of linear (or other) layers and
        activations; an activation is any layer without parameters.
    x : Tensor of shape (n_samples, ...)
        A batch.

    Returns
    -------
    activations : list of Tensor of shape (n_samples, n_features_l)
        The input layer first, the latent code last.
    """
    return _activations_and_code(autoencoder, x)[0]


def _activations_and_code(autoencoder: nn.Module, x: Tensor):
    """:func:`pathway_activations` and the encoder's output (the code)."""
    h = x.flatten(1)
    out = [h]
    for layer in autoencoder.encoder:
        h = layer(h)
        if next(layer.parameters(), None) is None:
            out.append(h)
    return out, h


def pathway_differences(autoencoder: nn.Module, x: Tensor) -> list[Tensor]:
    """``h_l(x) - h_l(rec(x))`` for every layer ``l`` of the pathway.

    Parameters
    ----------
    autoencoder : nn.Module
        An autoencoder as :func:`pathway_activations` takes; ``autoencoder(x)``
        is the reconstruction. When it has a ``decode`` method, its forward
        pass must be ``decode(encoder(x))`` (as
        :class:`~skanomaly.nets.MLPAutoencoder`'s): the reconstruction is
        then decoded from the code of the one encoder pass over ``x``.
    x : Tensor of shape (n_samples, ...)
        A batch.

    Returns
    -------
    differences : list of Tensor of shape (n_samples, n_features_l)

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPAutoencoder
    >>> from skanomaly.nets.pathway import pathway_differences
    >>> ae = MLPAutoencoder(6, (4, 2))
    >>> [d.shape[1] for d in pathway_differences(ae, torch.rand(3, 6))]
    [6, 4, 2]
    """
    activations, code = _activations_and_code(autoencoder, x)
    decode = getattr(autoencoder, "decode", None)
    # the encoder runs once on x: decode its code (an autoencoder whose
    # forward is decode(encode(x)), as MLPAutoencoder's), else the forward pass
    reconstruction = autoencoder(x) if decode is None else decode(code)
    return [
        a - b
        for a, b in zip(
            activations,
            pathway_activations(autoencoder, reconstruction),
            strict=True,
        )
    ]


class PathwayMoments:
    """Streaming mean and covariance of each layer's pathway differences.

    Batches are merged exactly (Chan et al.'s pairwise update) in float64,
    so the statistics do not depend on how the data is batched beyond
    rounding. Layers wider than :data:`MAX_FULL_COVARIANCE_FEATURES` keep
    per-feature variances only.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets.pathway import PathwayMoments
    >>> moments = PathwayMoments()
    >>> moments.update([torch.rand(10, 3)])
    >>> moments.update([torch.rand(5, 3)])
    >>> moments.count
    15
    >>> [p.shape for _, p in moments.whitening()]
    [torch.Size([3, 3])]
    """

    def __init__(self) -> None:
        self.count = 0
        self.means: list[Tensor] = []
        self.scatters: list[Tensor] = []

    def update(self, differences: Sequence[Tensor]) -> None:
        """Add one batch: a list of ``(n, n_features_l)`` tensors, one per layer."""
        n = differences[0].shape[0]
        if n == 0:
            return
        total = self.count + n
        for index, d in enumerate(differences):
            d = d.detach().double()
            mean = d.mean(dim=0)
            centred = d - mean
            full = d.shape[1] <= MAX_FULL_COVARIANCE_FEATURES
            scatter = centred.T @ centred if full else (centred**2).sum(dim=0)
            if self.count == 0:
                self.means.append(mean)
                self.scatters.append(scatter)
                continue
            delta = mean - self.means[index]
            outer = torch.outer(delta, delta) if full else delta**2
            correction = outer * (self.count * n / total)
            self.scatters[index] = self.scatters[index] + scatter + correction
            self.means[index] = self.means[index] + delta * (n / total)
        self.count = total

    def whitening(
        self,
        shrinkage: str | None = "oas",
        relative_floor: float = RELATIVE_EIGENVALUE_FLOOR,
    ) -> list[tuple[Tensor, Tensor]]:
        """``(mean, projection)`` per layer: ``||(d - mean) @ projection||^2``
        is the Mahalanobis distance of a layer's difference ``d``.

        Parameters
        ----------
        shrinkage : {"oas", None}, default="oas"
            ``"oas"``: the covariance shrunk towards a multiple of the identity
            with the oracle approximating shrinkage (Chen et al., 2010, the
            formula of scikit-learn's ``oas``), every direction kept. None:
            RaPP's own form, the pseudo-inverse keeping the principal
            directions whose variance exceeds ``relative_floor`` times the
            largest (as RaPP's truncated SVD). The truncated form
            weighs directions of almost no training variance by up to a
            million, so small perturbations overturn it; the shrunk form is
            as accurate and far more robust under attack (the measurements
            are on the benchmarks page of the documentation).
        relative_floor : float, default=RELATIVE_EIGENVALUE_FLOOR (1e-12)
            Variance, relative to the largest, below which a direction (or a
            feature of a layer wider than :data:`MAX_FULL_COVARIANCE_FEATURES`)
            is dropped.

        Returns
        -------
        whitening : list of (Tensor, Tensor)
            Per layer, the mean difference and the projection: a matrix
            ``(n_features_l, n_kept)``, or for layers wider than
            :data:`MAX_FULL_COVARIANCE_FEATURES` a vector of per-feature
            inverse deviations (zero for features without variance). A layer
            without variance (every difference equal) gets the identity.
        """
        if self.count == 0:
            raise ValueError("PathwayMoments has seen no rows.")
        if shrinkage not in (None, "oas"):
            raise ValueError(f"shrinkage must be None or 'oas'; got {shrinkage!r}")
        out = []
        for mean, scatter in zip(self.means, self.scatters, strict=True):
            covariance = scatter / self.count
            if covariance.ndim == 1:
                # as the truncation below: features without variance are dropped
                floor = covariance.max() * relative_floor
                keep = covariance > floor
                safe = torch.where(keep, covariance, torch.ones_like(covariance))
                out.append((mean, torch.where(keep, safe.rsqrt(), 0.0)))
                continue
            if shrinkage == "oas":
                covariance = _oas(covariance, self.count)
            values, vectors = torch.linalg.eigh(covariance)
            if values[-1] <= 0:
                eye = torch.eye(len(values), dtype=values.dtype, device=values.device)
                out.append((mean, eye))
                continue
            keep = values > values[-1] * relative_floor
            out.append((mean, vectors[:, keep] * values[keep].rsqrt()))
        return out


def _oas(covariance: Tensor, n_samples: int) -> Tensor:
    """The OAS-shrunk covariance (the formula of scikit-learn's ``oas``)."""
    p = covariance.shape[0]
    mu = torch.trace(covariance) / p
    if mu <= 0:
        return torch.eye(p, dtype=covariance.dtype, device=covariance.device)
    alpha = (covariance**2).mean()
    numerator = alpha + mu**2
    denominator = (n_samples + 1) * (alpha - mu**2 / p)
    shrinkage = 1.0 if denominator <= 0 else min(float(numerator / denominator), 1.0)
    shrunk = (1.0 - shrinkage) * covariance
    shrunk.diagonal().add_(shrinkage * mu)
    return shrunk
