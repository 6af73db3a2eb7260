"""skanomaly.training._batches: training batches read as tensors, drawn as a
shuffling DataLoader draws them."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from skanomaly.training import DetectorNet
from skanomaly.training._batches import ArrayRows

X = np.random.RandomState(0).uniform(size=(23, 5)).astype(np.float32)


def _reference_batches(dataset, batch_size, seed, epochs=2):
    """What skorch's dataset gives through a DataLoader with the net's sampler."""
    generator = torch.Generator().manual_seed(seed)
    sampler = BatchSampler(
        RandomSampler(dataset, generator=generator), batch_size, False
    )
    loader = DataLoader(dataset, sampler=sampler, batch_size=None, generator=generator)
    return [list(loader) for _ in range(epochs)]


def _net(**kwargs):
    with torch.random.fork_rng():
        module = torch.nn.Linear(5, 5)
    return DetectorNet(
        module=module,
        criterion=torch.nn.MSELoss,
        batch_size=4,
        train_split=None,
        iterator_train__shuffle=True,
        seed=3,
        **kwargs,
    )


@pytest.mark.parametrize(
    "y", [None, np.arange(23, dtype=np.int64), np.arange(23, dtype=np.float32) / 7]
)
def test_net_batches_are_skorchs_batches(y):
    with torch.random.fork_rng():
        net = _net().initialize()
    dataset = net.get_dataset(X, y)
    loader = net.get_iterator(dataset, training=True)
    assert isinstance(loader.dataset, ArrayRows)
    reference = _reference_batches(Dataset(X, y), 4, seed=3)
    for epoch in reference:
        ours = list(loader)
        assert len(ours) == len(epoch)
        for got, expected in zip(ours, epoch, strict=True):
            assert type(got) is type(expected)
            for a, b in zip(got, expected, strict=True):
                assert a.dtype == b.dtype and torch.equal(a, b)


def test_batches_are_copies():
    rows = ArrayRows.from_dataset(Dataset(X.copy()))
    batch, _ = rows[torch.tensor([0, 1])]
    batch += 1
    assert torch.equal(rows.X[:2], torch.as_tensor(X[:2]))


def test_rows_share_the_arrays_memory():
    rows = ArrayRows.from_dataset(Dataset(X))
    assert rows.X.data_ptr() == X.__array_interface__["data"][0]


@pytest.mark.parametrize(
    "data",
    [
        {"a": X},
        X[:, ::2],  # not contiguous
        X.astype(">f4"),  # not in the machine's byte order
        X.astype(object),
        np.frombuffer(X.tobytes(), np.float32).reshape(X.shape),  # read-only
    ],
    ids=["dict", "strided", "big-endian", "object", "read-only"],
)
def test_data_a_tensor_cannot_share_is_left_to_skorch(data):
    assert ArrayRows.from_dataset(Dataset(data)) is None


def test_sparse_tensors_and_other_lengths_are_left_to_skorch():
    assert ArrayRows.from_dataset(Dataset(torch.as_tensor(X).to_sparse())) is None
    assert ArrayRows.from_dataset(Dataset(X, length=5)) is None
    assert ArrayRows.from_dataset(Dataset(torch.as_tensor(X))) is not None


def test_net_trains_on_data_left_to_skorch():
    net = _net(max_epochs=1, verbose=0)
    with torch.random.fork_rng():
        net.fit(X[::-1], None)  # negative strides: skorch's dataset reads them
    assert len(net.history) == 1


def test_set_training_puts_every_submodule_in_the_mode():
    with torch.random.fork_rng():
        net = _net(max_epochs=1, verbose=0).initialize()
        module = net.module_ = torch.nn.Sequential(
            torch.nn.Linear(5, 5), torch.nn.ReLU()
        )
    module[0].eval()
    net._set_training(True)
    assert all(m.training for m in module.modules())
    net._set_training(False)
    assert not any(m.training for m in module.modules())
