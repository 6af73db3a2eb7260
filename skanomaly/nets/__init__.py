"""Pure torch networks (no scikit-learn, no numpy)."""

from skanomaly.nets.mlp import MLPAutoencoder

__all__ = ["MLPAutoencoder"]
