"""Pure torch networks (no scikit-learn, no numpy)."""

from skanomaly.nets.discriminator import DCGANDiscriminator
from skanomaly.nets.mlp import MLPAutoencoder
from skanomaly.nets.unet import UNet

__all__ = ["DCGANDiscriminator", "MLPAutoencoder", "UNet"]
