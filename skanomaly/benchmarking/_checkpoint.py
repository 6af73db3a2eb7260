"""Checkpoint files that make a benchmark run resumable.

A checkpoint is a JSON lines file: :func:`~skanomaly.benchmarking.run_benchmark`
appends one line per finished (detector, normal class) row, flushed to disk at
once, of the form::

    {"settings": "<sha256 hex digest>", "row": {"detector": ..., "roc_auc": ...}}

``settings`` is :func:`task_fingerprint` of everything that determines the row.
A rerun with the same checkpoint loads the rows whose fingerprint is in the file
instead of computing them again. Rows that failed (a non-empty ``error``) are
written but never reused, and lines that cannot be read, such as the last line
of a run killed while writing it, are ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

#: version of the checkpoint's fingerprints; changing what a row means must
#: bump it, so that rows of older files are computed again instead of reused
#: (2: detectors hold out ``calibration=0.2`` of their rows by default, and
#: settings record the data set's own split, ADBench's caps and scaling)
CHECKPOINT_FORMAT = 2


def task_fingerprint(settings):
    """A stable hash of the settings that determine one benchmark row.

    Parameters
    ----------
    settings : mapping of str to JSON-serialisable values
        The data set, protocol, normal class, budget, seed, split fractions,
        the detector's display name and its ``repr``.

    Returns
    -------
    fingerprint : str
        The SHA-256 hex digest of the settings as canonical JSON (sorted keys,
        no whitespace) together with :data:`CHECKPOINT_FORMAT`; the order of
        the keys does not matter.

    Examples
    --------
    >>> from skanomaly.benchmarking._checkpoint import task_fingerprint
    >>> a = task_fingerprint({"dataset": "digits", "seed": 0})
    >>> a == task_fingerprint({"seed": 0, "dataset": "digits"}), len(a)
    (True, 64)
    >>> a == task_fingerprint({"dataset": "digits", "seed": 1})
    False
    """
    canonical = json.dumps(
        {"checkpoint_format": CHECKPOINT_FORMAT, **settings},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read_rows(path):
    """``({fingerprint: row}, ends_mid_line)`` of the reusable rows in ``path``."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return {}, False
    rows = {}
    for line in content.splitlines():
        try:
            entry = json.loads(line)
            fingerprint, row = entry["settings"], entry["row"]
        except (ValueError, TypeError, KeyError):
            continue  # a line cut short by a killed run, or not ours
        if isinstance(fingerprint, str) and isinstance(row, dict):
            if not row.get("error"):
                rows[fingerprint] = row
    return rows, bool(content) and not content.endswith(b"\n")


class Checkpoint:
    """The rows a checkpoint file holds, and the appender of new ones.

    Opening creates the file (and its folder) when missing, so that a path
    that cannot be written fails before the first fit, not after it.

    Parameters
    ----------
    path : str or path-like
        The JSON lines file.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    rows : dict of str to dict
        The reusable rows already in the file (those without an ``error``),
        by fingerprint; a fingerprint written twice keeps its last row.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skanomaly.benchmarking._checkpoint import Checkpoint
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "run.jsonl"
    ...     Checkpoint(path).append("abc", {"detector": "lof", "error": ""})
    ...     Checkpoint(path).rows
    {'abc': {'detector': 'lof', 'error': ''}}
    """

    def __init__(self, path):
        self.path = Path(path)
        self.rows, self._ends_mid_line = _read_rows(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8"):
            pass

    def append(self, fingerprint, row):
        """Append a finished row and flush it to disk.

        Parameters
        ----------
        fingerprint : str
            :func:`task_fingerprint` of the row's settings.
        row : dict
            The row; NaN metrics are written as ``NaN``, which Python's
            :mod:`json` reads back.
        """
        line = json.dumps({"settings": fingerprint, "row": row}) + "\n"
        if self._ends_mid_line:
            # end the cut-short line of a killed run, so that it stays unreadable
            # on its own instead of swallowing this one
            line = "\n" + line
            self._ends_mid_line = False
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
