"""Per-sample training losses (pure torch); callers reduce them."""

from skanomaly.losses._arae import arae_loss
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
from skanomaly.losses._lis import latent_shaping_loss, reconstruction_norm
from skanomaly.losses._reconstruction import (
    charbonnier_mean,
    squared_error_mean,
    squared_error_sum,
)

__all__ = [
    "arae_loss",
    "charbonnier_mean",
    "covariance_loss",
    "gmm_covariance",
    "gmm_log_likelihood",
    "gmm_loss_weights",
    "gmm_marginal_cdf",
    "gmm_means",
    "ks_loss",
    "latent_shaping_loss",
    "paired_ks_loss",
    "reconstruction_norm",
    "sample_coupled_gmm",
    "sample_gmm",
    "squared_error_mean",
    "squared_error_sum",
]
