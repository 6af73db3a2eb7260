"""Robustness evaluations of fitted detectors under adversarial attack.

- :func:`latent_space_attack` and :func:`maximum_damage_attack`: the robust
  GMM-DAE paper's attacks on an autoencoder's code and reconstruction, under an
  L2 budget lambda (scipy L-BFGS-B as the authors, or PGD), with MS-SSIM and L2
  distances per sample;
- :func:`auc_under_attack`: the ROC AUC when normal test samples are pushed to
  look anomalous and anomalies to look normal, at each budget epsilon; for
  every skanomaly detector;
- :func:`ms_ssim`: multi-scale SSIM with pytorch-msssim, for 28 px images too.

All of them work in the detector's scaled space (see docs/robustness.md) and go
through ``anomaly_score_module()`` and the network's ``encode`` / ``decode``.
"""

from skanomaly.robustness._auc import AUCUnderAttack, auc_under_attack
from skanomaly.robustness._latent import (
    AttackResult,
    latent_space_attack,
    maximum_damage_attack,
)
from skanomaly.robustness._msssim import ms_ssim

__all__ = [
    "AUCUnderAttack",
    "AttackResult",
    "auc_under_attack",
    "latent_space_attack",
    "maximum_damage_attack",
    "ms_ssim",
]
