"""Multi-GPU training of one detector through skorch's accelerate integration."""

from __future__ import annotations

import contextlib
import contextvars

_ACCELERATOR = contextvars.ContextVar("skanomaly_accelerator", default=None)
_NET_CLASSES: dict[type, type] = {}


@contextlib.contextmanager
def accelerate(accelerator):
    """Fit detectors inside this block through a Hugging Face ``Accelerator``.

    Every ``fit`` inside the block trains its net with skorch's
    :class:`~skorch.hf.AccelerateMixin`: the accelerator places the net and the
    data on its device (the detector's ``device`` is ignored; ``device_`` is the
    accelerator's), and under ``accelerate launch`` with several processes it
    wraps the network in ``DistributedDataParallel`` and gives each process its
    share of every epoch's batches: data-parallel training of one model on
    several GPUs. After training the net is an ordinary skorch net again,
    with its weights on the process's device: it scores, pickles and clones
    like any fitted detector. Requires the ``accelerate`` extra
    (``pip install "skanomaly[accelerate]"``).

    Supported detectors: :class:`~skanomaly.DenoisingAE` (one stage, one
    optimizer, its training step calls only the network's ``forward``, which
    is what ``DistributedDataParallel`` synchronises). The others call the
    network's parts (``encode``, ``decode``, a discriminator, a classifier),
    train several stages or step several optimizers; their ``fit`` raises
    ``ValueError`` inside this block. See "GPUs" in docs/scaling.md.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
        With ``mixed_precision`` ``"no"`` or ``"bf16"`` (``"fp16"`` needs a
        gradient scaler on every backward pass, which skanomaly's training
        steps do not route through the accelerator) and
        ``gradient_accumulation_steps=1``; DeepSpeed and FSDP are not
        supported.

    Yields
    ------
    accelerator : accelerate.Accelerator
        The accelerator, in use until the block ends.

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.training import accelerate
    >>> X = np.random.RandomState(0).rand(64, 8).astype(np.float32)
    >>> with accelerate(Accelerator(cpu=True)):  # doctest: +SKIP
    ...     detector = DenoisingAE(hidden_dims=(8, 4), max_epochs=2).fit(X)
    """
    _check_accelerator(accelerator)
    token = _ACCELERATOR.set(accelerator)
    try:
        yield accelerator
    finally:
        _ACCELERATOR.reset(token)


def current_accelerator():
    """The accelerator of the enclosing :func:`accelerate` block, or None."""
    return _ACCELERATOR.get()


def _check_accelerator(accelerator) -> None:
    for name in ("prepare", "device", "mixed_precision"):
        if not hasattr(accelerator, name):
            raise TypeError(
                f"accelerate() takes an accelerate.Accelerator; got {accelerator!r}."
            )
    if str(accelerator.mixed_precision) == "fp16":
        raise ValueError(
            "accelerate(): mixed_precision='fp16' is not supported (its gradient "
            "scaler would have to see every backward pass); use 'bf16' or 'no'."
        )
    steps = getattr(accelerator, "gradient_accumulation_steps", 1)
    if steps != 1:
        raise ValueError(
            f"accelerate(): gradient_accumulation_steps must be 1; got {steps}."
        )
    kind = str(getattr(accelerator, "distributed_type", "NO")).split(".")[-1]
    if kind.upper() in ("DEEPSPEED", "FSDP", "MEGATRON_LM"):
        raise ValueError(f"accelerate(): {kind} is not supported.")


class _DetectorAccelerate:
    """What a skanomaly net needs on top of skorch's ``AccelerateMixin``."""

    def get_iterator(self, dataset, training=False):
        """The net's own iterator, prepared (sharded across processes and put
        on the device) by the accelerator when there are several processes.

        With one process there is nothing to shard, and accelerate cannot
        prepare a loader whose sampler yields whole batches (our seeded
        training loader) in one process; :meth:`batch_input` places batches.
        """
        from skorch.hf import AccelerateMixin

        if self.accelerator.num_processes == 1:
            # the net's own get_iterator, past the mixin's prepare
            return super(AccelerateMixin, self).get_iterator(dataset, training)
        return super().get_iterator(dataset, training)

    def batch_input(self, batch):
        """The batch's X on the accelerator's device (the net's ``device`` is
        None while the accelerator places everything)."""
        from skorch.utils import to_tensor

        Xi, _ = batch
        return to_tensor(Xi, device=self.accelerator.device)


def accelerated_net_class(net_class: type) -> type:
    """``net_class`` with skorch's ``AccelerateMixin`` mixed in.

    The method's own ``train_step_single`` is kept (the mixin's would train a
    plain reconstruction); the mixin wraps the modules, optimizers and
    iterators with the accelerator and unwraps the modules after training.
    """
    if net_class not in _NET_CLASSES:
        from skorch.hf import AccelerateMixin

        _NET_CLASSES[net_class] = type(
            f"Accelerated{net_class.__name__}",
            (_DetectorAccelerate, AccelerateMixin, net_class),
            {
                "train_step_single": net_class.train_step_single,
                "__module__": __name__,
            },
        )
    return _NET_CLASSES[net_class]


def detach_accelerator(net, plain_class: type, device: str):
    """Turn a net trained by :func:`accelerated_net_class` back into a plain
    ``plain_class`` net on ``device``, with no reference to the accelerator,
    so that it scores and pickles like any other."""
    from skorch.callbacks import PrintLog

    net._unwrap_accelerator()
    for name in net._optimizers:
        optimizer = getattr(net, name + "_")
        setattr(net, name + "_", getattr(optimizer, "optimizer", optimizer))
    for _, callback in getattr(net, "callbacks_", []):
        if isinstance(callback, PrintLog):
            callback.sink = print
    for name in (
        "accelerator",
        "unwrap_after_train",
        "_wrapped_with_accelerator",
        "callbacks__print_log__sink",
    ):
        net.__dict__.pop(name, None)
    net.__class__ = plain_class
    net.device = device
    return net
