"""Calibrated decisions: split-conformal thresholds, p-values and FDR control.

Every skanomaly detector holds out part of its training rows
(``calibration``), scores them after training and keeps their scores
(``calibration_scores_``); its ``offset_`` is :func:`conformal_threshold` of
them and its ``conformal_pvalues`` uses :func:`conformal_pvalues`. The
functions work on the normality scores of any detector (higher = more
normal). Read more in the user guide, "Thresholds and decisions".
"""

from skanomaly.calibration._conformal import (
    calibration_split,
    conformal_pvalues,
    conformal_threshold,
    min_calibration_rows,
    seeded_split,
    select_anomalies,
)

__all__ = [
    "calibration_split",
    "conformal_pvalues",
    "conformal_threshold",
    "min_calibration_rows",
    "seeded_split",
    "select_anomalies",
]
