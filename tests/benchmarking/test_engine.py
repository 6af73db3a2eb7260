"""skanomaly.benchmarking._engine: run_benchmark on scikit-learn's digits."""

import csv
import io
import json
import random
import warnings

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

from skanomaly import DenoisingAE
from skanomaly.benchmarking import Budget, run_benchmark
from skanomaly.datasets import load_digits_unit, one_class_split
from skanomaly.metrics import novelty_roc_auc


def test_rows_and_metrics(small_result):
    rows = small_result.rows
    assert [(r["detector"], r["normal_class"]) for r in rows] == [
        ("ae", "0"),
        ("forest", "0"),
        ("ae", "1+7"),
        ("forest", "1+7"),
    ]
    for row in rows:
        assert row["error"] == ""
        for column in ("roc_auc", "average_precision", "best_f1", "fpr_at_tpr"):
            assert 0.0 <= row[column] <= 1.0
        assert row["fit_s"] > 0 and row["score_s"] > 0
        assert row["anomaly_share"] == pytest.approx(0.5, abs=0.01)
    # the engine's AUC is the one a user gets by hand with the same split
    X, y = load_digits_unit(return_X_y=True)
    X_train, X_test, y_test = one_class_split(
        X, y, [0], protocol=1, anomaly_fraction=0.5, random_state=0
    )
    forest = IsolationForest(n_estimators=10, random_state=0).fit(X_train)
    expected = novelty_roc_auc(y_test, -forest.score_samples(X_test))
    assert rows[1]["roc_auc"] == pytest.approx(expected)
    assert rows[1]["n_train"] == len(X_train) and rows[1]["n_test"] == len(X_test)


def test_metadata_records_the_run(small_result):
    meta = small_result.metadata
    for key in (
        "seed",
        "budget",
        "max_epochs",
        "device",
        "python",
        "torch",
        "sklearn",
        "pyod",
        "skanomaly",
        "date",
        "cpu",
        "dataset",
        "protocol",
    ):
        assert key in meta, key
    assert meta["dataset"] == "digits" and meta["protocol"] == 1
    assert meta["normal_classes"] == ["0", "1+7"]
    assert (
        meta["wall_s"]
        >= sum(r["fit_s"] + r["score_s"] for r in small_result.rows) - 0.01
    )


def test_registry_detectors_get_budget_and_seed():
    result = run_benchmark(
        ["denoising-ae", "sklearn-lof"],
        normal_classes=[3],
        budget=Budget("test", 1, "cpu"),
        random_state=4,
        progress=False,
    )
    assert "max_epochs=1" in result.metadata["detectors"]["denoising-ae"]
    assert "random_state=4" in result.metadata["detectors"]["denoising-ae"]
    assert result.metadata["max_epochs"] == 1
    assert [r["detector"] for r in result.rows] == ["denoising-ae", "sklearn-lof"]


def test_plateau_fits_are_flagged_and_other_warnings_pass_through():
    class Noisy(LocalOutlierFactor):
        def fit(self, X, y=None):
            warnings.warn("not a convergence warning", UserWarning, stacklevel=1)
            return super().fit(X)

    with pytest.warns(UserWarning, match="not a convergence warning"):
        result = run_benchmark(
            {
                # the paper's sigmoid network, one epoch of 4 steps: still on
                # the plateau
                "plateau": DenoisingAE(
                    activation="sigmoid", max_epochs=1, random_state=0, device="cpu"
                ),
                "trained": DenoisingAE(
                    max_epochs=40, batch_size=8, random_state=0, device="cpu"
                ),
                "noisy": Noisy(novelty=True),
            },
            normal_classes=[0],
            progress=False,
        )
    flags = {r["detector"]: r["plateau"] for r in result.rows}
    assert flags == {"plateau": True, "trained": False, "noisy": False}
    summary = {s["detector"]: s for s in result.summary()}
    assert summary["plateau"]["n_plateau"] == 1 and summary["trained"]["n_plateau"] == 0
    text = result.format_tables()
    assert "(1 on plateau)" in text
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert [r["n_plateau"] for r in rows if r["normal_class"] == "mean"] == [
        "1",
        "0",
        "0",
    ]


def test_same_seed_same_numbers(tiny_ae):
    kwargs = {"normal_classes": [2], "progress": False, "budget": Budget("t", 1, "cpu")}
    first = run_benchmark({"ae": tiny_ae()}, **kwargs)
    again = run_benchmark({"ae": tiny_ae()}, **kwargs)
    assert first.rows[0]["roc_auc"] == again.rows[0]["roc_auc"]


@pytest.mark.foreign_rng  # PyOD itself seeds the generators in __init__
def test_pyod_detectors_run_and_global_state_is_restored():
    pytest.importorskip("pyod")
    from pyod.models.auto_encoder import AutoEncoder

    # PyOD's __init__ seeds the global generators: build it before the snapshot
    autoencoder = AutoEncoder(
        epoch_num=1, device="cpu", verbose=0, hidden_neuron_list=[8, 4]
    )
    np_state = np.random.get_state()  # noqa: NPY002
    torch_state = torch.random.get_rng_state()
    python_state = random.getstate()
    result = run_benchmark(
        {"knn": "pyod-knn", "ae": autoencoder},
        normal_classes=[0],
        progress=False,
    )
    assert result.rows[0]["roc_auc"] > 0.9  # the sign is right: 1 - AUC would be < 0.1
    assert result.rows[1]["error"] == ""
    assert np.array_equal(np.random.get_state()[1], np_state[1])  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert random.getstate() == python_state


def test_from_pyod_detector_runs():
    pytest.importorskip("pyod")
    adapters = pytest.importorskip("skanomaly.adapters")
    from pyod.models.knn import KNN

    result = run_benchmark(
        {"knn": adapters.from_pyod(KNN())}, normal_classes=[0], progress=False
    )
    direct = run_benchmark({"knn": KNN()}, normal_classes=[0], progress=False)
    assert result.rows[0]["roc_auc"] == pytest.approx(direct.rows[0]["roc_auc"])


def test_errors_are_recorded_or_raised():
    class Broken(LocalOutlierFactor):
        def fit(self, X, y=None):
            raise RuntimeError("boom")

    broken = Broken(novelty=True)
    with pytest.raises(RuntimeError, match="boom"):
        run_benchmark({"broken": broken}, normal_classes=[0], progress=False)
    result = run_benchmark(
        {"broken": broken, "lof": LocalOutlierFactor(novelty=True)},
        normal_classes=[0],
        progress=False,
        on_error="record",
    )
    assert result.rows[0]["error"] == "RuntimeError: boom"
    assert np.isnan(result.rows[0]["roc_auc"])
    summary = {s["detector"]: s for s in result.summary()}
    assert summary["broken"]["n_failed"] == 1 and np.isnan(summary["broken"]["roc_auc"])
    assert summary["lof"]["n_failed"] == 0
    assert "RuntimeError: boom" in result.format_tables()
    assert json.loads(result.to_json())["results"][0]["roc_auc"] is None


def test_protocol_checks():
    with pytest.raises(ValueError, match="no official test split"):
        run_benchmark(
            {"lof": LocalOutlierFactor(novelty=True)}, protocol=2, progress=False
        )
    with pytest.raises(ValueError, match="unknown dataset"):
        run_benchmark(
            {"lof": LocalOutlierFactor(novelty=True)}, dataset="cifar", progress=False
        )


def test_input_shape_is_filled_in_only_when_unset(tiny_ae):
    from skanomaly.benchmarking._engine import _fill_data_params

    assert _fill_data_params(tiny_ae(), (1, 8, 8), 64).input_shape == (1, 8, 8)
    explicit = _fill_data_params(tiny_ae(input_shape=(64,)), (1, 8, 8), 64)
    assert explicit.input_shape == (64,)
    forest = _fill_data_params(IsolationForest(), (1, 8, 8), 64)
    assert "input_shape" not in forest.get_params()


def _adbench_file(folder, n_normal=200, n_anomalies=30, n_features=4, seed=0):
    rng = np.random.RandomState(seed)
    X = np.r_[
        rng.uniform(10, 20, size=(n_normal, n_features)),
        rng.uniform(30, 40, size=(n_anomalies, n_features)),
    ]
    y = np.r_[np.zeros(n_normal), np.ones(n_anomalies)].astype(int)
    np.savez(folder / "7_toy.npz", X=X, y=y)


def test_adbench_novelty_split(tmp_path):
    """ADBench sets: class 0 normal, 60 % of the normal rows train, the rest and
    every anomaly test, min-max scaled on the training rows."""
    _adbench_file(tmp_path)
    result = run_benchmark(
        ["pyod-knn"], dataset="adbench:7_toy", data_home=tmp_path, progress=False
    )
    (row,) = result.rows
    assert row["normal_class"] == "0"
    assert row["n_train"] == 120 and row["n_test"] == 80 + 30
    assert row["anomaly_share"] == pytest.approx(30 / 110)
    assert row["roc_auc"] == 1.0
    assert result.metadata["train_fraction"] == 0.6
    assert result.metadata["anomaly_fraction"] is None
    assert result.metadata["split"] == {
        "max_train": 3000,
        "max_test": 3000,
        "scale": "minmax",
    }


def test_adbench_caps_and_scaling(tmp_path, monkeypatch):
    from skanomaly.benchmarking import _data, _engine

    _adbench_file(tmp_path, n_normal=100, n_anomalies=40)
    monkeypatch.setitem(_data.ADBENCH_SPLIT, "max_train", 20)
    monkeypatch.setitem(_data.ADBENCH_SPLIT, "max_test", 50)
    data = _data.load_benchmark_data("adbench:toy", data_home=tmp_path)
    X_train, X_test, y_test = _engine._split(
        data,
        (0,),
        protocol=1,
        train_fraction=0.6,
        anomaly_fraction=None,
        random_state=0,
    )
    assert X_train.shape == (20, 4) and len(X_test) == len(y_test) == 50
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert X_test.max() > 1.0  # scaled on the training rows only, not clipped


def test_validation_protocol_never_reads_the_test_split():
    """With an official split, validation tasks come from the training split."""
    from sklearn.utils import Bunch

    from skanomaly.benchmarking._engine import _split

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 3)).astype(np.float32)
    y = np.repeat([0, 1], 100)
    test = np.full((50, 3), np.nan, dtype=np.float32)  # never to be read
    data = Bunch(X=X, y=y, X_test=test, y_test=np.zeros(50, int), split={})
    X_train, X_test, y_test = _split(
        data,
        (0,),
        protocol="validation",
        train_fraction=0.8,
        anomaly_fraction=0.5,
        random_state=0,
    )
    assert not np.isnan(X_train).any() and not np.isnan(X_test).any()
    assert len(X_train) == 80 and len(X_test) == 40 and y_test.mean() == 0.5


def test_validation_protocol_without_a_split_uses_a_fixed_half():
    one = run_benchmark(
        {"forest": IsolationForest(n_estimators=5, random_state=0)},
        protocol="validation",
        normal_classes=[0],
        progress=False,
    )
    full = run_benchmark(
        {"forest": IsolationForest(n_estimators=5, random_state=0)},
        protocol=1,
        normal_classes=[0],
        progress=False,
    )
    assert one.rows[0]["n_train"] < full.rows[0]["n_train"] * 0.6
    assert one.metadata["protocol"] == "validation"
    with pytest.raises(ValueError, match="protocol must be 1, 2 or 'validation'"):
        run_benchmark(["pyod-knn"], protocol=3, progress=False)
