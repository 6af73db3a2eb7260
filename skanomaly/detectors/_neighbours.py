"""The latent-neighbour term of ``anomaly_score="...+knn"`` (glue only).

The torch side (the k-th neighbour distance of a code) is
:class:`skanomaly.scores.LatentNeighbourScore`.
"""

from __future__ import annotations

import numpy as np
import torch

from skanomaly.scores import LatentNeighbourScore, ScaledSumScore

#: the neighbour whose distance is the latent-neighbour term (PyOD KNN's k)
LATENT_NEIGHBORS = 5

#: the suffix of the ``anomaly_score`` values that add the term
KNN_SUFFIX = "+knn"

#: at most this many training codes are kept (a seeded subset of larger
#: data): memory and scoring cost stay bounded however many rows trained
MAX_REFERENCE_CODES = 20_000


def term_scale(scores: np.ndarray) -> float:
    """The spread one term of a summed score is divided by: the median
    absolute deviation of its scores on normal rows (their standard deviation
    where more than half are tied, 1 where all are)."""
    scores = np.asarray(scores, dtype=np.float64)
    spread = float(np.median(np.abs(scores - np.median(scores))))
    if not spread > 0:
        spread = float(np.std(scores))
    return spread if spread > 0 else 1.0


class LatentNeighbourMixin:
    """``anomaly_score="<score>+knn"``: a method's score plus the distance of
    the latent code to the training codes.

    The sum weighs each term by its spread on the held-out calibration rows,
    so that neither unit dominates: ``score / scale + knn / scale_knn``,
    with ``knn`` the distance of ``encode(x)`` to its fifth nearest training
    code. ``net_.module_`` must have ``encode``. A detector mixes it in
    before :class:`~skanomaly.base.BaseDeepDetector`, takes an
    ``anomaly_score`` parameter and implements :meth:`_base_score`; the mixin
    resolves ``"auto"``, fits the term in ``_fit_score`` and builds the score.
    """

    #: the method's scores the term may be added to (``name + "+knn"``)
    _knn_base_scores: tuple[str, ...] = ("reconstruction",)

    def _base_score(self, name: str):
        """The method's own score module called ``name``."""
        raise NotImplementedError(
            f"{type(self).__name__} mixes in LatentNeighbourMixin and must "
            "implement _base_score(name)."
        )

    def _auto_base_score(self) -> str:
        """The method's score that ``anomaly_score="auto"`` adds the term to."""
        return "reconstruction"

    def _resolved_anomaly_score(self) -> str:
        """``anomaly_score`` with ``"auto"`` resolved: the method's score
        (:meth:`_auto_base_score`) plus the latent-neighbour term."""
        if self.anomaly_score != "auto":
            return self.anomaly_score
        return self._auto_base_score() + KNN_SUFFIX

    def _build_score_module(self):
        name = self._resolved_anomaly_score()
        if name.endswith(KNN_SUFFIX):
            base = name[: -len(KNN_SUFFIX)]
            return self._with_latent_neighbours(self._base_score(base), base)
        return self._base_score(name)

    def _fit_score(self, ctx) -> None:
        super()._fit_score(ctx)
        self._fit_latent_neighbours(ctx)

    def _fit_latent_neighbours(self, ctx) -> None:
        """Keep the training rows' codes (``latent_codes_``, at most
        :data:`MAX_REFERENCE_CODES`) and the scale of the latent-neighbour
        term and of each score of ``_knn_base_scores`` as ``score_scales_``,
        all measured in one pass.

        The scales are measured on the held-out calibration rows: on the
        training rows the network memorised, reconstruction errors are
        smaller and codes nearer than on new normal rows. With
        ``calibration="training"`` the training rows are all there is (each
        then skips itself as its nearest code).
        """
        module = self.net_.module_
        self.latent_codes_ = self._reference_codes(ctx)
        held_out = ctx.X_calibration is not None
        rows = ctx.X_calibration if held_out else ctx.X
        neighbours = LATENT_NEIGHBORS if held_out else LATENT_NEIGHBORS + 1
        terms = {
            "knn": LatentNeighbourScore(
                module, torch.as_tensor(self.latent_codes_), neighbours
            ).to(self.net_.device),
            **{name: self._base_score(name) for name in self._knn_base_scores},
        }
        scores = self._map_batches(
            rows,
            lambda batch: torch.stack(
                [score(batch).double() for score in terms.values()], dim=1
            ),
            np.float64,
        )
        self.score_scales_ = {
            name: term_scale(scores[:, column]) for column, name in enumerate(terms)
        }

    def _reference_codes(self, ctx) -> np.ndarray:
        """The codes of the training rows, float32: all of them, or a subset of
        :data:`MAX_REFERENCE_CODES` rows seeded by the fit's seed. One pass in
        batches; only the kept codes are held (streamed data stays
        streamed)."""
        n_rows = len(ctx.X)
        keep = np.ones(n_rows, dtype=bool)
        if n_rows > MAX_REFERENCE_CODES:
            chosen = np.random.RandomState(ctx.seed).choice(
                n_rows, MAX_REFERENCE_CODES, replace=False
            )
            keep[:] = False
            keep[chosen] = True
        module = self.net_.module_
        codes = []
        with self._evaluating():
            for rows, batch in self._batches(ctx.X):
                mask = keep[rows]
                if mask.any():
                    encoded = module.encode(batch[: len(mask)]).flatten(1)
                    codes.append(encoded[torch.as_tensor(mask)].cpu().numpy())
        return np.concatenate(codes).astype(np.float32, copy=False)

    def _with_latent_neighbours(self, score, name: str) -> ScaledSumScore:
        """``score`` (the term called ``name`` at fit) plus the latent-neighbour
        term, each divided by its scale."""
        neighbours = LatentNeighbourScore(
            self.net_.module_, torch.as_tensor(self.latent_codes_), LATENT_NEIGHBORS
        )
        scales = [self.score_scales_[name], self.score_scales_["knn"]]
        return ScaledSumScore([score, neighbours], scales).to(self.net_.device)
