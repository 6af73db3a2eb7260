"""Per-sample losses and anomaly scores (pure torch); callers reduce them."""

from skanomaly.losses._gmm import (
    covariance_loss,
    gmm_covariance,
    gmm_log_likelihood,
    gmm_loss_weights,
    gmm_marginal_cdf,
    gmm_means,
    ks_loss,
    paired_ks_loss,
    sample_coupled_gmm,
    sample_gmm,
)
from skanomaly.losses._reconstruction import (
    charbonnier_mean,
    squared_error_mean,
    squared_error_sum,
)

__all__ = [
    "charbonnier_mean",
    "covariance_loss",
    "gmm_covariance",
    "gmm_log_likelihood",
    "gmm_loss_weights",
    "gmm_marginal_cdf",
    "gmm_means",
    "ks_loss",
    "paired_ks_loss",
    "sample_coupled_gmm",
    "sample_gmm",
    "squared_error_mean",
    "squared_error_sum",
]
