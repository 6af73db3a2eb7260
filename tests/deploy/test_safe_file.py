"""skanomaly.save / load: round trips, safety and clear errors."""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

import skanomaly
from skanomaly import ARAE, CRBND, LISAE, DenoisingAE, PuzzleAE, RobustGMMDAE
from skanomaly.deploy import FORMAT_VERSION, load, save
from skanomaly.utils._testing import (
    make_blob_images,
    make_subspace_rows,
    make_test_instance,
)

sys.path.insert(0, str(Path(__file__).parents[1]))
from test_score_stability import CONFIGURATIONS, fit_configuration  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def dae(tmp_path_factory):
    X, X_test = make_subspace_rows(0)
    detector = make_test_instance(DenoisingAE).fit(X)
    path = save(detector, tmp_path_factory.mktemp("files") / "dae.skanomaly")
    return detector, path, X_test


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_round_trip_gives_the_same_scores_and_decisions(name, tmp_path):
    detector, X_test = fit_configuration(name, tmp_path)
    path = detector.save(tmp_path / "det.skanomaly")
    restored = type(detector).load(path)
    assert type(restored) is type(detector)
    assert restored.get_params().keys() == detector.get_params().keys()
    np.testing.assert_array_equal(
        restored.score_samples(X_test), detector.score_samples(X_test)
    )
    assert restored.offset_ == detector.offset_
    np.testing.assert_array_equal(restored.predict(X_test), detector.predict(X_test))
    np.testing.assert_array_equal(
        restored.conformal_pvalues(X_test), detector.conformal_pvalues(X_test)
    )
    assert restored.history_ == detector.history_
    assert restored.input_shape_ == detector.input_shape_
    # the loaded detector's module is its own, with the same threshold
    module = restored.anomaly_score_module()
    assert float(module.threshold) == -detector.offset_


def test_fitted_attributes_keep_their_types(dae, tmp_path):
    detector, path, _ = dae
    restored = load(path)
    for key, value in vars(detector).items():
        if key.startswith("_cached_") or key == "net_" or not key.endswith("_"):
            continue
        got = getattr(restored, key)
        assert type(got) is type(value), key
        if isinstance(value, np.ndarray):
            assert got.dtype == value.dtype
            np.testing.assert_array_equal(got, value)


def test_every_detector_kind_round_trips_its_facts(tmp_path):
    detector, _ = fit_configuration("rgmm-tabular", tmp_path)
    restored = load(detector.save(tmp_path / "rgmm.skanomaly"))
    assert restored.loss_weights_ == detector.loss_weights_
    assert restored.architecture_ == detector.architecture_
    detector, _ = fit_configuration("puzzle-mean", tmp_path)
    restored = load(detector.save(tmp_path / "puzzle.skanomaly"))
    np.testing.assert_array_equal(restored.permutations_, detector.permutations_)


def test_a_loaded_detector_recalibrates_and_follows_contamination(dae):
    detector, path, X_test = dae
    restored = load(path)
    restored.set_params(contamination=0.3)
    assert restored.offset_ > detector.offset_
    restored.calibrate(X_test[:10])
    assert restored.calibration_source_ == "calibrate"
    # a score-defining change is still caught after loading
    restored.set_params(anomaly_score="nap")
    with pytest.raises(ValueError, match="score changed"):
        restored.predict(X_test)


def test_loading_leaves_global_random_state_alone(dae):
    _, path, _ = dae
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the point)
    load(path)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002


def test_pickle_keeps_working(dae):
    detector, _, X_test = dae
    restored = pickle.loads(pickle.dumps(detector))
    np.testing.assert_array_equal(
        restored.score_samples(X_test), detector.score_samples(X_test)
    )


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_tampered_file_cannot_execute_code(dae, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, path, _ = dae
    payload = torch.load(path, weights_only=True)
    payload["header"] = _RunsCode()
    tampered = tmp_path / "tampered.skanomaly"
    torch.save(payload, tampered)
    with pytest.raises(ValueError, match="nothing of it was run"):
        load(tampered)
    assert not (tmp_path / "pwned").exists()
    # a plain pickle of code is refused the same way
    with open(tmp_path / "plain.pkl", "wb") as handle:
        pickle.dump(_RunsCode(), handle)
    with pytest.raises(ValueError, match="nothing of it was run"):
        load(tmp_path / "plain.pkl")
    assert not (tmp_path / "pwned").exists()


def test_a_modified_file_fails_its_checksum(dae, tmp_path):
    _, path, _ = dae
    payload = torch.load(path, weights_only=True)
    key = next(k for k in payload["tensors"] if k.startswith("net."))
    payload["tensors"][key] = payload["tensors"][key] + 1e-3
    torch.save(payload, tmp_path / "edited.skanomaly")
    with pytest.raises(ValueError, match="checksum"):
        load(tmp_path / "edited.skanomaly")


def test_a_truncated_or_foreign_file_is_refused(dae, tmp_path):
    _, path, _ = dae
    data = Path(path).read_bytes()
    (tmp_path / "cut.skanomaly").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable skanomaly detector file"):
        load(tmp_path / "cut.skanomaly")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a skanomaly detector file"):
        load(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skanomaly")


def test_an_unknown_format_version_is_refused(dae, tmp_path):
    _, path, _ = dae
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, tmp_path / "future.skanomaly")
    with pytest.raises(ValueError, match="format version 2"):
        load(tmp_path / "future.skanomaly")


def test_a_file_of_another_detector_is_refused(dae):
    _, path, _ = dae
    with pytest.raises(ValueError, match="holds a DenoisingAE, not an ARAE"):
        ARAE.load(path)
    assert isinstance(skanomaly.load(path), DenoisingAE)


def test_weights_that_do_not_fit_the_rebuilt_networks_are_refused(dae, tmp_path):
    from skanomaly.deploy._safe_file import _checksum

    _, path, _ = dae
    payload = torch.load(path, weights_only=True)
    key = next(k for k in payload["tensors"] if k.endswith("weight"))
    payload["tensors"][key] = torch.zeros(1, 1)
    payload["checksum"] = _checksum(payload["header"], payload["tensors"])
    torch.save(payload, tmp_path / "shape.skanomaly")
    with pytest.raises(ValueError, match="do not fit"):
        load(tmp_path / "shape.skanomaly")


def test_unsaveable_parameters_and_unfitted_detectors_say_so(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save(make_test_instance(DenoisingAE), tmp_path / "x.skanomaly")
    with pytest.raises(TypeError, match="save writes skanomaly detectors"):
        save(object(), tmp_path / "x.skanomaly")
    X, _ = make_blob_images(0)
    detector = make_test_instance(PuzzleAE, callbacks=[("noop", Callback())]).fit(X)
    with pytest.raises(TypeError, match="parameter 'callbacks'"):
        detector.save(tmp_path / "x.skanomaly")
    assert not (tmp_path / "x.skanomaly").exists()


def test_a_model_saved_on_a_missing_device_loads_on_the_cpu(dae, tmp_path):
    detector, _, X_test = dae
    moved = pickle.loads(pickle.dumps(detector))
    moved.device_ = "cuda:0" if not torch.cuda.is_available() else "mps"
    if moved.device_ == "mps" and torch.backends.mps.is_available():
        pytest.skip("every device kind is present")
    path = save(moved, tmp_path / "gpu.skanomaly")
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        restored = load(path)
    assert restored.device_ == "cpu"
    np.testing.assert_array_equal(
        restored.score_samples(X_test), detector.score_samples(X_test)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load(path, device="cpu").device_ == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cpu_model_loads_on_cuda_and_back(dae, tmp_path):
    detector, path, X_test = dae
    on_gpu = load(path, device="cuda")
    assert on_gpu.device_.startswith("cuda")
    np.testing.assert_allclose(
        on_gpu.score_samples(X_test), detector.score_samples(X_test), rtol=1e-5
    )
    back = load(on_gpu.save(tmp_path / "gpu.skanomaly"), device="cpu")
    np.testing.assert_allclose(
        back.score_samples(X_test), detector.score_samples(X_test), rtol=1e-6
    )


def test_every_public_detector_is_covered():
    covered = {cls.__name__ for cls, *_ in CONFIGURATIONS.values()}
    detectors = {ARAE, CRBND, LISAE, DenoisingAE, PuzzleAE, RobustGMMDAE}
    assert covered == {cls.__name__ for cls in detectors}
