"""The one runner: an experiment, resumable, one heavy job at a time."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks.suite.experiments import RESULTS
from skanomaly.benchmarking import environment_info
from skanomaly.benchmarking._checkpoint import Checkpoint
from skanomaly.benchmarking._engine import _preserved_global_random_state

#: the lock that keeps heavy jobs apart: two torch jobs on two cores run 10-50x slower
LOCK_FILE = Path("/tmp/skanomaly-bench.lock")


@dataclass
class Context:
    """What a kind needs besides its declaration.

    Attributes
    ----------
    checkpoint : Checkpoint
        The experiment's JSON lines checkpoint: append each finished row, and
        reuse the rows it holds (:func:`skanomaly.benchmarking._checkpoint.task_fingerprint`).
    data_home : str or None
        Where data files are (else ``$SKANOMALY_DATA`` and the loaders' defaults).
    device : str
        The torch device of the deep detectors.
    progress : bool
        Whether to show progress.
    smoke : bool
        Whether this is a smoke run.
    """

    checkpoint: Checkpoint
    data_home: str | None
    device: str
    progress: bool
    smoke: bool

    def log(self, message):
        """One line of progress on stderr."""
        if self.progress:
            print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _exclusive(enabled):
    """Hold :data:`LOCK_FILE` (waiting for another heavy job to finish)."""
    if not enabled:
        yield
        return
    with open(LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for the heavy job that holds {LOCK_FILE}", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _torch_threads(n):
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _clean(value):
    """JSON-safe: NaN and infinities as null, numpy scalars as Python ones."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _git_commit():
    """The checkout's commit, with ``+dirty`` when files differ from it."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # the code that makes the numbers: the package and the suite
            [
                "git",
                "status",
                "--porcelain",
                "--",
                "skanomaly",
                "benchmarks/suite",
                "benchmarks/experiments.toml",
            ],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def result_paths(name, results=RESULTS):
    """``(checkpoint, result)`` files of an experiment."""
    results = Path(results)
    return results / f"{name}.jsonl", results / f"{name}.json"


def run_experiment(
    experiment,
    *,
    results=RESULTS,
    data_home=None,
    device="cpu",
    progress=True,
    command=None,
):
    """Run an experiment (or its smoke version) and write its result file.

    Rows already in the checkpoint are reused, so a rerun after an interruption
    goes on where it stopped. Non-smoke runs hold :data:`LOCK_FILE`.

    Parameters
    ----------
    experiment : Experiment
        The declaration (``experiment.as_smoke()`` for the smoke version).
    results : path-like, default=benchmarks/results
        Folder of ``NAME.jsonl`` (checkpoint) and ``NAME.json`` (rows and
        metadata of the last complete run).
    data_home : str, default=None
        Where the data files are.
    device : str, default="cpu"
        Torch device of the deep detectors ("auto": CUDA, MPS, then CPU).
    progress : bool, default=True
        Progress on stderr.
    command : str, default=None
        The command line, recorded.

    Returns
    -------
    rows : list of dict
    metadata : dict
    """
    from benchmarks.suite.kinds import get_kind

    kind = get_kind(experiment.kind)
    checkpoint_path, result_path = result_paths(experiment.name, results)
    with (
        _exclusive(not experiment.smoke),
        _torch_threads(experiment.get("torch_threads")),
        # PyOD's deep detectors seed the global generators when they are
        # built: leave them as they were
        _preserved_global_random_state(device),
    ):
        started = time.perf_counter()  # after the wait for the lock
        commit = _git_commit()  # the code the rows come from
        context = Context(
            checkpoint=Checkpoint(checkpoint_path),
            data_home=data_home,
            device=device,
            progress=progress,
            smoke=experiment.smoke,
        )
        resumable = len(context.checkpoint.rows)
        rows = kind.run(experiment, context)
        metadata = {
            "experiment": experiment.name,
            "kind": experiment.kind,
            "title": experiment.title,
            "smoke": experiment.smoke,
            "declaration": experiment.settings,
            "torch_threads": torch.get_num_threads(),
            "finished": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC"
            ),
            "wall_s": round(time.perf_counter() - started, 1),
            "rows_in_checkpoint_before": resumable,
            "command": command,
            "commit": commit,
            "environment": environment_info(device),
        }
    result_path.write_text(
        json.dumps(_clean({"metadata": metadata, "rows": rows}), indent=1) + "\n"
    )
    return rows, metadata


def load_result(name, results=RESULTS):
    """``(rows, metadata)`` of an experiment's result file, or None if absent."""
    _, result_path = result_paths(name, results)
    if not result_path.exists():
        return None
    content = json.loads(result_path.read_text())
    return content["rows"], content["metadata"]
