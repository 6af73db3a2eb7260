"""Streamed input: memmaps and torch Datasets read a batch of rows at a time.

``fit`` and the scoring methods take a numpy memmap (``np.memmap``, or
``np.load(..., mmap_mode="r")``) or a map-style torch ``Dataset`` (for example
torchvision's ``ImageFolder`` with ``transform=ToTensor()``) without loading it
whole: :class:`StreamedRows` reads validated float32 rows of the source, and
:class:`StreamedNetInput` turns them, batch by batch, into what the net sees
(scaled, shaped). The caller's data is only ever read.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset


def is_streamed(X) -> bool:
    """Whether ``X`` is read batch by batch: a numpy memmap or a torch Dataset.

    Examples
    --------
    >>> import numpy as np
    >>> is_streamed(np.zeros((3, 2)))
    False
    """
    return isinstance(X, (np.memmap, TorchDataset))


def _real_dtype(dtype) -> bool:
    return dtype == np.bool_ or (
        np.issubdtype(dtype, np.number) and not np.issubdtype(dtype, np.complexfloating)
    )


class StreamedRows:
    """Flat float32 rows of a memmap or a torch Dataset, read on demand.

    A memmap of shape ``(n, n_features)``, ``(n, H, W)`` or ``(n, C, H, W)`` is
    read by slices or by sorted row indices; a Dataset sample by sample, where
    a sample is a tensor or an array (a ``(sample, target)`` pair, as
    ``ImageFolder`` yields, gives its first element). Every read returns a new
    C-contiguous float32 array of ``(k, n_features)`` rows, checked: a NaN or an
    infinity raises ``ValueError`` naming the rows of the batch, a sample of
    another shape than the first one raises ``ValueError`` naming it.

    Parameters
    ----------
    source : numpy.memmap or torch.utils.data.Dataset
        The data (any ndarray is read as a memmap is); never written.
    name : str, default="X"
        Name of the data in error messages.

    Attributes
    ----------
    n_samples : int
        Number of rows.
    n_features : int
        Values per row.
    sample_shape : tuple of int or None
        ``(C, H, W)`` when the samples are images (3-D/4-D memmaps, 2-D or 3-D
        Dataset samples), else None.

    Examples
    --------
    >>> import numpy as np
    >>> rows = StreamedRows(np.arange(12, dtype=np.int64).reshape(4, 3))
    >>> rows.read(np.array([3, 0]))
    array([[ 9., 10., 11.],
           [ 0.,  1.,  2.]], dtype=float32)
    """

    def __init__(self, source, *, name: str = "X"):
        self.source = source
        self.name = name
        if isinstance(source, np.ndarray):
            if source.ndim not in (2, 3, 4):
                raise ValueError(
                    f"{name}: expected a 2-D (n_samples, n_features), 3-D or 4-D "
                    f"memmap; got one of shape {source.shape}."
                )
            if not _real_dtype(source.dtype):
                raise ValueError(
                    f"{name}: the memmap's dtype {source.dtype} is not a real "
                    "numeric dtype."
                )
            self._is_array = True
            n_samples, sample = int(source.shape[0]), tuple(source.shape[1:])
        else:
            try:
                n_samples = len(source)
            except TypeError:
                raise TypeError(
                    f"{name}: a streamed torch Dataset needs a length (a map-style "
                    f"Dataset); {type(source).__name__} has none."
                ) from None
            self._is_array = False
            sample = self._sample(0).shape if n_samples else ()
            self._first_shape = sample
        if len(sample) == 0 and n_samples:
            raise ValueError(
                f"{name}: every sample must hold at least one value; the first "
                "is a scalar."
            )
        self.n_samples = int(n_samples)
        self.n_features = int(np.prod(sample)) if n_samples else 0
        if len(sample) == 3:
            self.sample_shape = tuple(int(s) for s in sample)
        elif len(sample) == 2:  # one channel: (n, H, W) memmap, (H, W) samples
            self.sample_shape = (1, *(int(s) for s in sample))
        else:
            self.sample_shape = None

    def __len__(self) -> int:
        return self.n_samples

    def _sample(self, i: int) -> np.ndarray:
        item = self.source[int(i)]
        if isinstance(item, (tuple, list)):
            item = item[0]
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().numpy()
        if not isinstance(item, np.ndarray) or not _real_dtype(item.dtype):
            raise TypeError(
                f"{self.name}: sample {i} of the Dataset is a "
                f"{type(item).__name__}; a streamed Dataset must yield numeric "
                "tensors or arrays, or (sample, target) pairs of them (for images, "
                "add transform=torchvision.transforms.ToTensor())."
            )
        return item

    def read(self, index) -> np.ndarray:
        """Rows ``index`` (a slice of step 1, or integer row numbers), checked.

        Parameters
        ----------
        index : slice or array-like of int
            Rows to read, in the order wanted.

        Returns
        -------
        rows : ndarray of shape (k, n_features), dtype float32
            A new array.
        """
        n = self.n_samples
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return self.read(np.arange(start, stop, step))
            stop = max(start, stop)
            out = np.empty((stop - start, self.n_features), np.float32)
            if self._is_array:
                out[...] = self.source[start:stop].reshape(stop - start, -1)
            else:
                self._fill(out, np.arange(start, stop))
            self._check_finite(out, np.arange(start, stop))
            return out
        idx = np.asarray(index)
        if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"rows must be a slice or integers; got {idx.dtype}.")
        idx = np.where(idx < 0, idx + n, idx).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"{self.name}: row index out of range for {n} rows.")
        out = np.empty((idx.size, self.n_features), np.float32)
        if self._is_array:
            # sorted reads are sequential on disk; then back to the order asked
            order = np.argsort(idx, kind="stable")
            out[order] = self.source[idx[order]].reshape(idx.size, -1)
        else:
            self._fill(out, idx)
        self._check_finite(out, idx)
        return out

    def _fill(self, out: np.ndarray, idx: np.ndarray) -> None:
        for k, i in enumerate(idx):
            sample = self._sample(i)
            if sample.shape != self._first_shape:
                raise ValueError(
                    f"{self.name}: sample {int(i)} has shape {tuple(sample.shape)}, "
                    f"but the first sample has shape {tuple(self._first_shape)}; "
                    "every sample must have the same shape (resize images in the "
                    "Dataset's transform)."
                )
            out[k] = sample.reshape(-1)

    def _check_finite(self, out: np.ndarray, idx: np.ndarray) -> None:
        finite = np.isfinite(out)
        if finite.all():
            return
        bad = int(idx[np.flatnonzero(~finite.all(axis=1))[0]])
        raise ValueError(
            f"{self.name}: the batch of rows {int(idx.min())}-{int(idx.max())} "
            f"contains NaN or infinity (first at row {bad})."
        )

    def batches(self, batch_rows: int):
        """Yield the rows in order, ``batch_rows`` at a time."""
        for start in range(0, self.n_samples, int(batch_rows)):
            yield self.read(slice(start, start + int(batch_rows)))


class StreamedNetInput:
    """Net-ready rows of a :class:`StreamedRows`, made batch by batch.

    Indexing with a slice or integer row numbers reads those rows, applies
    ``transform`` (the fitted scaling) and reshapes them to
    ``(k, *sample_shape)``; :meth:`take` gives a view on a subset of the rows
    without reading them. It stands for the whole array wherever the base
    batches it (``FitContext.X``, ``_map_batches``, the training iterator), so
    memory stays bounded by the rows of one read. It refuses to become one
    array (``np.asarray`` raises ``TypeError``).

    Parameters
    ----------
    rows : StreamedRows
        The source rows.
    transform : callable
        Maps float32 rows ``(k, n_features)`` to scaled float32 rows.
    sample_shape : tuple of int
        Shape of one net-ready sample.
    batch_rows : int
        Rows per read in whole passes (:meth:`value_range`).
    indices : ndarray of int, default=None
        The rows of ``rows`` this view holds, None for all.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, rows, transform, sample_shape, batch_rows, indices=None):
        self.rows = rows
        self.transform = transform
        self.sample_shape = tuple(sample_shape)
        self.batch_rows = int(batch_rows)
        self.indices = None if indices is None else np.asarray(indices, np.intp)
        self._range = None

    def __len__(self) -> int:
        return len(self.rows) if self.indices is None else len(self.indices)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "streamed data (a memmap or a torch Dataset) is read a batch at a "
            "time and is not converted to one array; index it with a slice or "
            "row numbers."
        )

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, Integral):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"row {index} is out of range for {n} rows.")
            return self[np.array([index % n])][0]
        if isinstance(index, slice):
            rows_index = index if self.indices is None else self.indices[index]
        else:
            idx = np.asarray(index)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
            rows_index = idx if self.indices is None else self.indices[idx]
        out = self.transform(self.rows.read(rows_index))
        return out.reshape(out.shape[0], *self.sample_shape)

    def take(self, indices) -> StreamedNetInput:
        """A view on rows ``indices`` (read only when indexed)."""
        indices = np.asarray(indices, np.intp)
        base = indices if self.indices is None else self.indices[indices]
        return StreamedNetInput(
            self.rows, self.transform, self.sample_shape, self.batch_rows, base
        )

    def value_range(self) -> tuple[float, float]:
        """Smallest and largest net-ready value, in one pass (cached)."""
        if self._range is None:
            lo, hi = np.inf, -np.inf
            for start in range(0, len(self), self.batch_rows):
                batch = self[start : start + self.batch_rows]
                lo, hi = min(lo, float(batch.min())), max(hi, float(batch.max()))
            self._range = (lo, hi)
        return self._range


def feature_bounds(rows: StreamedRows, batch_rows: int, indices=None):
    """Per-feature float32 minimum and maximum of every row (or of the sorted
    row numbers ``indices``), in one pass."""
    if indices is None:
        batches = rows.batches(batch_rows)
    else:
        indices = np.asarray(indices, np.intp)
        batches = (
            rows.read(indices[start : start + batch_rows])
            for start in range(0, len(indices), batch_rows)
        )
    lo = hi = None
    for batch in batches:
        if lo is None:
            lo, hi = batch.min(axis=0), batch.max(axis=0)
        else:
            np.minimum(lo, batch.min(axis=0), out=lo)
            np.maximum(hi, batch.max(axis=0), out=hi)
    return lo, hi


def take_rows(X, indices):
    """Rows ``indices`` of ``X``: an array for an array, a lazy view when streamed."""
    if isinstance(X, StreamedNetInput):
        return X.take(indices)
    return X[indices]


class StreamedDataset(TorchDataset):
    """The training batches of a :class:`StreamedNetInput`, indexed a batch at a
    time (``dataset[list_of_rows]``), as ``DetectorNet``'s iterator reads them."""

    def __init__(self, X: StreamedNetInput, y=None):
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, indices):
        idx = np.asarray(indices, dtype=np.intp)
        yi = torch.Tensor([0]) if self.y is None else self.y[idx]
        return self.X[idx], yi
