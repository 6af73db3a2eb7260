"""The training batches of :class:`~skanomaly.training.DetectorNet`.

Row numbers are drawn exactly as a shuffling torch ``DataLoader`` draws them,
and each batch is read with one gather rather than sample by sample.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import Dataset as TorchDataset

#: the numpy dtypes whose tensors every torch operation takes
_TENSOR_DTYPES = frozenset(
    np.dtype(name)
    for name in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "float32",
        "float64",
    )
)


class IndexBatches:
    """The row numbers of each batch of an epoch, as int64 tensors.

    With ``shuffle=True``, exactly the batches of ``BatchSampler(
    RandomSampler(range(n), generator=generator), batch_size, drop_last)``,
    drawn from ``generator`` in the same order; with ``shuffle=False``, those
    of a ``SequentialSampler``. The permutation is one tensor, never a list of
    Python ints (36 bytes a row), and each batch a slice of it.

    Parameters
    ----------
    n : int
        Rows of the data.
    batch_size : int
        Rows of a batch; the last batch may be shorter.
    drop_last : bool
        Whether to drop a last batch shorter than ``batch_size``.
    generator : torch.Generator
        The shuffling generator.
    shuffle : bool, default=True
        Whether each epoch visits the rows in a new random order.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        drop_last: bool,
        generator: torch.Generator,
        shuffle: bool = True,
    ):
        self.n, self.batch_size, self.drop_last = n, batch_size, drop_last
        self.generator = generator
        self.shuffle = shuffle

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def __iter__(self):
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator)
        else:
            order = torch.arange(self.n)
        for start in range(0, self.n, self.batch_size):
            batch = order[start : start + self.batch_size]
            if self.drop_last and len(batch) < self.batch_size:
                break
            yield batch
        if self.shuffle:
            # RandomSampler draws one more permutation when it is exhausted,
            # and the generator carries over to the next epoch: so do we
            torch.randperm(self.n, generator=self.generator)


class ArrayRows(TorchDataset):
    """In-memory training arrays as tensors, indexed a batch at a time.

    ``rows[indices]`` (an int64 tensor of row numbers) gives ``(X_batch,
    y_batch)`` as skorch's :class:`~skorch.dataset.Dataset` of the same arrays
    gives them through a ``DataLoader``: the same values and dtypes, each
    batch a new tensor (a method may change it in place), and ``y_batch`` the
    placeholder ``tensor([0.])`` when there is no ``y`` (one tensor for every
    batch). The arrays are turned into tensors once, sharing their memory, so
    a batch costs one gather.

    Parameters
    ----------
    X : torch.Tensor
        The training rows.
    y : torch.Tensor, default=None
        Targets, one per row.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y
        # skorch's placeholder target, made once rather than once a batch
        self._no_target = torch.Tensor([0])

    @classmethod
    def from_dataset(cls, dataset) -> ArrayRows | None:
        """The rows of a skorch ``Dataset`` of arrays or tensors, or None.

        None when ``dataset`` is anything else, or holds data a CPU tensor
        cannot share without a copy (a dict, a DataFrame, a sparse matrix,
        strings or objects, a read-only or non-contiguous array, a sparse or
        GPU tensor): skorch's dataset reads those.

        Parameters
        ----------
        dataset : object
            The dataset the net made of ``fit``'s data.

        Returns
        -------
        rows : ArrayRows or None
        """
        if type(dataset) is not Dataset or dataset.X_is_ndframe:
            return None
        X = _as_shared_tensor(dataset.X)
        y = None if dataset.y is None else _as_shared_tensor(dataset.y)
        if X is None or (dataset.y is not None and y is None):
            return None
        if len(X) != len(dataset):  # a skorch Dataset given another ``length``
            return None
        return cls(X, y)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, indices: torch.Tensor):
        # index_select rather than X[indices]: the same copy, a quarter of the
        # time of advanced indexing
        Xi = torch.index_select(self.X, 0, indices)
        if self.y is None:
            return Xi, self._no_target
        return Xi, torch.index_select(self.y, 0, indices)


def _as_shared_tensor(data) -> torch.Tensor | None:
    """``data`` as a CPU tensor sharing its memory, or None."""
    if isinstance(data, torch.Tensor):
        dense_cpu = data.layout == torch.strided and data.device.type == "cpu"
        return data if dense_cpu and data.dim() > 0 else None
    if (
        isinstance(data, np.ndarray)
        and data.ndim > 0
        and data.dtype in _TENSOR_DTYPES
        and data.flags.c_contiguous
        and data.flags.writeable
    ):
        return torch.as_tensor(data)
    return None
