"""skanomaly.utils._validation: image shapes and the [0, 1] scaling."""

import numpy as np
import pytest

from skanomaly.utils._validation import (
    UnitIntervalScaler,
    check_input_shape,
    split_spatial_input,
)


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


def test_scaler_transform_in_blocks_and_in_place():
    """Blocks of rows give the one-shot float64 result rounded once; ``out=X``
    scales a float32 array in place; without ``out`` the input is untouched."""
    from skanomaly.utils._validation import _SCALE_BLOCK_ROWS

    rng = np.random.RandomState(0)
    X = (rng.standard_normal((2 * _SCALE_BLOCK_ROWS + 5, 3)) * 7).astype(np.float32)
    scaler = UnitIntervalScaler("feature").fit(X)
    expected = ((X.astype(np.float64) - scaler.min_) / scaler.scale_).astype(np.float32)
    before = X.copy()
    scaled = scaler.transform(X)
    np.testing.assert_array_equal(scaled, expected)
    np.testing.assert_array_equal(X, before)
    assert scaler.transform(X, out=X) is X
    np.testing.assert_array_equal(X, expected)
