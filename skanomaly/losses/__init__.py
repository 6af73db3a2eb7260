"""Per-sample losses and anomaly scores (pure torch); callers reduce them."""

from skanomaly.losses._reconstruction import squared_error_mean, squared_error_sum

__all__ = ["squared_error_mean", "squared_error_sum"]
