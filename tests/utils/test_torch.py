"""skanomaly.utils._torch: seeding, devices, denormals and threads."""

import threading

import numpy as np
import pytest
import torch

from skanomaly.utils import torch_threads
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


def test_seed_context_is_reproducible_in_concurrent_threads():
    # torch's generator is global to the process: without the lock, two
    # threads would draw from each other's seed and restore each other's state
    before = torch.random.get_rng_state()

    def draws(seed):
        with seed_context(seed):
            return torch.cat([torch.rand(100) for _ in range(50)])

    expected = {seed: draws(seed) for seed in range(4)}
    results = {}
    start = threading.Barrier(4)

    def run(seed):
        start.wait()
        results[seed] = draws(seed)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in range(4):
        assert torch.equal(results[seed], expected[seed])
    assert torch.equal(torch.random.get_rng_state(), before)


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with torch_threads(2):
        assert torch.get_num_threads() == 2
        with torch_threads(np.int64(1)):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before


def test_torch_threads_restores_after_an_exception():
    before = torch.get_num_threads()
    inside = []

    def fail():
        with torch_threads(before + 1):
            inside.append(torch.get_num_threads())
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        fail()
    assert inside == [before + 1]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", None, True])
def test_torch_threads_rejects_bad_counts(bad):
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match=r"n_threads must be an integer >= 1"):
        with torch_threads(bad):
            pass  # pragma: no cover
    assert torch.get_num_threads() == before


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
