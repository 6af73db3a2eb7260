"""Sign-safe novelty metrics and scorers.

Every metric takes labels in which ``outlier_label`` (default 1) marks the
anomalies, and anomaly scores where higher = more anomalous (``-score_samples``
of a scikit-learn style detector; :func:`anomaly_score` does the sign for any
detector).
"""

from skanomaly.metrics._ranking import (
    best_f1,
    fpr_at_tpr,
    novelty_average_precision,
    novelty_roc_auc,
)
from skanomaly.metrics._scorer import (
    NoveltyScorer,
    anomaly_score,
    get_novelty_scorer,
    get_novelty_scorer_names,
    make_novelty_scorer,
)

__all__ = [
    "NoveltyScorer",
    "anomaly_score",
    "best_f1",
    "fpr_at_tpr",
    "get_novelty_scorer",
    "get_novelty_scorer_names",
    "make_novelty_scorer",
    "novelty_average_precision",
    "novelty_roc_auc",
]
