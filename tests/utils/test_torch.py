"""skanomaly.utils._torch: seeding, devices and denormals."""

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


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
