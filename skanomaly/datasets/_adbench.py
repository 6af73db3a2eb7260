"""ADBench-format tabular data sets (``NAME.npz`` files holding ``X`` and ``y``),
read from a folder the user names; nothing is downloaded."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skanomaly.datasets._vision import DATA_ENV_VAR, data_roots

#: the sub-folder of a data home that may hold the files
ADBENCH_FOLDER = "adbench"


def _roots(data_home) -> list[Path]:
    """Folders that may hold the ``.npz`` files, in search order: ``data_home``,
    then each entry of ``$SKANOMALY_DATA``; each root and its ``adbench``
    sub-folder."""
    folders = []
    for root in data_roots(data_home):
        for folder in (root, root / ADBENCH_FOLDER):
            if folder not in folders:
                folders.append(folder)
    return folders


def _short_name(stem: str) -> str:
    """``"6_cardio"`` -> ``"cardio"``: ADBench numbers its files."""
    return re.sub(r"^\d+_", "", stem).lower()


def list_adbench(*, data_home=None) -> list[str]:
    """Names of the ADBench-format ``.npz`` files found, sorted.

    Looks in ``data_home``, then in each folder of the ``SKANOMALY_DATA``
    environment variable (``os.pathsep``-separated), and in the ``adbench``
    sub-folder of each; the first folder that holds ``.npz`` files wins.

    Parameters
    ----------
    data_home : str or path-like, default=None
        A folder of ``.npz`` files (or one with an ``adbench`` sub-folder).

    Returns
    -------
    names : list of str
        File names without ``.npz`` (``"6_cardio"``); empty when none is found.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skanomaly.datasets import list_adbench
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     np.savez(f"{folder}/6_cardio.npz", X=np.zeros((4, 2)), y=[0, 0, 0, 1])
    ...     list_adbench(data_home=folder)
    ['6_cardio']
    """
    for folder in _roots(data_home):
        files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
        if files:
            return [path.stem for path in files]
    return []


def _find(name: str, data_home) -> Path:
    searched = _roots(data_home)
    wanted = str(name).lower()
    for folder in searched:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.npz")):
            if path.stem.lower() == wanted or _short_name(path.stem) == wanted:
                return path
    where = "\n  ".join(str(folder) for folder in searched) or "(no folder given)"
    raise FileNotFoundError(
        f"No ADBench file {name!r} (.npz with X and y) found. Looked in:\n  "
        f"{where}\nPass data_home=FOLDER or set {DATA_ENV_VAR}=FOLDER to a folder "
        "of ADBench-format .npz files (skanomaly downloads nothing)."
    )


def load_adbench(name, *, data_home=None, return_X_y=False):
    """Load an ADBench-format tabular anomaly data set from a local folder.

    ADBench (Han et al., NeurIPS 2022) distributes each data set as
    ``NUMBER_NAME.npz`` with ``X`` (rows, numeric features) and ``y`` (0 normal,
    1 anomaly). The file is read with ``allow_pickle=False``, so loading runs
    no code. Nothing is downloaded: point ``data_home`` or ``SKANOMALY_DATA``
    at the folder.

    Parameters
    ----------
    name : str
        The file name without ``.npz`` (``"6_cardio"``) or without its number
        (``"cardio"``), case-insensitive.
    data_home : str or path-like, default=None
        The folder, searched before ``SKANOMALY_DATA`` (see
        :func:`list_adbench`).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (float64, ``(n_samples, n_features)``), ``target`` (int64, 1
        for anomalies), ``name``, ``filename`` and ``DESCR``; or ``(X, y)``.

    Raises
    ------
    FileNotFoundError
        If no folder holds the file.
    ValueError
        If the file does not hold a 2-D numeric ``X`` and a 0/1 ``y`` of the
        same length, or ``X`` has NaN or infinite values.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skanomaly.datasets import load_adbench
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     X = np.arange(8.0).reshape(4, 2)
    ...     np.savez(f"{folder}/6_cardio.npz", X=X, y=[0, 0, 0, 1])
    ...     data = load_adbench("cardio", data_home=folder)
    >>> data.data.shape, data.target.tolist(), data.name
    ((4, 2), [0, 0, 0, 1], '6_cardio')
    """
    path = _find(name, data_home)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive or "y" not in archive:
                raise ValueError(
                    f"{path} holds {sorted(archive.files)}; an ADBench file holds "
                    "X and y."
                )
            X, y = archive["X"], archive["y"]
    except ValueError as exc:
        if "holds" in str(exc):
            raise
        raise ValueError(f"{path} is not a readable .npz of arrays: {exc}") from exc
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(
            f"{path}: X must be a 2-D numeric array, got {X.shape} {X.dtype}."
        )
    y = np.asarray(y).ravel()
    if len(y) != len(X):
        raise ValueError(f"{path}: X has {len(X)} rows but y has {len(y)} labels.")
    labels = set(np.unique(y).tolist())
    if not labels <= {0, 1}:
        raise ValueError(
            f"{path}: y must hold 0 (normal) and 1 (anomaly), got {labels}."
        )
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: X holds NaN or infinite values.")
    y = y.astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        name=path.stem,
        filename=str(path),
        DESCR=(
            f"ADBench-format data set {path.stem}: {X.shape[0]} rows, "
            f"{X.shape[1]} features, {int(y.sum())} anomalies (target 1), read "
            f"from {path}."
        ),
    )
