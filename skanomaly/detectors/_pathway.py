"""The ``anomaly_score`` choice of the MLP autoencoder detectors (glue only).

The torch side (the pathway differences, their moments and the NAP score) is
in :mod:`skanomaly.nets.pathway`.
"""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from skanomaly.detectors._neighbours import KNN_SUFFIX, LatentNeighbourMixin
from skanomaly.nets.pathway import PathwayMoments, pathway_differences
from skanomaly.scores import NAPScore, ReconstructionErrorScore

#: the values of ``anomaly_score``
PATHWAY_SCORES = (
    "auto",
    "nap",
    "reconstruction",
    "nap" + KNN_SUFFIX,
    "reconstruction" + KNN_SUFFIX,
)


def fit_whitening(detector, X_net, layers):
    """One pass over ``X_net``: the whitening of ``layers(batch)``.

    ``layers`` maps a batch to a list of ``(n, n_features_l)`` tensors; their
    moments are merged batch by batch (:class:`PathwayMoments`, streamed data
    stays streamed), with every module of ``detector`` in eval mode and no
    gradients. Returns :meth:`PathwayMoments.whitening`.
    """
    moments = PathwayMoments()
    with detector._evaluating():
        for rows, batch in detector._batches(X_net):
            moments.update(layers(batch[: rows.stop - rows.start]))
    return moments.whitening()


class PathwayScoreMixin(LatentNeighbourMixin):
    """``anomaly_score`` for detectors whose ``net_.module_`` is an MLP autoencoder.

    A detector mixes it in before :class:`~skanomaly.base.BaseDeepDetector`,
    adds ``_pathway_constraints`` to its ``_parameter_constraints`` and
    ``{{pathway_score}}`` to its docstring, and takes an ``anomaly_score``
    parameter. After the detector's own stages, the mixin fits the pathway
    statistics in one pass over the training data and the latent-neighbour
    term (:class:`~skanomaly.detectors._neighbours.LatentNeighbourMixin`),
    whatever the score, so that one fit gives every score; its
    ``_build_score_module`` gives the score ``anomaly_score`` names.
    """

    _pathway_constraints = {"anomaly_score": [StrOptions(set(PATHWAY_SCORES))]}

    _knn_base_scores = ("nap", "reconstruction")

    def _fit_score(self, ctx) -> None:
        # NAP's whitening first: the latent-neighbour term scales NAP too
        self._fit_pathway_whitening(ctx)
        super()._fit_score(ctx)

    def _fit_pathway_whitening(self, ctx) -> None:
        """One pass over the training data: the moments of the pathway
        differences, as ``pathway_whitening_`` (``(mean, projection)`` per
        layer)."""
        module = self.net_.module_
        whitening = fit_whitening(
            self, ctx.X, lambda batch: pathway_differences(module, batch)
        )
        self.pathway_whitening_ = [
            (mean.cpu(), projection.cpu()) for mean, projection in whitening
        ]

    def _auto_base_score(self) -> str:
        """NAP when the first hidden layer is narrower than the input, the
        reconstruction error otherwise."""
        module = self.net_.module_
        first_hidden = module.encoder[0].out_features
        return "nap" if module.in_features > first_hidden else "reconstruction"

    def _base_score(self, name: str):
        module = self.net_.module_
        if name == "reconstruction":
            return ReconstructionErrorScore(module)
        return NAPScore(module, self.pathway_whitening_).to(self.net_.device)
