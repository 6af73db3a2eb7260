"""skanomaly.training.callbacks: the divergence guard and the progress bar."""

import pickle

import numpy as np
import pytest
import torch

from skanomaly import DenoisingAE, TrainingDivergedError
from skanomaly.training import EpochProgressBar, NonFiniteLossGuard

SMALL = {"hidden_dims": (8, 3), "max_epochs": 3, "batch_size": 16, "device": "cpu"}


@pytest.fixture(scope="module")
def rows():
    return np.random.RandomState(0).uniform(size=(40, 6)).astype(np.float32)


def test_diverging_loss_stops_with_clear_error(rows):
    class NaNLoss(torch.nn.Module):
        def forward(self, y_pred, y_true):
            return (y_pred - y_true).pow(2).mean() * float("nan")

    class Diverging(DenoisingAE):
        def _build_criterion(self):
            return NaNLoss()

    with pytest.raises(TrainingDivergedError, match="became nan at epoch 1, batch 1"):
        Diverging(**SMALL).fit(rows)


def test_guard_names_its_owner_and_ignores_validation_batches():
    class FakeNet:
        history = [{"batches": [{}, {}]}]
        lr = 0.1

    guard = NonFiniteLossGuard(owner="MyDetector")
    guard.on_batch_end(FakeNet(), training=True, loss=torch.tensor(1.0))
    guard.on_batch_end(FakeNet(), training=False, loss=torch.tensor(float("inf")))
    guard.on_batch_end(FakeNet(), training=True, loss=None)
    with pytest.raises(
        TrainingDivergedError, match=r"MyDetector: .*inf at epoch 1, batch 2.*lr=0.1"
    ):
        guard.on_batch_end(FakeNet(), training=True, loss=torch.tensor(float("inf")))


@pytest.mark.parametrize(
    ("stage", "label"), [("train", "Det"), ("warm-up", "Det (warm-up)")]
)
def test_progress_bar_label_counts_and_pickling(capsys, stage, label):
    class FakeNet:
        max_epochs = 2
        history = []

    net = FakeNet()
    net.stage = stage
    bar = EpochProgressBar(desc="Det")
    bar.on_train_begin(net)
    for loss in (0.5, 0.25):
        net.history.append({"train_loss": loss})
        bar.on_epoch_end(net)
    restored = pickle.loads(pickle.dumps(bar))  # mid-training: the bar stays behind
    assert not hasattr(restored, "bar_") and restored.desc == "Det"
    bar.on_train_end(net)
    assert bar.bar_ is None
    err = capsys.readouterr().err
    assert f"{label}: 100%" in err and "2/2" in err and "loss=0.25" in err
