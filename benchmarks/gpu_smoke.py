"""GPU smoke test: every detector trains and scores on CUDA as on the CPU.

For each public detector (``skanomaly.utils.all_estimators``), with the small
settings of the test suite (``INIT_PARAMS``) and its test data
(``make_detector_data``: 40 normal training samples, 8 normal and 8 anomalous
test samples), the script

1. fits on the CPU and on CUDA with the same ``random_state`` and scores the
   same test rows on each; it checks
   ``max |s_cuda - s_cpu| / (|s_cpu| + 1) <= 1e-3`` (``FP32_TOL``). The scores
   cannot be bit-identical: cuDNN and cuBLAS pick other kernels and sum in
   another order than the CPU, and every epoch compounds the float32
   rounding, so the tolerance is for training that agrees, not for identity.
   Steps 1 and 2 compare two trainings on the networks' own scores
   (``skanomaly.utils._testing.training_scores``: for PuzzleAE's default
   score its puzzle errors alone; the feature term's Mahalanobis distance
   reaches 1e7 on these test images and magnifies any weight difference);
2. fits on CUDA with ``amp=True`` (bfloat16 autocast) and checks that the
   scores are finite float64, within ``AMP_TOL`` = 5e-2 of the CPU's by the
   same measure, and that their ROC AUC on the test rows is within
   ``AUC_TOL`` = 0.05 of the CPU's: bfloat16 keeps 8 bits of mantissa, so
   only a loose agreement is expected;
3. pickles the CUDA-fitted model, unpickles it in a subprocess that sees no
   GPU (``CUDA_VISIBLE_DEVICES=""``) and checks that it scores there on the
   CPU within ``FP32_TOL`` of its CUDA scores.

Run on a machine with CUDA (about a minute)::

    python benchmarks/gpu_smoke.py

It writes ``results/gpu_smoke.md`` and ``results/gpu_smoke.json`` (with the
device and versions) and exits 1 if a check fails. Without CUDA it says so and
exits 0, writing nothing; ``--allow-cpu`` then runs the same script with the
CPU standing in for CUDA (a self-check of the script: step 1 must then agree
exactly, step 2 uses CPU autocast in bfloat16 in place of CUDA's, step 3
pickles a CPU model) and writes ``results/gpu_smoke_cpu_selfcheck.md``/``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from skanomaly.benchmarking import environment_info
from skanomaly.training import DetectorNet
from skanomaly.utils import all_estimators
from skanomaly.utils._testing import (
    make_detector_data,
    make_test_instance,
    training_scores,
)

RESULTS = Path(__file__).resolve().parent / "results"
FP32_TOL = 1e-3
AMP_TOL = 5e-2
AUC_TOL = 0.05


def relative_error(scores, reference) -> float:
    """``max |scores - reference| / (|reference| + 1)``."""
    return float(np.max(np.abs(scores - reference) / (np.abs(reference) + 1.0)))


def fit_and_score(cls, device, data, **params):
    """A fitted detector, its training scores of the test rows (see
    ``training_scores``: for PuzzleAE's default score, the puzzle errors) and
    its fit seconds."""
    detector = make_test_instance(cls, random_state=0, device=device, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # the tiny fits may end on the plateau; amp on the CPU warns
        warnings.simplefilter("ignore")
        detector.fit(data.X_train, **data.fit_params)
    seconds = time.perf_counter() - start
    return detector, training_scores(detector, data.X_test), seconds


def scores_in_cpu_only_process(detector, X) -> np.ndarray:
    """Scores of the unpickled ``detector`` in a process that sees no GPU."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "model.pkl").write_bytes(pickle.dumps(detector))
        np.save(tmp / "X.npy", X)
        script = textwrap.dedent(
            f"""
            import pickle, numpy as np, torch
            torch.set_num_threads(1)
            assert not torch.cuda.is_available()
            detector = pickle.loads(open({str(tmp / "model.pkl")!r}, "rb").read())
            assert detector.device_ == "cpu", detector.device_
            scores = detector.score_samples(np.load({str(tmp / "X.npy")!r}))
            np.save({str(tmp / "scores.npy")!r}, scores)
            """
        )
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        subprocess.run([sys.executable, "-c", script], env=env, check=True)
        return np.load(tmp / "scores.npy")


def check_detector(name, cls, device) -> dict:
    data = make_detector_data(cls)
    _, cpu, cpu_s = fit_and_score(cls, "cpu", data)
    fitted, target, target_s = fit_and_score(cls, device, data)
    _, mixed, mixed_s = fit_and_score(cls, device, data, amp=True)
    # one model scored on two devices: its whole score
    unpickled = scores_in_cpu_only_process(fitted, data.X_test)
    on_device = fitted.score_samples(data.X_test)
    row = {
        "detector": name,
        "fp32_rel_err": relative_error(target, cpu),
        "amp_rel_err": relative_error(mixed, cpu),
        "auc_cpu": float(roc_auc_score(data.y_test, -cpu)),
        "auc_amp": float(roc_auc_score(data.y_test, -mixed)),
        "amp_finite_float64": bool(
            mixed.dtype == np.float64 and np.isfinite(mixed).all()
        ),
        "pickled_to_cpu_rel_err": relative_error(unpickled, on_device),
        "fit_s_cpu": round(cpu_s, 2),
        "fit_s_device": round(target_s, 2),
        "fit_s_amp": round(mixed_s, 2),
    }
    row["ok"] = bool(
        row["fp32_rel_err"] <= FP32_TOL
        and row["amp_finite_float64"]
        and row["amp_rel_err"] <= AMP_TOL
        and abs(row["auc_amp"] - row["auc_cpu"]) <= AUC_TOL
        and row["pickled_to_cpu_rel_err"] <= FP32_TOL
    )
    return row


def write_results(rows, info, stem: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "environment": info,
        "tolerances": {"fp32": FP32_TOL, "amp": AMP_TOL, "auc": AUC_TOL},
        "rows": rows,
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    columns = list(rows[0])
    lines = [
        f"# {stem}",
        "",
        f"Device: {info['device']} ({info.get('gpu', info.get('cpu', ''))}); "
        f"torch {info.get('torch', '')}; {info['date']}.",
        "",
        f"Tolerances: fp32 {FP32_TOL} and amp {AMP_TOL} on "
        "max |s - s_cpu| / (|s_cpu| + 1); ROC AUC within "
        f"{AUC_TOL} with amp; pickled model scored on CPU within {FP32_TOL}.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="CUDA device to test")
    parser.add_argument(
        "--allow-cpu",
        action="store_true",
        help="without CUDA, run the CPU-vs-CPU self-check of the script",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    device, stem = args.device, "gpu_smoke"
    if not torch.cuda.is_available():
        if not args.allow_cpu:
            print(
                "No CUDA device: nothing to check (torch.cuda.is_available() is "
                "False). Run with --allow-cpu for the CPU self-check of the script."
            )
            return 0
        print("No CUDA device: CPU self-check (the CPU stands in for CUDA).")
        device, stem = "cpu", "gpu_smoke_cpu_selfcheck"
        # bfloat16 autocast on the CPU stands in for CUDA's in the amp fits
        DetectorNet.amp_device_types = ("cuda", "cpu")

    rows = []
    for name, cls in all_estimators():
        row = check_detector(name, cls, device)
        print(json.dumps(row))
        rows.append(row)
    write_results(rows, environment_info(device), stem)
    failed = [row["detector"] for row in rows if not row["ok"]]
    print(f"{len(rows) - len(failed)}/{len(rows)} detectors pass on {device}", end="")
    print(f"; failed: {failed}" if failed else ".")
    print(f"Wrote {RESULTS / stem}.md and .json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
