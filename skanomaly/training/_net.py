"""The skorch net that every skanomaly detector owns (never is)."""

from __future__ import annotations

import contextlib

import torch
from skorch import NeuralNet
from skorch.dataset import Dataset
from skorch.utils import TeeGenerator, to_tensor
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from skanomaly.training._batches import ArrayRows, IndexBatches
from skanomaly.utils._streaming import StreamedDataset, StreamedNetInput


class DetectorNet(NeuralNet):
    """A skorch :class:`~skorch.net.NeuralNet` for unsupervised reconstruction training.

    The target is the input itself, so ``fit(X, y=None)`` works without building
    ``y``. Training shuffles with a generator seeded from ``seed`` and the epoch
    number, so two fits with the same seed see the same batches, and nothing
    global is touched. Methods customise training only through skorch's
    documented hooks (``train_step_single``, ``get_loss``, ``initialize_*``,
    the ``on_*`` epoch hooks).

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.net.NeuralNet`. ``criterion=None`` builds no
        criterion (for methods whose training step computes its own loss).
    seed : int, default=0
        Seed of the shuffling generator.
    settings : object, default=None
        The method's training settings, one object built by the estimator (for
        example ``ARAESettings`` of :class:`~skanomaly.ARAE`); each field is the
        estimator parameter of the same name and is documented there.
    stage : str, default="train"
        Name of the training stage in progress; every history row records it.
        ``BaseDeepDetector._train_stage`` sets it.
    amp : bool, default=False
        Mixed precision: on a CUDA device every training step (its forward
        passes, losses, attacks and backward passes) runs under
        ``torch.autocast`` with :attr:`amp_dtype` (bfloat16, so no gradient
        scaler is needed). No effect on other devices and on scoring.
    """

    #: the autocast dtype of ``amp=True``: bfloat16 has float32's exponent
    #: range, so gradients neither underflow nor overflow and no GradScaler
    #: (which every optimizer step of every method would have to go through)
    #: is needed
    amp_dtype = torch.bfloat16
    #: the device types on which ``amp=True`` autocasts (tests add "cpu" to
    #: run the autocast path without a GPU)
    amp_device_types: tuple[str, ...] = ("cuda",)

    def __init__(
        self, *args, seed=0, settings=None, stage="train", amp=False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.settings = settings
        self.stage = stage
        self.amp = amp

    @property
    def amp_active(self) -> bool:
        """Whether training steps autocast: ``amp`` is on and the net's device
        is one of :attr:`amp_device_types`."""
        device = getattr(self, "device", None)
        return bool(
            getattr(self, "amp", False)  # nets pickled before amp existed
            and device is not None
            and torch.device(device).type in self.amp_device_types
        )

    def autocast(self, enabled: bool = True):
        """The mixed-precision context of a training step.

        ``torch.autocast(device_type, dtype=amp_dtype)`` when :attr:`amp_active`,
        else a no-op. Every training step already runs inside it
        (:meth:`run_single_epoch`); a method calls ``self.autocast(False)`` around
        an operation that must run in float32 (``F.binary_cross_entropy``, which
        CUDA autocast refuses).

        Parameters
        ----------
        enabled : bool, default=True
            False gives a context that switches autocast off.

        Returns
        -------
        context : context manager
        """
        if not self.amp_active:
            return contextlib.nullcontext()
        return torch.autocast(
            torch.device(self.device).type, dtype=self.amp_dtype, enabled=enabled
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop; with ``amp`` on, each training step autocasts.

        The whole step runs in :meth:`autocast`, so every method's step (a
        ``train_step`` of its own included) gets mixed precision without code of
        its own; the optimizers keep float32 weights and states.
        """
        if training and self.amp_active:
            inner = step_fn

            def step_fn(batch, **params):
                with self.autocast():
                    return inner(batch, **params)

        return super().run_single_epoch(
            iterator, training, prefix, step_fn, **fit_params
        )

    def _set_training(self, training=True):
        """skorch's, which every training step calls: each module and criterion
        in training (or evaluation) mode.

        A module whose submodules are all in that mode already is left alone:
        ``Module.train`` sets the flag on every submodule again, which costs
        as much as a small network's optimizer step, batch after batch.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                m.training != training for m in module.modules()
            ):
                module.train(training)

    def initialize_criterion(self):
        if self.criterion is None:
            return self
        return super().initialize_criterion()

    def train_step(self, batch, **fit_params):
        """One step: gradients from ``train_step_single``, then every optimizer.

        skorch's own ``train_step`` hands the step to each registered optimizer
        as a closure, which runs ``train_step_single`` once per optimizer; here
        it runs once, and each optimizer steps on the gradients it produced (an
        optimizer whose parameters got no gradient leaves them as they are).
        Methods that step their optimizers at different moments (PuzzleAE's
        alternating discriminator) override this.
        """
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        for name in self._optimizers:
            getattr(self, name + "_").step()
        return step

    def step_optimizers(self, loss, optimizers, batch) -> None:
        """Backpropagate ``loss`` and step ``optimizers``, in order.

        The one way a training step of its own (a method with several
        optimizers, or several models trained in alternation) steps them:
        the optimizers' gradients are zeroed, ``loss.backward()`` runs, the
        ``on_grad_computed`` callbacks see the parameters of these optimizers
        (gradient clipping, logging), and each optimizer steps. Call it once
        per group of optimizers that step on the same loss, e.g. the
        generator's then the discriminator's.

        Parameters
        ----------
        loss : Tensor (scalar)
            The loss whose gradients the optimizers step on.
        optimizers : sequence of torch.optim.Optimizer
            The optimizers to step (registered ones, ``optimizer_`` and
            ``optimizer_<name>_``, or a stage's own).
        batch : object
            The batch of the step (passed to the callbacks).
        """
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss.backward()
        stepped = {
            id(param)
            for optimizer in optimizers
            for group in optimizer.param_groups
            for param in group["params"]
        }
        named = (
            (name, param)
            for name, param in self.get_all_learnable_params()
            if id(param) in stepped
        )
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(named),
            batch=batch,
            training=True,
        )
        for optimizer in optimizers:
            optimizer.step()

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.history.record("stage", self.stage)

    def get_dataset(self, X, y=None):
        """skorch's dataset, or, for streamed input (a
        :class:`~skanomaly.utils._streaming.StreamedNetInput`), a dataset that
        reads each training batch's rows at once."""
        if isinstance(X, StreamedNetInput):
            return StreamedDataset(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        """The training batches: shuffled with a generator seeded from ``seed``
        and the epoch, and fetched one batch at a time.

        A DataLoader fetches a batch sample by sample and stacks the samples; a
        skorch :class:`~skorch.dataset.Dataset` of arrays is read as tensors
        instead (:class:`~skanomaly.training._batches.ArrayRows`: one gather a
        batch), which gives the same batches (the same permutation, drawn from
        the same generator in the same order) at a fraction of the per-batch
        cost. Streamed input is read the same way, so it trains on the same
        batches as the array it holds, reading one batch of rows at a time.
        """
        if not training:
            return super().get_iterator(dataset, training=False)
        kwargs = self.get_params_for("iterator_train")
        batch_size = kwargs.pop("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = len(dataset)
        epoch = len(self.history)
        generator = torch.Generator().manual_seed(self.seed + 7919 * epoch)
        if type(dataset) is not Dataset and not isinstance(dataset, StreamedDataset):
            kwargs["generator"] = generator
            return self.iterator_train(dataset, batch_size=batch_size, **kwargs)
        shuffle = kwargs.pop("shuffle", False)
        drop_last = kwargs.pop("drop_last", False)
        rows = ArrayRows.from_dataset(dataset)
        if rows is not None:
            dataset = rows
        if isinstance(dataset, (ArrayRows, StreamedDataset)):
            sampler = IndexBatches(
                len(dataset), batch_size, drop_last, generator, shuffle=shuffle
            )
        else:
            # data a tensor cannot hold (a dict, a DataFrame...): skorch's
            # dataset reads each batch's rows, given as a list
            order = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
            sampler = BatchSampler(order, batch_size, drop_last=drop_last)
        # the loader draws its base seed from ``generator`` before the sampler
        # does, as a shuffling DataLoader does: the same batches, the same draws
        return DataLoader(
            dataset, sampler=sampler, batch_size=None, generator=generator, **kwargs
        )

    def batch_input(self, batch) -> torch.Tensor:
        """The batch's X as a float tensor on the net's device."""
        Xi, _ = batch
        return to_tensor(Xi, device=self.device)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Reconstruction criterion between the output and the input ``X``."""
        target = to_tensor(X, device=self.device)
        return self.criterion_(y_pred, target)
