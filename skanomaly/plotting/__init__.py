"""Pictures of what a detector sees: reconstructions, occlusion saliency,
explanations of anomalies and the AUC under attack.

matplotlib is an optional dependency (``pip install skanomaly[plot]``); it is
imported only when a figure is drawn. :func:`occlusion_saliency` itself needs
only numpy.
"""

from skanomaly.plotting._explanations import plot_explanations
from skanomaly.plotting._reconstructions import plot_reconstructions
from skanomaly.plotting._robustness import plot_auc_under_attack
from skanomaly.plotting._saliency import occlusion_saliency, plot_saliency_maps

__all__ = [
    "occlusion_saliency",
    "plot_auc_under_attack",
    "plot_explanations",
    "plot_reconstructions",
    "plot_saliency_maps",
]
