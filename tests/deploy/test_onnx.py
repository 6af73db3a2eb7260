"""export_onnx: ONNX files whose scores and labels are the detector's.

Every detector and score choice is exported on small data and run with
onnxruntime on held-out rows (inliers and outliers): the scores must equal
``-score_samples`` within the documented tolerance and the labels ``predict``
exactly. One configuration per detector runs by default, the others with
``-m slow``.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skanomaly import ARAE, CRBND, LISAE, DenoisingAE, PuzzleAE, RobustGMMDAE
from skanomaly.deploy._onnx import export_onnx
from skanomaly.utils._testing import (
    make_blob_images,
    make_subspace_rows,
    make_test_instance,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

#: export_onnx's default score tolerance, relative to max(|score|, |threshold|)
RTOL = 1e-4


_DATA = {
    "tabular": make_subspace_rows,
    "images": make_blob_images,
    "images16": lambda: make_blob_images(side=16),
}


def _fit(detector, X):
    # the tiny budgets may stop on the plateau: the scores are still the
    # detector's, which is all that is compared here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return detector.fit(X)


def _session(path):
    return ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])


def _run(path, X):
    scores, labels, is_outlier = _session(path).run(None, {"input": X})
    return scores, labels, is_outlier


def _assert_parity(detector, path, X):
    """The file's outputs on X (fitted layout) are the detector's."""
    scores, labels, is_outlier = _run(path, X)
    expected = -detector.score_samples(X)
    scale = np.maximum(np.abs(expected), abs(float(detector.offset_)))
    assert scores.dtype == np.float64 and scores.shape == (len(X),)
    assert np.all(np.abs(scores - expected) <= RTOL * scale)
    np.testing.assert_array_equal(labels, detector.predict(X))
    np.testing.assert_array_equal(is_outlier, labels == -1)
    return scores, labels


def _more_rows(X_test):
    """Another batch than the check's: the held-out rows, and five of them
    shrunk by 1 %. (Not training rows: the threshold is the score of a held-out
    training row, whose label a rounding of 1e-7 may flip.)"""
    return np.concatenate([X_test, X_test[:5] * np.float32(0.99)])


def _slow(*values):
    return pytest.param(*values, marks=pytest.mark.slow)


def _puzzle(params, slow=True):
    marks = [pytest.mark.slow] if slow else []
    return pytest.param(PuzzleAE, params, "images", marks=marks)


#: (class, parameters, data): one per detector by default, the rest slow
CONFIGURATIONS = {
    "dae-tabular": (DenoisingAE, {"anomaly_score": "reconstruction"}, "tabular"),
    "dae-knn-tabular": (DenoisingAE, {}, "tabular"),
    "dae-nap-images": (DenoisingAE, {"anomaly_score": "nap"}, "images"),
    "arae-nap-tabular": (ARAE, {"anomaly_score": "nap"}, "tabular"),
    "lisae-tabular": (LISAE, {}, "tabular"),
    "rgmm-combined-tabular": (
        RobustGMMDAE,
        {"anomaly_score": "combined"},
        "tabular",
    ),
    "crbnd-classifier": (CRBND, {"anomaly_score": "classifier"}, "images"),
    "puzzle-max": _puzzle({"anomaly_score": "puzzle", "aggregation": "max"}, False),
    "dae-nap-tabular": _slow(DenoisingAE, {"anomaly_score": "nap"}, "tabular"),
    "dae-images": _slow(DenoisingAE, {"anomaly_score": "reconstruction"}, "images"),
    "arae-tabular": _slow(ARAE, {"anomaly_score": "reconstruction"}, "tabular"),
    "arae-images": _slow(ARAE, {"anomaly_score": "reconstruction"}, "images"),
    "arae-nap-images": _slow(ARAE, {"anomaly_score": "nap"}, "images"),
    "lisae-mlp-images": _slow(LISAE, {}, "images"),
    "lisae-conv-images": _slow(LISAE, {"architecture": "conv"}, "images16"),
    "rgmm-tabular": _slow(RobustGMMDAE, {}, "tabular"),
    "arae-nap-knn-tabular": _slow(ARAE, {"anomaly_score": "nap+knn"}, "tabular"),
    "crbnd-knn-images": _slow(CRBND, {}, "images"),
    "rgmm-likelihood-tabular": _slow(
        RobustGMMDAE, {"anomaly_score": "likelihood"}, "tabular"
    ),
    "rgmm-images": _slow(RobustGMMDAE, {}, "images"),
    "rgmm-likelihood-images": _slow(
        RobustGMMDAE, {"anomaly_score": "likelihood"}, "images"
    ),
    "rgmm-combined-images": _slow(
        RobustGMMDAE, {"anomaly_score": "combined"}, "images"
    ),
    "rgmm-conv-combined-images": _slow(
        RobustGMMDAE, {"architecture": "conv", "anomaly_score": "combined"}, "images16"
    ),
    "crbnd-reconstruction": _slow(CRBND, {"anomaly_score": "reconstruction"}, "images"),
    "puzzle-mean": _puzzle({"anomaly_score": "puzzle", "aggregation": "mean"}),
    "puzzle-min": _puzzle({"anomaly_score": "puzzle", "aggregation": "min"}),
    "puzzle-features-max": _puzzle(
        {"anomaly_score": "puzzle+features", "aggregation": "max"}
    ),
    "puzzle-features-mean": _puzzle(
        {"anomaly_score": "puzzle+features", "aggregation": "mean"}
    ),
    "puzzle-features-min": _puzzle(
        {"anomaly_score": "puzzle+features", "aggregation": "min"}
    ),
}


@pytest.mark.parametrize(
    ("cls", "params", "data"), list(CONFIGURATIONS.values()), ids=list(CONFIGURATIONS)
)
def test_scores_and_labels_match_the_detector(cls, params, data, tmp_path):
    X, X_test = _DATA[data]()
    detector = _fit(make_test_instance(cls, **params), X)
    path = export_onnx(detector, tmp_path / "detector.onnx", X_test)
    assert path == os.fspath(tmp_path / "detector.onnx")
    _assert_parity(detector, path, _more_rows(X_test))


@pytest.fixture(scope="module")
def fitted():
    """A DenoisingAE on tabular data, its held-out rows and its training rows."""
    X, X_test = make_subspace_rows()
    return _fit(make_test_instance(DenoisingAE), X), X_test, X


@pytest.fixture
def exported(fitted, tmp_path_factory):
    """``fitted``'s detector exported once per test, checked on its held-out rows."""
    detector, X_test, _ = fitted
    path = tmp_path_factory.mktemp("onnx") / "detector.onnx"
    return export_onnx(detector, path, X_test)


def test_file_declares_its_input_and_outputs(fitted, exported):
    detector, _, _ = fitted
    model = onnx.load(exported)
    onnx.checker.check_model(model)

    def shape(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    def dtype(value):
        return onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)

    [model_input] = model.graph.input
    assert model_input.name == "input"
    assert dtype(model_input) == np.float32
    assert shape(model_input) == ["batch", detector.n_features_in_]
    outputs = {value.name: value for value in model.graph.output}
    assert list(outputs) == ["anomaly_score", "label", "is_outlier"]
    assert [dtype(value) for value in outputs.values()] == [
        np.float64,
        np.int64,
        np.bool_,
    ]
    assert all(shape(value) == ["batch"] for value in outputs.values())


def test_any_batch_size(fitted, exported):
    detector, X_test, _ = fitted
    rows = np.concatenate([X_test, X_test * np.float32(0.9), X_test * np.float32(1.1)])
    assert {-1, 1} <= set(detector.predict(X_test))
    session = _session(exported)
    for n in (1, 3, 20, len(rows)):
        scores, labels, _ = session.run(None, {"input": rows[:n]})
        assert scores.shape == labels.shape == (n,)
        np.testing.assert_allclose(
            scores, -detector.score_samples(rows[:n]), rtol=RTOL, atol=0
        )
        np.testing.assert_array_equal(labels, detector.predict(rows[:n]))


def test_default_check_rows(fitted, tmp_path):
    # without X_example the check runs on rows spread over the fitted scaling
    detector, X_test, _ = fitted
    path = export_onnx(detector, tmp_path / "detector.onnx")
    _assert_parity(detector, path, X_test)


def test_image_input_shapes(tmp_path):
    # a detector fitted on images takes (batch, C, H, W); one batch of 1 too
    X, X_test = make_blob_images()
    detector = _fit(make_test_instance(DenoisingAE), X)
    # flat rows are accepted as X_example
    path = export_onnx(detector, tmp_path / "d.onnx", X_test.reshape(len(X_test), -1))
    [model_input] = onnx.load(path).graph.input
    dims = [d.dim_param or d.dim_value for d in model_input.type.tensor_type.shape.dim]
    assert dims == ["batch", 1, 12, 12]
    _assert_parity(detector, path, X_test)
    _assert_parity(detector, path, X_test[:1])


def test_detector_and_its_module_are_untouched(tmp_path):
    X, X_test = make_subspace_rows()
    detector = _fit(make_test_instance(DenoisingAE, anomaly_score="nap"), X)
    module = detector.anomaly_score_module()
    state = {name: value.clone() for name, value in module.state_dict().items()}
    requires_grad = [p.requires_grad for p in module.parameters()]
    modes = [m.training for m in module.modules()]
    device = next(module.parameters()).device
    scores = detector.score_samples(X_test)
    offset = detector.offset_
    params = detector.get_params()

    export_onnx(detector, tmp_path / "detector.onnx", X_test)

    assert detector.anomaly_score_module() is module
    assert next(module.parameters()).device == device
    assert [m.training for m in module.modules()] == modes
    assert not module.training
    assert [p.requires_grad for p in module.parameters()] == requires_grad
    after = module.state_dict()
    assert all(torch.equal(after[name], value) for name, value in state.items())
    np.testing.assert_array_equal(detector.score_samples(X_test), scores)
    assert detector.offset_ == offset
    assert detector.get_params() == params


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_detector_on_a_gpu_stays_there(tmp_path):
    X, X_test = make_subspace_rows()
    detector = _fit(make_test_instance(DenoisingAE, device="cuda"), X)
    module = detector.anomaly_score_module()
    scores = detector.score_samples(X_test)
    path = export_onnx(detector, tmp_path / "detector.onnx", X_test)
    assert detector.anomaly_score_module() is module
    assert next(module.parameters()).device.type == "cuda"
    assert module.threshold.device.type == "cuda"
    np.testing.assert_array_equal(detector.score_samples(X_test), scores)
    _assert_parity(detector, path, X_test)


def test_threshold_is_part_of_the_file(tmp_path):
    X, X_test = make_subspace_rows()
    detector = _fit(make_test_instance(DenoisingAE), X)
    rows = _more_rows(X_test)
    strict = export_onnx(detector, tmp_path / "strict.onnx", X_test)
    labels = detector.predict(rows)
    detector.set_params(contamination=0.5)
    relaxed = detector.predict(rows)
    assert (relaxed == -1).sum() > (labels == -1).sum()
    # the file keeps the threshold of its export; a new export takes the new one
    np.testing.assert_array_equal(_run(strict, rows)[1], labels)
    path = export_onnx(detector, tmp_path / "relaxed.onnx", X_test)
    np.testing.assert_array_equal(_run(path, rows)[1], relaxed)


def test_stale_calibration_raises_until_calibrated(tmp_path):
    X, X_test = make_subspace_rows()
    detector = _fit(make_test_instance(DenoisingAE), X)
    detector.set_params(anomaly_score="nap")
    path = tmp_path / "detector.onnx"
    with pytest.raises(ValueError, match="stale.*calibrate"):
        export_onnx(detector, path, X_test)
    assert not path.exists()
    detector.calibrate(X[:40])
    _assert_parity(detector, export_onnx(detector, path, X_test), X_test)


def test_unfitted_detector_raises(tmp_path):
    with pytest.raises(NotFittedError):
        export_onnx(DenoisingAE(), tmp_path / "detector.onnx")


def test_not_a_detector_raises(tmp_path):
    forest = IsolationForest(n_estimators=2, random_state=0).fit(np.eye(4))
    with pytest.raises(TypeError, match="skanomaly detector"):
        export_onnx(forest, tmp_path / "forest.onnx")


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime", "onnxscript"])
def test_missing_packages_raise_with_the_extra(missing, fitted, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, missing, None)  # import raises ImportError
    with pytest.raises(ImportError, match=r'pip install "skanomaly\[onnx\]"'):
        export_onnx(fitted[0], tmp_path / "detector.onnx")


def test_example_of_another_shape_raises(fitted, tmp_path):
    with pytest.raises(ValueError, match="X_example must hold samples of shape"):
        export_onnx(fitted[0], tmp_path / "d.onnx", np.zeros((4, 3), np.float32))


def test_exporter_failure_names_detector_configuration_and_operator(
    fitted, monkeypatch, tmp_path
):
    def fail(*args, **kwargs):
        raise RuntimeError(
            "no ONNX function for the node\ntarget: aten.fancy_op.default"
        )

    monkeypatch.setattr(torch.export, "export", fail)
    with pytest.raises(NotImplementedError) as info:
        export_onnx(fitted[0], tmp_path / "detector.onnx")
    message = str(info.value)
    assert "DenoisingAE(anomaly_score='auto' (reconstruction+knn), scaling=" in message
    assert "aten::fancy_op" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert os.listdir(tmp_path) == []


def test_translation_failure_is_reported(fitted, monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise RuntimeError("Unsupported FX nodes: {'aten.other_op.default': [...]}")

    monkeypatch.setattr(torch.onnx, "export", fail)
    with pytest.raises(NotImplementedError, match="ONNX translation.*aten::other_op"):
        export_onnx(fitted[0], tmp_path / "detector.onnx")
    assert os.listdir(tmp_path) == []


def test_runtime_failure_names_the_onnx_operator(fitted, monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise RuntimeError(
            "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an "
            "implementation for Foo(20) node with name 'node_foo'"
        )

    monkeypatch.setattr(ort, "InferenceSession", fail)
    with pytest.raises(NotImplementedError, match="onnxruntime cannot run.*Foo"):
        export_onnx(fitted[0], tmp_path / "detector.onnx")
    assert os.listdir(tmp_path) == []


def test_disagreeing_scores_raise_and_keep_the_old_file(fitted, monkeypatch, tmp_path):
    detector, X_test, _ = fitted
    path = tmp_path / "detector.onnx"
    path.write_bytes(b"the previous file")
    score_samples = detector.score_samples
    monkeypatch.setattr(detector, "score_samples", lambda X: score_samples(X) * 1.01)
    with pytest.raises(ValueError, match="differ from -score_samples"):
        export_onnx(detector, path, X_test)
    assert path.read_bytes() == b"the previous file"
    assert os.listdir(tmp_path) == ["detector.onnx"]


def test_disagreeing_labels_raise(fitted, monkeypatch, tmp_path):
    detector, X_test, _ = fitted
    monkeypatch.setattr(detector, "predict", lambda X: np.ones(len(X), dtype=int))
    with pytest.raises(ValueError, match="labels .* differ from predict"):
        export_onnx(detector, tmp_path / "detector.onnx", X_test)
    assert os.listdir(tmp_path) == []


def test_public_names():
    import skanomaly
    import skanomaly.deploy

    assert skanomaly.deploy.export_onnx is export_onnx
    assert skanomaly.export_onnx is export_onnx
