"""Reading the idx format of MNIST and Fashion-MNIST (plain or gzipped)."""

from __future__ import annotations

import gzip
import os

import numpy as np

# idx type codes (third byte of the magic number) and their big-endian dtypes
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one idx file (``*-idx3-ubyte`` images, ``*-idx1-ubyte`` labels).

    Files ending in ``.gz`` are decompressed on the fly.

    Parameters
    ----------
    path : str or path-like
        The file to read.

    Returns
    -------
    array : ndarray
        The stored array with its stored shape, e.g. ``(60000, 28, 28)`` uint8
        for images and ``(60000,)`` uint8 for labels.

    Raises
    ------
    ValueError
        If the file is not a well-formed idx file (bad magic number, unknown
        type code, or a size that disagrees with the header).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skanomaly.datasets import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 1, 4]))
    >>> read_idx(path)
    array([7, 1, 4], dtype=uint8)
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:  # includes gzip.BadGzipFile
        raise ValueError(f"{path} could not be read as an idx file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an idx file (bad magic number).")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path} has an unknown idx type code 0x{type_code:02x}.")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise ValueError(f"{path} is truncated (incomplete idx header).")
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise ValueError(
            f"{path} holds {len(raw) - header_end} data bytes, but its header "
            f"announces shape {shape} ({expected} bytes)."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)
