"""skanomaly.benchmarking._data: the benchmark data sets, on fake idx files."""

import gzip

import numpy as np
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
