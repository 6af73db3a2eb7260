"""Seeding and device helpers that never touch global random state."""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.utils import check_random_state


def derive_seed(random_state) -> int:
    """Draw an int seed from a scikit-learn ``random_state``.

    An int gives the same seed every call; ``None`` a fresh one from OS entropy
    (numpy's global generator is not drawn from); a ``RandomState`` instance is
    advanced, as scikit-learn does.
    """
    high = np.iinfo(np.int32).max
    if random_state is None:
        return int(np.random.default_rng().integers(high))
    return int(check_random_state(random_state).randint(high))


def resolve_device(device) -> str:
    """Resolve ``"auto"`` to CUDA, then MPS, then CPU; check any other name.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` or anything :class:`torch.device` accepts.

    Returns
    -------
    device : str
        A device string torch understands, e.g. ``"cpu"`` or ``"cuda:0"``.

    Raises
    ------
    ValueError
        If the name is not a torch device, or names an accelerator that is absent.
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', "
            "'cuda:1', 'mps', ..."
        ) from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available")
    if parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} was asked for but MPS is not available"
            )
    return str(parsed)


#: Held by :func:`seed_context`. torch's generators are global to the process,
#: so two fits seeded in concurrent threads of one process (joblib's threading
#: backend, a dask ``LocalCluster(processes=False)``) would draw from each
#: other's seed and restore each other's state: their seeded sections run one
#: at a time instead. Reentrant, so a seeded fit may call another.
_SEED_LOCK = threading.RLock()


def _reset_seed_lock() -> None:
    # a child forked while another thread held the lock would wait forever
    global _SEED_LOCK
    _SEED_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_seed_lock)


@contextlib.contextmanager
def seed_context(seed: int, device: str = "cpu") -> Iterator[None]:
    """Seed torch inside a block and restore the global generators afterwards.

    Blocks of different threads are serialised (see ``_SEED_LOCK``), so the
    same seed gives the same draws whatever else runs in the process.
    """
    devices = []
    if torch.device(device).type == "cuda":
        index = torch.device(device).index
        devices = [index if index is not None else torch.cuda.current_device()]
    with _SEED_LOCK, torch.random.fork_rng(devices=devices, enabled=True):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def torch_threads(n_threads) -> Iterator[None]:
    """Run torch's CPU operators on ``n_threads`` threads inside a block.

    Sets :func:`torch.set_num_threads` (intra-op parallelism: the threads one
    matrix product or convolution is split over) on entry and restores the
    previous value on exit, also when the block raises, so nothing leaks into
    the rest of the program. Use it around ``fit``, ``score_samples`` or a
    whole search.

    Small networks (the MLPs and small convolutional nets of skanomaly on
    tabular data or 28x28 images) usually train fastest on 1 thread: a
    second thread costs more in synchronisation than it gains, and several
    processes sharing the CPU cores (parallel searches, one per core) slow
    each other down when each spins a full thread pool. Large convolutional
    networks on large images gain from more threads, up to the number of
    physical cores.

    The setting belongs to the calling thread's torch/OpenMP runtime: enter
    the context in the thread (or worker process) that runs the work.
    Inter-op threads (:func:`torch.set_num_interop_threads`) are left alone:
    torch lets them be set only once, before any parallel work, so they
    could not be restored.

    Parameters
    ----------
    n_threads : int
        Number of intra-op threads, at least 1.

    Yields
    ------
    None

    Raises
    ------
    ValueError
        If ``n_threads`` is not an integer of at least 1.

    See Also
    --------
    torch.set_num_threads : The global setting this context manages.

    Examples
    --------
    >>> import torch
    >>> from skanomaly.utils import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, numbers.Integral)
        or n_threads < 1
    ):
        raise ValueError(f"n_threads must be an integer >= 1, got {n_threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _flushes_denormals() -> bool:
    # 1e-30 * 1e-10 is a float32 denormal; with flushing on, it becomes 0
    tiny = torch.tensor([1e-30], dtype=torch.float32) * torch.tensor([1e-10])
    return bool(tiny.item() == 0.0)


@contextlib.contextmanager
def flush_denormal_context() -> Iterator[None]:
    """Flush float32 denormals to zero on the CPU inside a block, then restore.

    Saturated sigmoids produce denormal gradients that can slow CPU training by
    an order of magnitude (with the ARAE paper's all-sigmoid MLP) without
    changing what the network learns. The
    caller's setting is restored afterwards.
    """
    before = _flushes_denormals()
    changed = torch.set_flush_denormal(True) and not before
    try:
        yield
    finally:
        if changed:
            torch.set_flush_denormal(False)
