"""Tests of the benchmark engine on scikit-learn's digits and fake idx files."""

import csv
import gzip
import io
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

from skanomaly import DenoisingAE
from skanomaly.benchmarking import (
    BUDGETS,
    DETECTOR_FACTORIES,
    TIME_COLUMNS,
    BenchmarkResult,
    Budget,
    describe_detectors,
    environment_info,
    get_budget,
    load_benchmark_data,
    make_detector,
    run_benchmark,
)
from skanomaly.datasets import load_digits_unit, one_class_split
from skanomaly.metrics import novelty_roc_auc


def _tiny_ae(**params):
    return DenoisingAE(
        hidden_dims=(16, 4),
        max_epochs=1,
        batch_size=64,
        device="cpu",
        random_state=0,
        **params,
    )


@pytest.fixture(scope="module")
def small_result():
    return run_benchmark(
        {"ae": _tiny_ae(), "forest": IsolationForest(n_estimators=10, random_state=0)},
        normal_classes=[0, (1, 7)],
        progress=False,
    )


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


def test_summary_means(small_result):
    summary = {s["detector"]: s for s in small_result.summary()}
    assert set(summary) == {"ae", "forest"}
    forest_rows = [r for r in small_result.rows if r["detector"] == "forest"]
    assert summary["forest"]["roc_auc"] == pytest.approx(
        np.mean([r["roc_auc"] for r in forest_rows])
    )
    assert summary["forest"]["n_classes"] == 2 and summary["forest"]["n_failed"] == 0


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


@pytest.mark.parametrize("suffix", [".csv", ".md", ".json"])
def test_written_files_carry_results_and_metadata(small_result, tmp_path, suffix):
    path = tmp_path / "sub" / f"result{suffix}"
    small_result.save(path)
    text = path.read_text()
    auc = small_result.rows[0]["roc_auc"]
    if suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert len(rows) == 4 + 2  # per class, then one mean row per detector
        assert float(rows[0]["roc_auc"]) == pytest.approx(auc)
        assert rows[-1]["normal_class"] == "mean"
        assert {
            "seed",
            "budget",
            "device",
            "torch",
            "sklearn",
            "pyod",
            "date",
            "cpu",
        } <= set(rows[0])
    elif suffix == ".json":
        payload = json.loads(text)
        assert payload["results"][0]["roc_auc"] == pytest.approx(auc)
        assert payload["metadata"]["seed"] == 0
        assert payload["summary"][0]["detector"] == "ae"
    else:
        assert f"{auc:.4f}" in text
        assert "## Summary" in text and "## forest" in text
        assert "- seed: 0" in text and "- torch:" in text


def test_format_tables(small_result):
    text = small_result.format_tables()
    assert "== ae" in text and "== forest" in text and "== summary" in text
    assert "FPR@TPR0.995" in text
    assert "== ae" not in small_result.format_tables(per_class=False)


def test_save_rejects_unknown_suffix(small_result, tmp_path):
    with pytest.raises(ValueError, match=".csv, .md or .json"):
        small_result.save(tmp_path / "result.txt")


def test_registry_builds_every_detector():
    budget = get_budget("quick", max_epochs=3, device="cpu")
    for name in DETECTOR_FACTORIES:
        if name.startswith("pyod"):
            pytest.importorskip("pyod")
        with torch.random.fork_rng(), _numpy_state_kept():
            estimator = make_detector(name, budget, seed=5)
        assert hasattr(estimator, "fit"), name
        params = estimator.get_params()
        if "max_epochs" in params:
            assert params["max_epochs"] == 3
        if "epoch_num" in params:
            assert params["epoch_num"] == 3
    assert set(describe_detectors()) == set(DETECTOR_FACTORIES)
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("no-such-detector")


class _numpy_state_kept:
    """PyOD's deep detectors seed numpy's global generator in __init__."""

    def __enter__(self):
        self.state = np.random.get_state()  # noqa: NPY002
        self.python = random.getstate()

    def __exit__(self, *exc):
        np.random.set_state(self.state)  # noqa: NPY002
        random.setstate(self.python)


def test_budgets():
    assert get_budget("quick") is BUDGETS["quick"]
    assert get_budget("paper").epochs(1600) == 1600
    assert get_budget("quick", max_epochs=4).epochs(1600) == 4
    custom = Budget("mine", 7, "cpu")
    assert get_budget(custom) is custom
    with pytest.raises(ValueError, match="unknown budget"):
        get_budget("huge")
    with pytest.raises(ValueError, match="max_epochs"):
        get_budget("quick", max_epochs=0)


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
                # one epoch of 4 steps: still on the plateau
                "plateau": DenoisingAE(max_epochs=1, random_state=0, device="cpu"),
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


def test_same_seed_same_numbers():
    kwargs = {"normal_classes": [2], "progress": False, "budget": Budget("t", 1, "cpu")}
    first = run_benchmark({"ae": _tiny_ae()}, **kwargs)
    again = run_benchmark({"ae": _tiny_ae()}, **kwargs)
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


def test_input_shape_is_filled_in_only_when_unset():
    from skanomaly.benchmarking._engine import _fill_input_shape

    assert _fill_input_shape(_tiny_ae(), (1, 8, 8)).input_shape == (1, 8, 8)
    explicit = _fill_input_shape(_tiny_ae(input_shape=(64,)), (1, 8, 8))
    assert explicit.input_shape == (64,)
    forest = _fill_input_shape(IsolationForest(), (1, 8, 8))
    assert "input_shape" not in forest.get_params()


def test_environment_info_resolves_device():
    info = environment_info("cpu")
    assert info["device"] == "cpu"
    assert isinstance(info["cpu_count"], int)
    assert info["skanomaly"]


def test_result_object_is_plain():
    empty = BenchmarkResult(rows=[], metadata={})
    assert empty.summary() == [] and empty.detectors == []


# ---------------------------------------------------------------- checkpoint
class _RecordingForest(IsolationForest):
    """IsolationForest that records its fits, and fails or stops on request.

    The benchmark fits clones, so the records and switches live on the class
    (reset by the ``recording`` fixture); its ``repr`` is that of a plain
    estimator, so switching them does not change the checkpoint fingerprint.
    """

    #: the number of lines of ``checkpoint`` at each fit
    fits = []
    checkpoint = Path("run.jsonl")
    #: raise RuntimeError in fit (a failed row)
    fail = False
    #: raise KeyboardInterrupt at the fit with this index (a killed run)
    interrupt_at = None

    def fit(self, X, y=None, sample_weight=None):
        cls = type(self)
        if cls.interrupt_at == len(cls.fits):
            raise KeyboardInterrupt
        path = cls.checkpoint
        lines = len(path.read_text().splitlines()) if path.exists() else 0
        cls.fits.append(lines)
        if cls.fail:
            raise RuntimeError("failed on request")
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture
def recording(monkeypatch, tmp_path):
    """A fresh _RecordingForest record, watching tmp_path / "run.jsonl"."""
    path = tmp_path / "run.jsonl"
    monkeypatch.setattr(_RecordingForest, "fits", [])
    monkeypatch.setattr(_RecordingForest, "checkpoint", path)
    monkeypatch.setattr(_RecordingForest, "fail", False)
    monkeypatch.setattr(_RecordingForest, "interrupt_at", None)
    return path


def _checkpointed(path=None, *, n_estimators=10, classes=(0, 1), **kwargs):
    detectors = {
        "forest": _RecordingForest(n_estimators=n_estimators, random_state=0),
        "lof": LocalOutlierFactor(novelty=True),
    }
    return run_benchmark(
        detectors,
        normal_classes=list(classes),
        progress=False,
        checkpoint=path,
        **kwargs,
    )


def _without_times(rows):
    return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in rows]


def _checkpoint_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoint_rows_are_written_as_they_finish(recording):
    result = _checkpointed(recording)
    # forest 0, lof 0, forest 1, lof 1: each fit saw every earlier row on disk
    assert _RecordingForest.fits == [0, 2]
    lines = _checkpoint_lines(recording)
    assert [line["row"] for line in lines] == result.rows
    fingerprints = [line["settings"] for line in lines]
    assert len(set(fingerprints)) == 4
    assert all(len(f) == 64 and int(f, 16) >= 0 for f in fingerprints)
    assert result.metadata["checkpoint"] == str(recording)
    assert result.metadata["resumed_rows"] == 0
    assert "resumed_rows" not in _checkpointed().metadata  # no checkpoint


def test_rerun_reuses_checkpointed_rows_without_fitting(recording):
    first = _checkpointed(recording)
    assert len(_RecordingForest.fits) == 2
    again = _checkpointed(recording)
    assert len(_RecordingForest.fits) == 2  # no refit
    assert again.rows == first.rows  # seconds included: loaded, not measured
    assert again.metadata["resumed_rows"] == 4
    assert len(_checkpoint_lines(recording)) == 4  # nothing appended


def test_resumed_run_equals_an_uninterrupted_one(recording):
    uninterrupted = _checkpointed(classes=(0, 1, 2))
    _RecordingForest.fits.clear()
    # forest 0, lof 0, forest 1 (killed before it fits), ...
    _RecordingForest.interrupt_at = 1
    with pytest.raises(KeyboardInterrupt):
        _checkpointed(recording, classes=(0, 1, 2))
    assert [line["row"]["normal_class"] for line in _checkpoint_lines(recording)] == [
        "0",
        "0",
    ]
    _RecordingForest.interrupt_at = None
    resumed = _checkpointed(recording, classes=(0, 1, 2))
    assert resumed.metadata["resumed_rows"] == 2
    assert len(_RecordingForest.fits) == 1 + 2  # classes 1 and 2 only
    assert _without_times(resumed.rows) == _without_times(uninterrupted.rows)
    assert resumed.metadata["normal_classes"] == ["0", "1", "2"]
    assert resumed.summary()[0]["roc_auc"] == pytest.approx(
        uninterrupted.summary()[0]["roc_auc"]
    )


def test_changed_settings_are_computed_again(recording):
    first = _checkpointed(recording)
    assert len(_RecordingForest.fits) == 2
    other_seed = _checkpointed(recording, random_state=1)
    assert other_seed.metadata["resumed_rows"] == 0
    assert len(_RecordingForest.fits) == 4
    assert [r["n_test"] for r in other_seed.rows] == [r["n_test"] for r in first.rows]
    # other forest parameters: the forest runs again, LOF's rows are reused
    other_params = _checkpointed(recording, n_estimators=5)
    assert other_params.metadata["resumed_rows"] == 2
    assert len(_RecordingForest.fits) == 6
    lof = [r for r in other_params.rows if r["detector"] == "lof"]
    assert lof == [r for r in first.rows if r["detector"] == "lof"]
    # every earlier setting is still in the file and reused
    assert _checkpointed(recording, random_state=1).metadata["resumed_rows"] == 4
    assert len(_RecordingForest.fits) == 6


def test_truncated_last_line_is_ignored(recording):
    first = _checkpointed(recording)
    text = recording.read_text()
    recording.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])
    resumed = _checkpointed(recording)  # the cut-short line: lof on class 1
    assert resumed.metadata["resumed_rows"] == 3
    assert len(_RecordingForest.fits) == 2  # the forest did not run again
    assert _without_times(resumed.rows) == _without_times(first.rows)
    # the row written after the broken line is readable on its own
    assert _checkpointed(recording).metadata["resumed_rows"] == 4
    recording.write_text(recording.read_text() + '{"settings": "ab')
    assert _checkpointed(recording).metadata["resumed_rows"] == 4


def test_failed_rows_are_computed_again(recording):
    _RecordingForest.fail = True
    failed = _checkpointed(recording, on_error="record")
    assert [r["error"] for r in failed.rows] == [
        "RuntimeError: failed on request",
        "",
        "RuntimeError: failed on request",
        "",
    ]
    assert len(_checkpoint_lines(recording)) == 4  # failures are recorded too
    _RecordingForest.fail = False
    fixed = _checkpointed(recording, on_error="record")
    assert fixed.metadata["resumed_rows"] == 2  # LOF's rows
    assert len(_RecordingForest.fits) == 4
    assert all(r["error"] == "" for r in fixed.rows)
    assert _checkpointed(recording).metadata["resumed_rows"] == 4
