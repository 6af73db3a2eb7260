"""Memory: peak resident memory of fitting and scoring a float32 memmap.

For each of ``sizes``, a ``.npy`` file of that many rows of ``n_features``
float32 values in [0, 1] is written chunk by chunk to a temporary folder
(removed afterwards). A fresh child process (``python -m
benchmarks.suite.kinds.memory --child PATH MODE ...``) then fits
``DenoisingAE`` on it (a small MLP, ``max_epochs`` epochs) and scores every
row, **streamed** (``np.load(path, mmap_mode="r")``: the detectors read a
memmap batch by batch) or **in memory** (``np.load(path)``).

The child first warms up (imports, a tiny fit), then caps its data segment
(``RLIMIT_DATA``) at what it uses then plus ``headroom_mb``: numpy's and
torch's arrays count against the cap, the read-only mapping of a memmap does
not (its pages are page cache the kernel may drop). An in-memory run of a file
larger than the headroom therefore fails with ``MemoryError``; a streamed run
must not. Each row records the peak of ``RssAnon`` (anonymous resident
memory: heap, arrays, tensors; sampled every 10 ms) and its growth over the
warm process, ``ru_maxrss`` (which also counts the mapped file's pages the
process touched), and the fit and score seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.suite.tables import fmt, markdown_table, settings_line
from skanomaly.benchmarking._checkpoint import task_fingerprint

KEYS = (
    "sizes",
    "in_memory_sizes",
    "n_features",
    "max_epochs",
    "headroom_mb",
    "seeds",
    "budget",
)
#: bumped when what a row means changes
VERSION = 1
MODES = ("streamed", "in memory")
#: the detector: a small MLP, so that a run takes seconds
PARAMS = {
    "hidden_dims": (64, 16),
    "batch_size": 256,
    "device": "cpu",
    "random_state": 0,
}
REPO = Path(__file__).resolve().parents[3]


def _status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def write_rows(path, n, n_features, chunk=20_000):
    """``n`` rows of uniform values in [0, 1], written chunk by chunk."""
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n, n_features)
    )
    rng = np.random.RandomState(0)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        out[start:stop] = rng.random_sample((stop - start, out.shape[1]))
    out.flush()
    del out


def child(path, mode, headroom_mb, max_epochs, threads):
    """One run in this (fresh) process; returns its figures."""
    import torch

    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")
    from skanomaly import DenoisingAE

    params = {**PARAMS, "max_epochs": max_epochs}
    n_features = np.load(path, mmap_mode="r").shape[1]
    # warm up: the libraries' lazy allocations happen before the cap
    warm = np.random.RandomState(1).random_sample((512, n_features)).astype(np.float32)
    DenoisingAE(**params).fit(warm).score_samples(warm)
    del warm
    peak = {"anon": _status_kb("RssAnon")}
    baseline = peak["anon"]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.01):
            peak["anon"] = max(peak["anon"], _status_kb("RssAnon"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    limit = _status_kb("VmData") * 1024 + headroom_mb * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.RLIM_INFINITY))
    record = {"status": "ok", "fit_s": None, "score_s": None}
    try:
        X = np.load(path, mmap_mode="r" if mode == "streamed" else None)
        start = time.perf_counter()
        det = DenoisingAE(**params).fit(X)
        record["fit_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        scores = det.score_samples(X)
        record["score_s"] = round(time.perf_counter() - start, 2)
        record["n_scores"] = int(scores.shape[0])
    except MemoryError as exc:
        record["status"] = f"MemoryError: {str(exc)[:120]}"
    stop.set()
    sampler.join()
    peak["anon"] = max(peak["anon"], _status_kb("RssAnon"))
    record.update(
        baseline_anon_mb=round(baseline / 1024, 1),
        peak_anon_mb=round(peak["anon"] / 1024, 1),
        anon_growth_mb=round((peak["anon"] - baseline) / 1024, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        data_limit_mb=round(limit / 2**20, 1),
    )
    return record


def run_child(path, mode, headroom_mb, max_epochs, threads):
    """:func:`child` in a fresh ``python -m benchmarks.suite.kinds.memory``."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    command = [
        sys.executable,
        "-m",
        "benchmarks.suite.kinds.memory",
        "--child",
        str(path),
        mode,
        "--headroom-mb",
        str(headroom_mb),
        "--max-epochs",
        str(max_epochs),
        "--threads",
        str(threads),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=REPO, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"status": f"exit {done.returncode}: {' | '.join(tail)}"}
    return json.loads(lines[-1])


def run(experiment, context):
    """One child per (size, mode); reuse the checkpoint's rows."""
    import torch

    sizes = [int(n) for n in experiment.get("sizes")]
    in_memory = experiment.get("in_memory_sizes")
    in_memory = sizes if in_memory is None else [int(n) for n in in_memory]
    n_features = int(experiment.get("n_features", 784))
    max_epochs = int(experiment.get("max_epochs", 1))
    headroom = int(experiment.get("headroom_mb", 512))
    threads = torch.get_num_threads()
    rows = []
    with tempfile.TemporaryDirectory(prefix="skanomaly-memory-") as folder:
        for n in sizes:
            path = Path(folder) / f"rows_{n}.npy"
            for mode in MODES:
                if mode == "in memory" and n not in in_memory:
                    continue
                settings = {
                    "n_rows": n,
                    "n_features": n_features,
                    "mode": mode,
                    "max_epochs": max_epochs,
                    "headroom_mb": headroom,
                    "threads": threads,
                    "params": PARAMS,
                    "version": VERSION,
                    "smoke": experiment.smoke,
                }
                key = task_fingerprint(settings)
                if key in context.checkpoint.rows:
                    rows.append(context.checkpoint.rows[key])
                    continue
                if not path.exists():
                    write_rows(path, n, n_features)
                row = {
                    "n_rows": n,
                    "n_features": n_features,
                    "file_mb": round(path.stat().st_size / 2**20, 1),
                    "mode": mode,
                    "max_epochs": max_epochs,
                    "headroom_mb": headroom,
                    "threads": threads,
                    **run_child(path, mode, headroom, max_epochs, threads),
                    "version": VERSION,
                }
                context.checkpoint.append(key, row)
                rows.append(row)
                context.log(
                    f"[{experiment.name}] {n:,} rows, {mode}: {row['status']}, anon peak "
                    f"{row.get('peak_anon_mb')} MB (growth {row.get('anon_growth_mb')} MB)"
                )
            if path.exists():
                path.unlink()
    return rows


def report(experiment, rows, metadata):
    """The table of runs and what its columns mean."""
    if not rows:
        return "No rows.\n\n" + settings_line(metadata)
    first = rows[0]
    params = {**PARAMS, "max_epochs": first["max_epochs"]}
    table = markdown_table(
        [
            "rows",
            "file MB",
            "mode",
            "status",
            "fit s",
            "score s",
            "anon peak MB",
            "anon growth MB",
            "ru_maxrss MB",
        ],
        [
            [
                fmt(r["n_rows"]),
                fmt(r["file_mb"], 1),
                r["mode"],
                r["status"] if r["status"] == "ok" else r["status"].split(":")[0],
                fmt(r.get("fit_s"), 2),
                fmt(r.get("score_s"), 2),
                fmt(r.get("peak_anon_mb"), 1),
                fmt(r.get("anon_growth_mb"), 1),
                fmt(r.get("peak_rss_mb"), 1),
            ]
            for r in rows
        ],
    )
    return "\n\n".join(
        [
            f"DenoisingAE `{params}` fits a file of {first['n_features']} float32 "
            "features per row and scores every row, each run in a fresh process "
            f"whose data segment is capped at its warm size + {first['headroom_mb']} MB "
            "(RLIMIT_DATA): streamed (a memmap) or loaded into memory.",
            table,
            "anon: anonymous resident memory (RssAnon: heap, arrays, tensors), "
            "sampled every 10 ms; growth: over the warm process before the data is "
            "opened. ru_maxrss also counts the pages of the mapped file the process "
            "touched (page cache the kernel may drop). MemoryError: the in-memory "
            "copy did not fit under the cap.",
            settings_line(metadata),
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description="one memory run (the child process)")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), required=True)
    parser.add_argument("--headroom-mb", type=int, default=512)
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    path, mode = args.child
    if mode not in MODES:
        parser.error(f"MODE must be one of {MODES}")
    record = child(path, mode, args.headroom_mb, args.max_epochs, args.threads)
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
