"""skanomaly.training.DetectorNet: reconstruction targets, stages, seeded shuffling."""

import numpy as np
import torch
from torch import nn

from skanomaly.training import DetectorNet


class Recorder(DetectorNet):
    """Records the batches it trains on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def train_step_single(self, batch, **fit_params):
        self.seen.append(batch[0].clone())
        return super().train_step_single(batch, **fit_params)


def _net(seed=0, stage="train", criterion=nn.MSELoss, **kwargs):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = nn.Linear(4, 4)
    return Recorder(
        module=module,
        criterion=criterion,
        optimizer=torch.optim.SGD,
        lr=0.1,
        max_epochs=2,
        batch_size=4,
        train_split=None,
        iterator_train__shuffle=True,
        seed=seed,
        stage=stage,
        verbose=0,
        **kwargs,
    )


X = np.arange(48, dtype=np.float32).reshape(12, 4) / 48


def _fit(net):
    with torch.random.fork_rng():
        return net.fit(X, None)


def test_fit_without_y_reconstructs_the_input():
    net = _fit(_net())
    assert len(net.history) == 2 and all(np.isfinite(net.history[:, "train_loss"]))
    with torch.no_grad():
        x = torch.as_tensor(X)
        expected = nn.functional.mse_loss(net.module_(x), x)
    assert net.get_loss(net.module_(x), None, X=x).item() == expected.item()


def test_every_epoch_records_the_stage():
    net = _fit(_net(stage="warm-up"))
    assert net.history[:, "stage"] == ["warm-up", "warm-up"]
    net.set_params(stage="second")
    with torch.random.fork_rng():
        net.partial_fit(X, None)
    assert net.history[:, "stage"] == ["warm-up", "warm-up", "second", "second"]


def test_shuffling_follows_the_seed_and_the_epoch():
    a, b, c = _fit(_net(seed=1)), _fit(_net(seed=1)), _fit(_net(seed=2))
    for x, y in zip(a.seen, b.seen, strict=True):
        assert torch.equal(x, y)
    assert not all(torch.equal(x, y) for x, y in zip(a.seen, c.seen, strict=True))
    # each epoch sees every row once, in another order than the epoch before
    first, second = torch.cat(a.seen[:3]), torch.cat(a.seen[3:])
    assert sorted(first[:, 0].tolist()) == sorted(second[:, 0].tolist())
    assert not torch.equal(first, second)


def test_no_criterion_builds_none():
    net = _net(criterion=None)
    net.initialize_criterion()
    assert not hasattr(net, "criterion_") or net.criterion_ is None
