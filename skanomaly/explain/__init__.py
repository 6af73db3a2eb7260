"""Which features (or pixels) made a sample anomalous.

- :func:`reconstruction_contributions`: the squared reconstruction error of
  each feature, in the detector's fitted [0, 1] scale; for detectors scored by
  the reconstruction error the contributions of a sample sum to its anomaly
  score;
- :func:`gradient_contributions`: gradient times input through the fitted
  anomaly score (:meth:`~skanomaly.base.BaseDeepDetector.anomaly_score_module`),
  for every detector and every score;
- :func:`explain_samples`: either of them by name; fitted detectors call it
  from :meth:`~skanomaly.base.BaseDeepDetector.explain`.

Tabular detectors get ``(n_samples, n_features)`` arrays, image detectors
``(n_samples, C, H, W)``; :func:`skanomaly.plotting.plot_explanations` draws
the maps of images. See "Explaining anomalies" in the user guide.
"""

from skanomaly.explain._contributions import (
    explain_samples,
    gradient_contributions,
    reconstruction_contributions,
)

__all__ = [
    "explain_samples",
    "gradient_contributions",
    "reconstruction_contributions",
]
