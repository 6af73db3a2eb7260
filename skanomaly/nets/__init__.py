"""Pure torch networks and score modules (no scikit-learn, no numpy)."""

from skanomaly.nets.crbnd import ConnectiveClassifier, ResidualAutoencoder
from skanomaly.nets.discriminator import DCGANDiscriminator
from skanomaly.nets.gmm_dae import ConvGMMAutoencoder, MLPGMMAutoencoder
from skanomaly.nets.gmm_prior import GMMPrior
from skanomaly.nets.lis import ConvLISAutoencoder, MLPLISAutoencoder
from skanomaly.nets.mlp import MLPAutoencoder
from skanomaly.nets.padded import PaddedNet
from skanomaly.nets.scores import (
    AnomalyScoreModule,
    InputScaling,
    PuzzleErrorScore,
    ReconstructionErrorScore,
)
from skanomaly.nets.unet import UNet

__all__ = [
    "AnomalyScoreModule",
    "ConnectiveClassifier",
    "ConvGMMAutoencoder",
    "ConvLISAutoencoder",
    "DCGANDiscriminator",
    "GMMPrior",
    "InputScaling",
    "MLPAutoencoder",
    "MLPGMMAutoencoder",
    "MLPLISAutoencoder",
    "PaddedNet",
    "PuzzleErrorScore",
    "ReconstructionErrorScore",
    "ResidualAutoencoder",
    "UNet",
]
