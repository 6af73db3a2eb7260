"""Draw the figure of docs/thresholds.md into docs/images/.

DenoisingAE at its defaults on scikit-learn's digits (seed 0): 120 images of
the digit 0 train, the other 58 zeros are unseen normal rows, as many images
of other digits are anomalies. Two fits: ``calibration="training"`` (the
threshold before calibration: a percentile of the training rows' scores) and
the default ``calibration=0.2``. The histograms show each fit's scores of the
training rows, the unseen normal rows and the anomalies, with its threshold
at ``contamination=0.1``.

Run::

    python docs/make_threshold_figure.py  # ~5 s

Writes docs/images/thresholds_histograms.png and thresholds_histograms.json
(settings, versions, the realised rates).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skanomaly import DenoisingAE  # noqa: E402
from skanomaly.benchmarking import environment_info  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"
SEED = 0


def main():
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.RandomState(SEED)
    zeros = rng.permutation(np.flatnonzero(y == 0))
    others = rng.permutation(np.flatnonzero(y != 0))
    X_train, X_normal = X[zeros[:120]], X[zeros[120:]]
    X_anomaly = X[others[: len(X_normal)]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    record = {"seed": SEED, "environment": environment_info("cpu"), "fits": {}}
    for ax, calibration in zip(axes, ["training", 0.2], strict=True):
        det = DenoisingAE(device="cpu", random_state=SEED, calibration=calibration)
        det.fit(X_train)
        scores = {
            "training rows": -det.score_samples(X_train),
            "unseen normal rows": -det.score_samples(X_normal),
            "anomalies (other digits)": -det.score_samples(X_anomaly),
        }
        bins = np.histogram_bin_edges(np.concatenate(list(scores.values())), 40)
        for (label, values), color in zip(
            scores.items(), ["tab:gray", "tab:blue", "tab:red"], strict=True
        ):
            ax.hist(values, bins=bins, alpha=0.55, color=color, label=label)
        threshold = -det.offset_
        ax.axvline(threshold, color="black", linestyle="--", label="threshold")
        fpr = float(np.mean(scores["unseen normal rows"] > threshold))
        tpr = float(np.mean(scores["anomalies (other digits)"] > threshold))
        title = (
            "calibration='training' (before)"
            if calibration == "training"
            else "calibration=0.2 (default)"
        )
        ax.set_title(f"{title}\nunseen normal flagged {fpr:.0%}, anomalies {tpr:.0%}")
        ax.set_xlabel("anomaly score (-score_samples)")
        record["fits"][str(calibration)] = {"fpr": fpr, "tpr": tpr}
    axes[0].set_ylabel("rows")
    axes[1].legend(fontsize=8)
    fig.suptitle("DenoisingAE on digit 0, contamination=0.1", fontsize=10)
    fig.tight_layout()
    IMAGES.mkdir(exist_ok=True)
    fig.savefig(IMAGES / "thresholds_histograms.png", dpi=110)
    (IMAGES / "thresholds_histograms.json").write_text(
        json.dumps(record, indent=1, default=str)
    )
    print(json.dumps(record["fits"]))


if __name__ == "__main__":
    main()
