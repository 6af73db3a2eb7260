"""skanomaly.training.settings_from: a net's settings from the estimator's parameters."""

from dataclasses import FrozenInstanceError, dataclass

import pytest

from skanomaly import ARAE, DenoisingAE
from skanomaly.detectors._arae import ARAESettings
from skanomaly.detectors._denoising import DenoisingSettings
from skanomaly.training import settings_from


@dataclass(frozen=True)
class Settings:
    noise_scale: float
    lr: float
    n_features: int


def test_fields_come_from_parameters_or_derived_values():
    det = DenoisingAE(noise_scale=0.3, lr=0.02)
    settings = settings_from(det, Settings, n_features=7)
    assert settings == Settings(noise_scale=0.3, lr=0.02, n_features=7)
    # a derived value wins over the parameter of the same name
    assert settings_from(det, Settings, lr=1.0, n_features=7).lr == 1.0
    with pytest.raises(FrozenInstanceError):
        settings.lr = 0.5


def test_unknown_fields_are_type_errors():
    det = DenoisingAE()
    with pytest.raises(TypeError, match=r"Settings.n_features is neither a parameter"):
        settings_from(det, Settings)
    with pytest.raises(TypeError, match=r"has no fields \['extra'\]"):
        settings_from(det, Settings, n_features=1, extra=2)


def test_every_detector_settings_class_matches_its_parameters():
    assert settings_from(DenoisingAE(noise_scale=0.2), DenoisingSettings) == (
        DenoisingSettings(noise_scale=0.2)
    )
    arae = ARAE(epsilon=0.1, gamma=0.3, attack="l2")
    derived = {
        "l2_epsilon": 0.5,
        "angles": (0.0,),
        "translations": (0.0,),
        "input_shape": None,
        "clip": (0.0, 1.0),
    }
    settings = settings_from(arae, ARAESettings, **derived)
    assert (settings.epsilon, settings.gamma, settings.attack) == (0.1, 0.3, "l2")
    assert settings.l2_epsilon == 0.5
