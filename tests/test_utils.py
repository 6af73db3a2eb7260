"""Seeding, device, denormal and input-shape helpers."""

import numpy as np
import pytest
import torch

from skanomaly.utils._torch import (
    _flushes_denormals,
    derive_seed,
    flush_denormal_context,
    resolve_device,
    seed_context,
)
from skanomaly.utils._validation import (
    UnitIntervalScaler,
    check_input_shape,
    split_spatial_input,
)


def test_seed_context_is_reproducible_and_restores_global_state():
    before = torch.random.get_rng_state()
    with seed_context(5):
        a = torch.rand(3)
    with seed_context(5):
        b = torch.rand(3)
    assert torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_derive_seed():
    assert derive_seed(3) == derive_seed(3)
    rng = np.random.RandomState(0)
    assert derive_seed(rng) != derive_seed(rng)
    assert 0 <= derive_seed(None) < 2**31


def test_flush_denormal_context_restores_setting():
    assert not _flushes_denormals()
    with flush_denormal_context():
        assert _flushes_denormals()
    assert not _flushes_denormals()
    torch.set_flush_denormal(True)
    try:
        with flush_denormal_context():
            assert _flushes_denormals()
        assert _flushes_denormals()
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize("bad", ["gpu7", "not a device", 3.5])
def test_resolve_device_rejects_unknown(bad):
    with pytest.raises(ValueError, match="device"):
        resolve_device(bad)


def test_split_spatial_input():
    X = np.zeros((4, 2, 3))
    flat, shape = split_spatial_input(X)
    assert flat.shape == (4, 6) and shape == (1, 2, 3)
    flat, shape = split_spatial_input(np.zeros((4, 3, 2, 2)))
    assert flat.shape == (4, 12) and shape == (3, 2, 2)
    same, shape = split_spatial_input(np.zeros((4, 5)))
    assert same.shape == (4, 5) and shape is None


def test_check_input_shape():
    assert check_input_shape(None, 7) == (7,)
    assert check_input_shape((2, 3), 6) == (1, 2, 3)
    assert check_input_shape([3, 2, 2], 12) == (3, 2, 2)
    with pytest.raises(ValueError, match="holds 9 values"):
        check_input_shape((1, 3, 3), 8)
    with pytest.raises(ValueError, match="works on images"):
        check_input_shape(None, 8, requires_image=True, name="PuzzleAE")
    with pytest.raises(ValueError, match="positive ints"):
        check_input_shape((0, 8), 0)


@pytest.mark.parametrize("mode", ["feature", "global"])
def test_scaler_maps_training_range_to_unit_interval(mode):
    rng = np.random.RandomState(0)
    X = rng.normal(50, 10, size=(30, 4)).astype(np.float32)
    scaler = UnitIntervalScaler(mode).fit(X)
    Z = scaler.transform(X)
    assert Z.min() >= -1e-6 and Z.max() <= 1 + 1e-6
    assert np.isclose(Z.min(), 0, atol=1e-6) and np.isclose(Z.max(), 1, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-5)
    assert scaler.transform(X + 1000).min() > 1  # never clipped


def test_scaler_auto_and_constant_features():
    X = np.array([[0.2, 5.0], [0.4, 5.0]], dtype=np.float32)
    scaler = UnitIntervalScaler("auto").fit(X)
    assert scaler.mode_ == "feature"
    np.testing.assert_allclose(scaler.transform(X)[:, 1], 0.0)
    unit = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)
    assert UnitIntervalScaler("auto").fit(unit).transform(unit) is unit
