"""Pure torch networks (no scikit-learn, no numpy); their scores are in
:mod:`skanomaly.scores`."""

from skanomaly.nets.crbnd import ConnectiveClassifier, ResidualAutoencoder
from skanomaly.nets.discriminator import DCGANDiscriminator
from skanomaly.nets.gmm_dae import ConvGMMAutoencoder, MLPGMMAutoencoder
from skanomaly.nets.gmm_prior import GMMPrior
from skanomaly.nets.lis import ConvLISAutoencoder, MLPLISAutoencoder
from skanomaly.nets.mlp import MLPAutoencoder
from skanomaly.nets.padded import PaddedNet
from skanomaly.nets.unet import UNet

__all__ = [
    "ConnectiveClassifier",
    "ConvGMMAutoencoder",
    "ConvLISAutoencoder",
    "DCGANDiscriminator",
    "GMMPrior",
    "MLPAutoencoder",
    "MLPGMMAutoencoder",
    "MLPLISAutoencoder",
    "PaddedNet",
    "ResidualAutoencoder",
    "UNet",
]
