"""DenoisingAE on real Fashion-MNIST (protocol 2, one class); skips without the data.

The data comes from the Debian package ``dataset-fashion-mnist`` (installed by
.ci/run), torchvision's folder layout, or ``$SKANOMALY_DATA``.
"""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skanomaly import DenoisingAE


@pytest.fixture(scope="module")
def fashion_mnist():
    from skanomaly.datasets import load_fashion_mnist

    try:
        train = load_fashion_mnist(split="train")
        test = load_fashion_mnist(split="test")
    except FileNotFoundError as exc:
        pytest.skip(
            f"Fashion-MNIST idx files not found ({exc}); "
            "apt-get install dataset-fashion-mnist to run this test"
        )
    return train, test


def test_denoising_ae_protocol2_trouser(fashion_mnist):
    train, test = fashion_mnist
    normal = 1  # trouser
    X_train = train.data[train.target == normal][:2000]
    # 630 optimiser steps: past the plateau where every image is reconstructed
    # alike (a ConvergenceWarning, an error in the test run, would say so)
    det = DenoisingAE(max_epochs=10, batch_size=32, random_state=0, device="cpu").fit(
        X_train
    )
    assert det.input_shape_ == (784,) and det.scaler_.is_identity
    rows = np.random.RandomState(0).choice(len(test.data), 3000, replace=False)
    auc = roc_auc_score(
        test.target[rows] != normal, -det.score_samples(test.data[rows])
    )
    assert auc > 0.9
