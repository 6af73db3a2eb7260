"""skanomaly.benchmarking._data: the benchmark data sets, on fake idx files."""

import gzip

import numpy as np
import pytest
from sklearn.neighbors import LocalOutlierFactor

from skanomaly.benchmarking import load_benchmark_data, run_benchmark


def _write_fake_fashion(root, n_train=60, n_test=30):
    folder = root / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 3).astype(np.uint8)
        images = rng.randint(0, 50, size=(n, 28, 28)).astype(np.uint8)
        images[:, :, :] += (labels * 60)[:, None, None].astype(np.uint8)
        for stem, array in (
            ("images-idx3-ubyte", images),
            ("labels-idx1-ubyte", labels),
        ):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(
                int(d).to_bytes(4, "big") for d in array.shape
            )
            with gzip.open(folder / f"{prefix}-{stem}.gz", "wb") as f:
                f.write(header + array.tobytes())


def test_protocol2_on_idx_files(tmp_path):
    _write_fake_fashion(tmp_path)
    data = load_benchmark_data("fashion-mnist", data_home=tmp_path)
    assert data.X.shape == (60, 784) and data.X_test.shape == (30, 784)
    assert data.input_shape == (1, 28, 28)
    result = run_benchmark(
        {"lof": LocalOutlierFactor(n_neighbors=5, novelty=True)},
        dataset="fashion-mnist",
        data_home=tmp_path,
        progress=False,
    )
    assert result.metadata["protocol"] == 2
    assert [r["normal_class"] for r in result.rows] == ["0", "1", "2"]
    for row in result.rows:
        assert row["n_train"] == 20 and row["n_test"] == 30
        assert row["roc_auc"] == 1.0  # the fake classes are far apart


@pytest.mark.filterwarnings("ignore:.*calibration rows are too few")
def test_next_class_negatives_on_idx_files(tmp_path):
    """LIS-AE's setting: class k+1's training images go to fit(X_negative=)
    and leave the test set; a detector without X_negative fits on class k."""
    from skanomaly import LISAE

    _write_fake_fashion(tmp_path)
    seen = {}

    class Recording(LISAE):
        def fit(self, X, y=None, X_negative=None):
            seen[len(seen)] = X_negative
            return super().fit(X, y, X_negative=X_negative)

    lisae = Recording(latent_dim=2, width=2, max_epochs=1, phase2_epochs=1)
    result = run_benchmark(
        {
            "lisae": lisae.set_params(device="cpu", random_state=0),
            "lof": LocalOutlierFactor(n_neighbors=5, novelty=True),
        },
        dataset="fashion-mnist",
        data_home=tmp_path,
        negatives="next-class",
        progress=False,
    )
    assert result.metadata["negatives"] == "next-class"
    for row in result.rows:
        # 20 training images of class k; the test split's 10 of class k+1 left out
        assert (row["n_train"], row["n_test"], row["error"]) == (20, 20, "")
        assert row["anomaly_share"] == 0.5
    # the negatives of class k: the 20 training images of class k+1 (2 -> 0),
    # whose fake pixels are 60 (k+1) to 60 (k+1) + 49
    for k in range(3):
        pixels = np.rint(np.asarray(seen[k]) * 255)
        following = (k + 1) % 3
        assert len(pixels) == 20
        assert 60 * following <= pixels.min() and pixels.max() < 60 * following + 50


def test_negatives_are_checked(tmp_path):
    with pytest.raises(ValueError, match="protocol 2 only"):
        run_benchmark({"lof": LocalOutlierFactor(novelty=True)}, negatives="next-class")
    with pytest.raises(ValueError, match="negatives must be"):
        run_benchmark({"lof": LocalOutlierFactor(novelty=True)}, negatives="previous")
