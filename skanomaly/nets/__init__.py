"""Pure torch networks and score modules (no scikit-learn, no numpy)."""

from skanomaly.nets.discriminator import DCGANDiscriminator
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
    "ConvLISAutoencoder",
    "DCGANDiscriminator",
    "InputScaling",
    "MLPAutoencoder",
    "MLPLISAutoencoder",
    "PaddedNet",
    "PuzzleErrorScore",
    "ReconstructionErrorScore",
    "UNet",
]
