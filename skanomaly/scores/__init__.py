"""Anomaly scores as torch modules (pure torch), and the fitted scoring module.

Each detector's score is one of these modules, larger = more anomalous; at
the end of ``fit`` the detector wraps it with its input scaling and threshold
in an :class:`AnomalyScoreModule`, the object ``score_samples``,
``anomaly_score_module()``, :func:`skanomaly.save` and ONNX export use.
"""

from skanomaly.scores._connective import ConnectiveScore, connective
from skanomaly.scores._features import (
    FeatureDistanceScore,
    NAPScore,
    ScaledSumScore,
    whitened_distance,
)
from skanomaly.scores._gmm import GMMDAEScore
from skanomaly.scores._module import AnomalyScoreModule, InputScaling
from skanomaly.scores._neighbours import (
    LatentNeighbourScore,
    kth_neighbour_distance,
)
from skanomaly.scores._puzzle import PuzzleErrorScore
from skanomaly.scores._reconstruction import LISAEScore, ReconstructionErrorScore

__all__ = [
    "AnomalyScoreModule",
    "ConnectiveScore",
    "FeatureDistanceScore",
    "GMMDAEScore",
    "InputScaling",
    "LatentNeighbourScore",
    "LISAEScore",
    "NAPScore",
    "PuzzleErrorScore",
    "ReconstructionErrorScore",
    "ScaledSumScore",
    "connective",
    "kth_neighbour_distance",
    "whitened_distance",
]
