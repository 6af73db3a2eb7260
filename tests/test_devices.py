"""Devices and mixed precision: ``device`` as torch.device objects, ``amp``, and
CUDA-fitted models scored on the CPU (the CUDA tests skip without CUDA)."""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from skanomaly import DenoisingAE
from skanomaly.training import DetectorNet
from skanomaly.utils import all_estimators
from skanomaly.utils._testing import (
    make_detector_data,
    make_test_instance,
    training_scores,
)

DETECTORS = [cls for _, cls in all_estimators()]
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)


def _fit_scores(cls, **params):
    detector = make_test_instance(cls, random_state=0, **params)
    data = make_detector_data(detector)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # amp on CPU, the tiny fits' plateau
        detector.fit(data.X_train, **data.fit_params)
    return detector, detector.score_samples(data.X_test)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_amp_must_be_boolean(value):
    X = np.random.RandomState(0).rand(20, 4)
    with pytest.raises(ValueError, match="amp"):
        DenoisingAE(amp=value, max_epochs=1).fit(X)


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_amp_on_cpu_warns_and_changes_nothing(cls):
    _, plain = _fit_scores(cls, device="cpu")
    detector = make_test_instance(cls, random_state=0, device="cpu", amp=True)
    data = make_detector_data(detector)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")  # the tiny fits may end on the plateau
        detector.fit(data.X_train, **data.fit_params)
    amp_warnings = [
        w
        for w in record
        if issubclass(w.category, UserWarning)
        and "amp has effect on CUDA only" in str(w.message)
    ]
    assert len(amp_warnings) == 1
    assert detector.net_.amp is True and not detector.net_.amp_active
    np.testing.assert_array_equal(detector.score_samples(data.X_test), plain)


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_autocast_path_runs_on_cpu(cls, monkeypatch):
    """The autocast training path of every detector, with CPU autocast
    standing in for CUDA's: no dtype clash, float64 scores close to float32."""
    plain_detector, plain = _fit_scores(cls, device="cpu")
    monkeypatch.setattr(DetectorNet, "amp_device_types", ("cuda", "cpu"))
    detector, mixed = _fit_scores(cls, device="cpu", amp=True)
    assert detector.net_.amp_active
    assert mixed.dtype == np.float64 and np.isfinite(mixed).all()
    X_test = make_detector_data(detector).X_test
    plain = training_scores(plain_detector, X_test)
    mixed = training_scores(detector, X_test)
    assert np.abs(mixed - plain).max() <= 0.05 * (np.abs(plain).max() + 1)


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_torch_device_objects(cls):
    detector, by_object = _fit_scores(cls, device=torch.device("cpu"))
    assert detector.device_ == "cpu"
    _, by_name = _fit_scores(cls, device="cpu")
    np.testing.assert_array_equal(by_object, by_name)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_amp_on_cuda_close_to_float32(cls):
    plain_detector, plain = _fit_scores(cls, device="cuda")
    detector, mixed = _fit_scores(cls, device="cuda", amp=True)
    assert detector.net_.amp_active
    assert mixed.dtype == np.float64 and np.isfinite(mixed).all()
    X_test = make_detector_data(detector).X_test
    plain = training_scores(plain_detector, X_test)
    mixed = training_scores(detector, X_test)
    assert np.abs(mixed - plain).max() <= 0.05 * (np.abs(plain).max() + 1)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_cuda_fitted_model_scores_on_cpu_only_machine(cls, tmp_path):
    detector, on_cuda = _fit_scores(cls, device="cuda")
    data = make_detector_data(detector)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(detector))
    np.save(tmp_path / "X.npy", data.X_test)
    script = textwrap.dedent(
        f"""
        import pickle, numpy as np, torch
        assert not torch.cuda.is_available()
        detector = pickle.loads(open({str(path)!r}, "rb").read())
        assert detector.device_ == "cpu", detector.device_
        np.save({str(tmp_path / "s.npy")!r},
                detector.score_samples(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    on_cpu = np.load(tmp_path / "s.npy")
    np.testing.assert_allclose(on_cpu, on_cuda, rtol=1e-3, atol=1e-3)
