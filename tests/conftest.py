import numpy as np
import pytest
import torch

# The networks of the test suite are tiny: a second intra-op thread costs more in
# synchronisation than it gains, and where the CPUs are shared the spinning
# thread pools of concurrent runs slow each other down a hundredfold. Set at
# import, so that the doctests of skanomaly/ run with one thread too.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _guard_global_random_state(request):
    """Every test must leave torch's and numpy's global random state untouched.

    Tests marked ``foreign_rng`` run third-party code (scikit-learn's checks,
    PyOD) that draws from numpy's global generator itself.
    """
    if request.node.get_closest_marker("foreign_rng"):
        yield
        return
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the legacy global is the point)
    yield
    assert torch.equal(torch.random.get_rng_state(), torch_state), (
        "the test changed torch's global random state"
    )
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]), (
        "the test changed numpy's global random state"
    )


@pytest.fixture(scope="session")
def digits_one_class():
    """scikit-learn digits in [0, 1]: train on 0s, test on everything."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    normal = y == 0
    train_idx = np.flatnonzero(normal)[: int(normal.sum() * 0.7)]
    test_mask = np.ones(len(X), dtype=bool)
    test_mask[train_idx] = False
    return X[train_idx], X[test_mask], (y[test_mask] != 0).astype(int)
