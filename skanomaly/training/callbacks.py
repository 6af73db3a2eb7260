"""skorch callbacks used by every detector."""

from __future__ import annotations

import math
import sys

import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from skanomaly.exceptions import TrainingDivergedError


class NonFiniteLossGuard(Callback):
    """Stop training with :class:`~skanomaly.TrainingDivergedError` when a loss is NaN or inf.

    Parameters
    ----------
    owner : str, default="detector"
        Name used in the message.
    """

    def __init__(self, owner="detector"):
        self.owner = owner

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None or not training:
            return
        # one number (skorch has just read it for the history): math.isfinite
        # costs nothing, torch.isfinite two tensor operations a batch
        value = loss.item() if isinstance(loss, torch.Tensor) else float(loss)
        if not math.isfinite(value):
            epoch = len(net.history)
            batch_index = len(net.history[-1]["batches"])
            raise TrainingDivergedError(
                f"{self.owner}: the training loss became {value} at epoch "
                f"{epoch}, batch {batch_index}. Lower the learning rate "
                f"(lr={net.lr}) or check the input scale."
            )


class EpochProgressBar(Callback):
    """A tqdm progress bar over epochs that shows the last training loss.

    Parameters
    ----------
    desc : str, default="training"
        Label of the bar; the net's ``stage`` is appended unless it is
        ``"train"``.
    """

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        stage = getattr(net, "stage", "train")
        self.bar_ = tqdm(
            total=net.max_epochs,
            desc=self.desc if stage == "train" else f"{self.desc} ({stage})",
            unit="epoch",
            file=sys.stderr,
            leave=True,
        )

    def on_epoch_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is None:
            return
        loss = net.history[-1].get("train_loss")
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.5g}")
        bar.update(1)

    def on_train_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
            self.bar_ = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state
