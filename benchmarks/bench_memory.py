"""Peak memory of fitting and scoring data bigger than the memory allowed.

For each size, a ``.npy`` file of ``n`` rows of 784 float32 values in [0, 1]
(Fashion-MNIST's width; 50,000 rows are 157 MB) is written to ``--tmp`` chunk
by chunk. A fresh subprocess then fits ``DenoisingAE`` on it (one epoch, torch
at one thread) and scores every row, either **streamed** (the file opened with
``np.load(path, mmap_mode="r")``) or **in memory** (``np.load(path)``, the
path every detector had before streaming).

The subprocess first warms up (imports, a tiny fit), then caps its data
segment with ``RLIMIT_DATA`` at what it uses then plus ``--headroom-mb``: the
heap, numpy's and torch's arrays count against it, the read-only file mapping
of a memmap does not (the kernel may drop its pages at will, as page cache).
An in-memory run of a file bigger than the headroom therefore fails with
``MemoryError``; a streamed run must not. Each run records:

- ``peak_anon_mb``: the peak of ``RssAnon`` (anonymous resident memory: heap,
  arrays, tensors), sampled every 10 ms, and its growth over the warm process;
- ``peak_rss_mb``: ``ru_maxrss``, which also counts the pages of the mapped
  file the process has touched (shared page cache, reclaimable): it grows with
  the file for a streamed run without being memory the process holds;
- the fit and score seconds.

Run (about 4 minutes, one core)::

    python benchmarks/bench_memory.py

Writes ``results/memory.md`` and ``results/memory.json`` and removes its
files from ``--tmp``.
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

RESULTS = Path(__file__).resolve().parent / "results"
N_FEATURES = 784
#: the detector: a small MLP, one epoch, so that a run takes seconds
PARAMS = {
    "hidden_dims": (64, 16),
    "max_epochs": 1,
    "batch_size": 256,
    "device": "cpu",
    "random_state": 0,
}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def write_rows(path: Path, n: int, chunk: int = 20_000) -> None:
    """``n`` rows of uniform values in [0, 1], written chunk by chunk."""
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n, N_FEATURES)
    )
    rng = np.random.RandomState(0)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        out[start:stop] = rng.random_sample((stop - start, N_FEATURES))
    out.flush()
    del out


def child(path: str, mode: str, headroom_mb: int) -> dict:
    """One run in this (fresh) process; returns its figures."""
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from skanomaly import DenoisingAE

    # warm up: the libraries' lazy allocations happen before the cap
    warm = np.random.RandomState(1).random_sample((512, N_FEATURES)).astype(np.float32)
    DenoisingAE(**PARAMS).fit(warm).score_samples(warm)
    del warm
    peak = {"anon": _status_kb("RssAnon")}
    baseline_anon = peak["anon"]
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
        det = DenoisingAE(**PARAMS).fit(X)
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
        baseline_anon_mb=round(baseline_anon / 1024, 1),
        peak_anon_mb=round(peak["anon"] / 1024, 1),
        anon_growth_mb=round((peak["anon"] - baseline_anon) / 1024, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        data_limit_mb=round(limit / 2**20, 1),
    )
    return record


def run_child(path: Path, mode: str, headroom_mb: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path), mode, str(headroom_mb)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"status": f"exit {done.returncode}: {' | '.join(tail)}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[50_000, 200_000, 800_000, 1_600_000]
    )
    parser.add_argument(
        "--in-memory-sizes", type=int, nargs="*", default=[50_000, 200_000]
    )
    parser.add_argument("--headroom-mb", type=int, default=512)
    parser.add_argument("--tmp", default=tempfile.gettempdir())
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, mode, headroom = args.child
        print(json.dumps(child(path, mode, int(headroom))), flush=True)
        return

    import torch

    from skanomaly.benchmarking import environment_info

    torch.set_num_threads(1)  # as in the runs (recorded by environment_info)
    runs = []
    workdir = Path(tempfile.mkdtemp(prefix="skanomaly-memory-", dir=args.tmp))
    try:
        for n in args.sizes:
            path = workdir / f"rows_{n}.npy"
            write_rows(path, n)
            file_mb = round(path.stat().st_size / 2**20, 1)
            modes = ["streamed"] + (["in memory"] if n in args.in_memory_sizes else [])
            for mode in modes:
                record = {"n_rows": n, "file_mb": file_mb, "mode": mode}
                record.update(run_child(path, mode, args.headroom_mb))
                runs.append(record)
                print(json.dumps(record), flush=True)
            path.unlink()
    finally:
        for leftover in workdir.glob("*"):
            leftover.unlink()
        workdir.rmdir()

    info = environment_info("cpu")
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "environment": info,
        "params": {**PARAMS, "n_features": N_FEATURES, "headroom_mb": args.headroom_mb},
        "runs": runs,
    }
    (RESULTS / "memory.json").write_text(json.dumps(payload, indent=2) + "\n")
    header = (
        "| rows | file MB | mode | status | fit s | score s | anon peak MB "
        "| anon growth MB | ru_maxrss MB |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    table = "".join(
        f"| {r['n_rows']:,} | {r['file_mb']} | {r['mode']} | {r['status']} "
        f"| {r.get('fit_s')} | {r.get('score_s')} | {r.get('peak_anon_mb')} "
        f"| {r.get('anon_growth_mb')} | {r.get('peak_rss_mb')} |\n"
        for r in runs
    )
    text = (
        "# Peak memory of streamed and in-memory fits\n\n"
        f"`benchmarks/bench_memory.py`: DenoisingAE {PARAMS}, {N_FEATURES} float32 "
        "features per row, fit then score every row, each run in a fresh process "
        f"whose data segment is capped at its warm size + {args.headroom_mb} MB "
        "(RLIMIT_DATA). Anon = anonymous resident memory (RssAnon, sampled every "
        "10 ms); growth = over the warm process. ru_maxrss also counts the mapped "
        "file's pages (page cache).\n\n"
        + header
        + table
        + "\n"
        + "Environment: "
        + ", ".join(f"{k}={v}" for k, v in info.items())
        + "\n"
    )
    (RESULTS / "memory.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
