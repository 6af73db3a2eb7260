"""The contract every public detector keeps, checked on data it can fit.

Parametrized over :func:`skanomaly.utils.all_estimators`: a new detector is
picked up as soon as it is exported and has its small settings in
``skanomaly/utils/_testing.py`` (``INIT_PARAMS``; ``FIT_ARRAYS`` for extra fit
arrays it needs). :func:`~skanomaly.utils._testing.make_detector_data` gives
image-only detectors small images and the others tabular rows, so this module
also covers, on images, every point of scikit-learn's estimator checks that
image-only detectors waive in ``tests/test_common.py`` (``WAIVED_CHECKS``).

Method-specific behaviour (the score's formula, the architecture, the training
step) is tested in ``tests/detectors/``; the base's hooks in ``tests/test_base.py``.
"""

from __future__ import annotations

import inspect
import pickle
from collections import Counter
from dataclasses import dataclass

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import _NotAnArray
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from torch import nn

from skanomaly.calibration import conformal_threshold
from skanomaly.utils import all_estimators
from skanomaly.utils._testing import (
    EXPECTED_FAILED_CHECKS,
    FIT_ARRAYS,
    DetectorTestData,
    held_out_rows,
    make_detector_data,
    make_test_instance,
)

# The small settings of INIT_PARAMS train a couple of epochs, which may stop a
# detector on the plateau where it reconstructs every input alike; this module
# tests plumbing, not learning (each detector's file has its learning tests and
# the plateau warning is tested there), so the ConvergenceWarning is not an error.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DETECTORS = [cls for _, cls in all_estimators()]
METHODS = ("score_samples", "decision_function", "predict", "encode", "reconstruct")

#: scikit-learn checks an image-only detector waives (``EXPECTED_FAILED_CHECKS``,
#: because those checks feed 2-D tabular data), each with the tests of this
#: module that cover the same point on images
WAIVED_CHECKS = {
    "check_fit_score_takes_y": [
        "test_fit_takes_y",
        "test_clone_in_a_pipeline_refits_identically",
    ],
    "check_estimators_fit_returns_self": ["test_fit_returns_self_and_keeps_params"],
    "check_estimators_overwrite_params": ["test_fit_returns_self_and_keeps_params"],
    "check_dont_overwrite_parameters": ["test_fit_returns_self_and_keeps_params"],
    "check_readonly_memmap_input": ["test_read_only_fortran_memmap_input"],
    "check_f_contiguous_array_estimator": ["test_read_only_fortran_memmap_input"],
    "check_estimators_dtypes": [
        "test_integer_and_negative_input",
        "test_read_only_fortran_memmap_input",
    ],
    "check_positive_only_tag_during_fit": ["test_integer_and_negative_input"],
    "check_dtype_object": ["test_object_dtype_input", "test_bad_fit_input_raises"],
    "check_classifier_data_not_an_array": [
        "test_clone_in_a_pipeline_refits_identically",
        "test_array_likes_score_like_arrays",
    ],
    "check_pipeline_consistency": ["test_clone_in_a_pipeline_refits_identically"],
    "check_fit_idempotent": ["test_clone_in_a_pipeline_refits_identically"],
    "check_outliers_fit_predict": [
        "test_clone_in_a_pipeline_refits_identically",
        "test_offset_is_the_conformal_threshold_of_held_out_rows",
    ],
    "check_outliers_train": [
        "test_scores_rank_the_easy_anomalies_lower",
        "test_decision_function_and_predict",
        "test_offset_is_the_conformal_threshold_of_held_out_rows",
        "test_bad_score_input_raises",
    ],
    "check_estimators_nan_inf": [
        "test_bad_fit_input_raises",
        "test_bad_score_input_raises",
    ],
    "check_estimators_pickle": ["test_pickle_round_trip"],
    "check_methods_sample_order_invariance": [
        "test_methods_do_not_depend_on_batches_or_order"
    ],
    "check_methods_subset_invariance": [
        "test_methods_do_not_depend_on_batches_or_order"
    ],
    # an image-only detector refuses 2-D rows (of one feature or more) without
    # input_shape, with a ValueError naming input_shape
    "check_fit2d_1feature": ["test_bad_fit_input_raises"],
    "check_fit2d_predict1d": ["test_bad_score_input_raises"],
    "check_dict_unchanged": ["test_methods_leave_the_estimator_unchanged"],
    "check_fit_check_is_fitted": [
        "test_clone_is_unfitted_and_refuses_to_score",
        "test_unfitted_methods_raise_not_fitted",
        "test_fitted_attributes",
    ],
    "check_n_features_in": ["test_fitted_attributes"],
    "check_n_features_in_after_fitting": [
        "test_fitted_attributes",
        "test_bad_score_input_raises",
    ],
}


@dataclass
class Case:
    """One detector fitted once on its data, with what was seen around the fit."""

    det: object
    data: DetectorTestData
    returned: object
    dict_before_fit: dict
    params_hash_before_fit: str
    X_train_before_fit: np.ndarray
    global_rng_kept: bool

    @property
    def image(self) -> bool:
        return type(self.det)._requires_image


def _global_rng_states():
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global is the point)
    return torch.random.get_rng_state(), numpy_state


def _same_rng_states(a, b) -> bool:
    return (
        torch.equal(a[0], b[0])
        and a[1][0] == b[1][0]
        and np.array_equal(a[1][1], b[1][1])
    )


@pytest.fixture(scope="module", params=DETECTORS, ids=lambda cls: cls.__name__)
def case(request):
    cls = request.param
    data = make_detector_data(cls)
    det = make_test_instance(cls)
    dict_before = det.__dict__.copy()
    params_hash = joblib.hash(det.get_params())
    X_before = data.X_train.copy()
    rng_before = _global_rng_states()
    returned = det.fit(data.X_train, **data.fit_params)
    rng_kept = _same_rng_states(rng_before, _global_rng_states())
    return Case(det, data, returned, dict_before, params_hash, X_before, rng_kept)


def _flat(X):
    return X.reshape(len(X), -1)


def _refit(case, X, **params):
    """A clone of the fitted detector with ``params``, fitted on ``X``."""
    est = clone(case.det).set_params(**params)
    return est.fit(X, **case.data.fit_params)


def _registered(det) -> dict:
    """Every module registered with skorch on ``net_``, by name."""
    return {name: getattr(det.net_, name + "_") for name in det.net_._modules}


def _assert_same_state(a, b):
    """Nested optimizer / module state: equal tensors, numbers and containers."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same_state(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_state(x, y)
    else:
        assert a == b


# ---------------------------------------------------------------------- fit
def test_fit_returns_self_and_keeps_params(case):
    det = case.det
    assert case.returned is det
    # parameters neither changed nor replaced; only private or fitted attributes added
    assert joblib.hash(det.get_params()) == case.params_hash_before_fit
    for key, value in case.dict_before_fit.items():
        assert det.__dict__[key] is value, key
    added = set(det.__dict__) - set(case.dict_before_fit)
    public = [k for k in added if not (k.startswith("_") or k.endswith("_"))]
    assert not public, f"fit added public attributes {public}"
    # neither the data nor any global random state was touched
    np.testing.assert_array_equal(case.data.X_train, case.X_train_before_fit)
    assert case.global_rng_kept, "fit changed a global random state"


def test_fit_takes_y(case):
    params = list(inspect.signature(type(case.det).fit).parameters)
    assert params[:3] == ["self", "X", "y"]
    assert inspect.signature(type(case.det).fit).parameters["y"].default is None


def test_fitted_attributes(case):
    det, data = case.det, case.data
    check_is_fitted(det)
    assert isinstance(det.net_, NeuralNet) and isinstance(det.net_.module_, nn.Module)
    assert det.device_ == "cpu"
    assert det.n_features_in_ == data.n_features
    assert det.input_shape_ == data.sample_shape
    assert isinstance(det.offset_, float) and np.isfinite(det.offset_)
    assert det.n_epochs_ == len(det.history_) >= 1
    assert isinstance(det.batch_size_, int) and det.batch_size_ >= 1
    if det.batch_size != "auto":
        assert det.batch_size_ == det.batch_size
    for row in det.history_:
        assert isinstance(row["stage"], str) and "batches" not in row
        assert np.isfinite(row["train_loss"])
    assert sum(det.n_epochs_per_stage_.values()) == det.n_epochs_
    assert det.n_epochs_per_stage_ == dict(
        Counter(row["stage"] for row in det.history_)
    )
    # in stage order
    first_seen = list(dict.fromkeys(row["stage"] for row in det.history_))
    assert list(det.n_epochs_per_stage_) == first_seen


# ------------------------------------------------------------------ scoring
def test_scores_rank_the_easy_anomalies_lower(case):
    det, data = case.det, case.data
    scores = det.score_samples(data.X_test)
    assert scores.dtype == np.float64 and scores.shape == (len(data.X_test),)
    assert np.isfinite(scores).all()
    normal, anomalous = scores[data.y_test == 0], scores[data.y_test == 1]
    assert normal.min() > anomalous.max(), "higher must mean more normal"


def test_decision_function_and_predict(case):
    det, data = case.det, case.data
    scores = det.score_samples(data.X_test)
    decision = det.decision_function(data.X_test)
    assert decision.dtype == np.float64
    np.testing.assert_array_equal(decision, scores - det.offset_)
    labels = det.predict(data.X_test)
    assert labels.dtype.kind == "i" and labels.shape == scores.shape
    assert set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))
    assert (labels[data.y_test == 1] == -1).all()


def test_offset_is_the_conformal_threshold_of_held_out_rows(case):
    det, X_train = case.det, case.data.X_train
    train_rows, held_out = held_out_rows(det, len(X_train))
    assert len(held_out) == np.ceil(0.2 * len(X_train)) and det.calibration == 0.2
    assert det.calibration_source_ == "held-out"
    np.testing.assert_allclose(
        det.calibration_scores_,
        np.sort(det.score_samples(X_train[held_out])),
        rtol=1e-6,
    )
    assert det.offset_ == conformal_threshold(
        det.calibration_scores_, det.contamination
    )
    assert len(train_rows) + len(held_out) == len(X_train)


def test_encode_and_reconstruct_shapes(case):
    det, X = case.det, case.data.X_test
    codes = det.encode(X)
    assert codes.ndim == 2 and codes.shape[0] == len(X) and codes.shape[1] >= 1
    assert codes.dtype == np.float32 and np.isfinite(codes).all()
    reconstructions = det.reconstruct(X)
    assert reconstructions.shape == (len(X), det.n_features_in_)
    assert reconstructions.dtype == np.float32 and np.isfinite(reconstructions).all()


def test_methods_do_not_depend_on_batches_or_order(case):
    det, X = case.det, case.data.X_test
    rows = [0, 1, 2, len(X) - 3, len(X) - 2, len(X) - 1]
    order = np.random.RandomState(1).permutation(len(X))
    # exact: every batch is padded to batch_size_, so the kernels do not depend
    # on how many rows are scored
    for method in METHODS:
        fn = getattr(det, method)
        full = fn(X)
        singles = np.concatenate([fn(X[i : i + 1]) for i in rows])
        np.testing.assert_array_equal(singles, full[rows], err_msg=method)
        np.testing.assert_array_equal(fn(X[5:11]), full[5:11], err_msg=method)
        np.testing.assert_array_equal(fn(X[order]), full[order], err_msg=method)
    # another scoring batch size changes the kernels, not the scores: float32
    # rounding of the codes (relative 1e-7), which a distance to a near
    # training code (the latent-neighbour term) magnifies up to about 1e-5
    other = pickle.loads(pickle.dumps(det)).set_params(batch_size=3)
    if hasattr(other, "batch_size_"):  # the resolved size, which scoring uses
        other.batch_size_ = 3
    np.testing.assert_allclose(other.score_samples(X), det.score_samples(X), rtol=1e-5)


def test_methods_leave_the_estimator_unchanged(case):
    det, X = case.det, case.data.X_test
    before = det.__dict__.copy()
    states = {
        name: {k: v.clone() for k, v in module.state_dict().items()}
        for name, module in _registered(det).items()
    }
    modes = {
        name: [m.training for m in module.modules()]
        for name, module in _registered(det).items()
    }
    for method in METHODS:
        getattr(det, method)(X)
        assert det.__dict__.keys() == before.keys(), method
        for key, value in before.items():
            assert det.__dict__[key] is value, (method, key)
    for name, module in _registered(det).items():
        _assert_same_state(module.state_dict(), states[name])
        assert [m.training for m in module.modules()] == modes[name], name


def test_scoring_leaves_module_modes_as_it_found_them(case):
    det, X = case.det, case.data.X_test
    modules = list(_registered(det).values())
    found = [[m.training for m in module.modules()] for module in modules]
    expected = det.score_samples(X)
    try:
        for mode in (True, False):
            for module in modules:
                module.train(mode)
            for method in METHODS:
                getattr(det, method)(X)
                for module in modules:
                    assert all(m.training == mode for m in module.modules()), method
            # scoring itself always runs in eval mode
            np.testing.assert_array_equal(det.score_samples(X), expected)
    finally:
        for module, flags in zip(modules, found, strict=True):
            for m, flag in zip(module.modules(), flags, strict=True):
                m.training = flag


# ------------------------------------------------------------ input checks
def _bad_fit_input(kind, case):
    """``(X, params, match)``: a bad training input and its error message."""
    # a dict in an object array is a TypeError, as check_dtype_object expects
    X = case.data.X_train.astype(np.float64)
    if kind == "nan":
        X.flat[5] = np.nan
        return X, {}, "NaN"
    if kind == "inf":
        X.flat[5] = np.inf
        return X, {}, "infinity"
    if kind == "one_sample":
        return X[:1], {}, "1 sample"
    if kind == "no_sample":
        return X[:0], {}, "0 sample"
    if kind == "one_dim":
        return X.ravel(), {}, "2D array"
    if kind == "five_dim":
        return X.reshape(*X.shape, *(1,) * (5 - X.ndim)), {}, "dim 5"
    if kind == "strings":
        return np.full(X.shape, "a"), {}, "string|could not convert"
    if kind == "object_strings":
        X = X.astype(object)
        X.flat[0] = "a"
        return X, {}, "could not convert"
    if kind == "object_dict":
        X = X.astype(object)
        X.flat[0] = {"foo": "bar"}
        return X, {}, "argument must be .* string.* number"
    if kind == "complex":
        return X + 1j, {}, "Complex"
    if kind == "rows_without_input_shape":
        # image-only: 2-D rows (any width, one feature included) need input_shape
        return X.reshape(len(X), -1)[:, :1], {}, "works on images.*input_shape"
    if kind == "wrong_input_shape":
        n_features = case.data.n_features
        return _flat(X), {"input_shape": (n_features,)}, "input_shape"
    raise AssertionError(kind)


FIT_KINDS = [
    "nan",
    "inf",
    "one_sample",
    "no_sample",
    "one_dim",
    "five_dim",
    "strings",
    "object_strings",
    "object_dict",
    "complex",
    "rows_without_input_shape",
    "wrong_input_shape",
]


@pytest.mark.parametrize("kind", FIT_KINDS)
def test_bad_fit_input_raises(case, kind, request):
    if kind in ("rows_without_input_shape", "wrong_input_shape") and not case.image:
        pytest.skip("tabular detectors take 2-D rows of any width")
    X, params, match = _bad_fit_input(kind, case)
    error = TypeError if kind == "object_dict" else ValueError
    with pytest.raises(error, match=match):
        clone(case.det).set_params(**params).fit(X, **case.data.fit_params)


def _bad_score_input(kind, case):
    """``(X, match)``: a bad input to score and its error message."""
    X = case.data.X_test.astype(np.float64)
    n = len(X)
    if kind == "nan":
        X.flat[3] = np.nan
        return X, "NaN"
    if kind == "inf":
        X.flat[3] = -np.inf
        return X, "infinity"
    if kind == "no_sample":
        return X[:0], "0 sample"
    if kind == "one_dim":  # one sample as a 1-D array
        return _flat(X)[0], "2D array"
    if kind == "too_few_features":
        return _flat(X)[:, 1:], f"has {case.data.n_features - 1} features"
    if kind == "too_many_features":
        return np.hstack([_flat(X), _flat(X)[:, :1]]), "features"
    if kind == "other_image_shape":  # as many values, another shape
        _, height, width = case.det.input_shape_ if case.image else (1, 4, 4)
        return X.reshape(n, 1, height // 2, width * 2), "shape"
    if kind == "strings":
        return np.full(X.shape, "a"), "string|could not convert"
    if kind == "complex":
        return X + 1j, "Complex"
    raise AssertionError(kind)


SCORE_KINDS = [
    "nan",
    "inf",
    "no_sample",
    "one_dim",
    "too_few_features",
    "too_many_features",
    "other_image_shape",
    "strings",
    "complex",
]


@pytest.mark.parametrize("kind", SCORE_KINDS)
def test_bad_score_input_raises(case, kind, request):
    if kind == "other_image_shape" and not case.image:
        pytest.skip("tabular detectors fitted on rows have no image shape")
    X, match = _bad_score_input(kind, case)
    for method in METHODS:
        with pytest.raises(ValueError, match=match):
            getattr(case.det, method)(X)


def test_unknown_fit_param_raises(case):
    data = case.data
    with pytest.raises(ValueError, match=r"unexpected fit parameters.*not_a_param"):
        clone(case.det).fit(data.X_train, not_a_param=data.X_train, **data.fit_params)


def test_declared_fit_arrays_are_validated_like_X(case):
    cls, data = type(case.det), case.data
    if not cls._fit_arrays:
        pytest.skip(f"{cls.__name__} declares no extra fit arrays")
    for name in cls._fit_arrays:
        good = data.fit_params.get(name, data.X_test[data.y_test == 1])
        with_nan = good.astype(np.float64)
        with_nan.flat[0] = np.nan
        bad_arrays = [with_nan, np.hstack([_flat(good), _flat(good)[:, :1]])]
        if case.image:
            bad_arrays.append(_flat(good).reshape(len(good), 1, 1, -1))
        for bad in bad_arrays:
            with pytest.raises(ValueError, match=name):
                clone(case.det).fit(data.X_train, **{**data.fit_params, name: bad})
        if name not in FIT_ARRAYS.get(cls.__name__, ()):
            # an optional array given as None is not given
            refit = clone(case.det).fit(data.X_train, **{**data.fit_params, name: None})
            np.testing.assert_array_equal(
                refit.score_samples(data.X_test), case.det.score_samples(data.X_test)
            )


# ------------------------------------------------- inputs that must work
def test_methods_leave_their_input_unchanged(case):
    X = case.data.X_test.copy()
    for method in METHODS:
        getattr(case.det, method)(X)
        np.testing.assert_array_equal(X, case.data.X_test, err_msg=method)


def test_read_only_fortran_memmap_input(case, tmp_path):
    """float64, Fortran-ordered, read-only memory maps fit and score as float32."""
    det, data = case.det, case.data

    def memmap(X, name):
        if case.image:
            X = X[:, 0]  # images as (n, H, W): one channel
        np.save(tmp_path / name, np.asfortranarray(X.astype(np.float64)))
        mapped = np.load(tmp_path / name, mmap_mode="r")
        assert not mapped.flags.writeable and mapped.flags.f_contiguous
        return mapped

    X_train, X_test = memmap(data.X_train, "train.npy"), memmap(data.X_test, "test.npy")
    refit = _refit(case, X_train)
    assert refit.input_shape_ == det.input_shape_
    expected = det.score_samples(data.X_test)
    np.testing.assert_array_equal(refit.score_samples(X_test), expected)
    np.testing.assert_array_equal(det.score_samples(X_test), expected)
    np.testing.assert_array_equal(refit.calibration_scores_, det.calibration_scores_)
    assert refit.offset_ == det.offset_


def test_integer_and_negative_input(case):
    """Integer pixels, negative values included, fit and score in any int dtype."""
    data = case.data
    X_train = np.round(data.X_train * 255).astype(np.int64) - 128
    X_test = np.round(data.X_test * 255).astype(np.int64) - 128
    refit = _refit(case, X_train)
    expected = refit.score_samples(X_test)
    assert expected.dtype == np.float64 and np.isfinite(expected).all()
    for dtype in (np.int32, np.int16, np.float32, np.float64):
        np.testing.assert_array_equal(
            refit.score_samples(X_test.astype(dtype)), expected, err_msg=str(dtype)
        )


def test_object_dtype_input(case):
    data = case.data
    refit = _refit(case, data.X_train.astype(object))
    expected = case.det.score_samples(data.X_test)
    np.testing.assert_array_equal(refit.score_samples(data.X_test), expected)
    np.testing.assert_array_equal(
        case.det.score_samples(data.X_test.astype(object)), expected
    )


def test_array_likes_score_like_arrays(case):
    det, X = case.det, case.data.X_test
    expected = det.score_samples(X)
    rows = _flat(X)
    for like in (rows.tolist(), _NotAnArray(rows), torch.as_tensor(X)):
        np.testing.assert_array_equal(det.score_samples(like), expected)


def test_image_layouts_agree(case):
    """Flat rows, (n, H, W) and (n, 1, H, W) are one input to a fitted detector."""
    if not case.image:
        pytest.skip("see test_tabular_detectors_take_image_arrays")
    det, X = case.det, case.data.X_test
    expected = det.score_samples(X)
    for layout in (_flat(X), X[:, 0]):
        np.testing.assert_array_equal(det.score_samples(layout), expected)
        np.testing.assert_array_equal(det.reconstruct(layout), det.reconstruct(X))


def _image_shape(n_features):
    side = int(round(np.sqrt(n_features)))
    return (1, side, side) if side * side == n_features else (1, 1, n_features)


def test_tabular_detectors_take_image_arrays(case):
    """A tabular detector fits images as rows, whatever their layout."""
    if case.image:
        pytest.skip("image detectors: test_image_layouts_agree")
    data = case.data
    shape = _image_shape(data.n_features)
    images = data.X_train.reshape(-1, *shape)
    from_images = _refit(case, images)
    assert from_images.input_shape_ == shape
    assert from_images.n_features_in_ == data.n_features
    from_rows = _refit(case, data.X_train, input_shape=shape)
    assert from_rows.input_shape_ == shape
    test_images = data.X_test.reshape(-1, *shape)
    expected = from_images.score_samples(test_images)
    for det in (from_images, from_rows):
        for layout in (data.X_test, test_images, test_images[:, 0]):
            np.testing.assert_array_equal(det.score_samples(layout), expected)
    _check_score_module(from_images, data.X_test, [test_images, test_images[:, 0]])
    with pytest.raises(ValueError, match="shape"):
        from_images.score_samples(data.X_test.reshape(-1, 1, 2, 8))


# --------------------------------------------------------- determinism
def test_clone_in_a_pipeline_refits_identically(case):
    """Same random_state, same scores: through clone, a Pipeline, array-likes, y.

    Refitting the same pipeline (idempotence) and ``fit_predict`` give the same
    model again; ``contamination`` moves only ``offset_``.
    """
    det, data = case.det, case.data
    est = clone(det).set_params(contamination=0.25)
    if case.image:  # flat rows: the only layout an array-like carries
        est.set_params(input_shape=det.input_shape_)
    X_fit = _NotAnArray(_flat(data.X_train))
    y = np.zeros(len(data.X_train))
    pipe = make_pipeline(est)
    step = pipe.steps[-1][0]
    fit_params = {f"{step}__{k}": v for k, v in data.fit_params.items()}
    pipe.fit(X_fit, y, **fit_params)
    expected = det.score_samples(data.X_test)
    np.testing.assert_array_equal(pipe.score_samples(data.X_test), expected)
    fitted = pipe.steps[-1][1]
    np.testing.assert_array_equal(fitted.calibration_scores_, det.calibration_scores_)
    assert fitted.offset_ == conformal_threshold(det.calibration_scores_, 0.25)
    labels = pipe.fit_predict(X_fit, y, **fit_params)
    np.testing.assert_array_equal(pipe.score_samples(data.X_test), expected)
    np.testing.assert_array_equal(labels, pipe.predict(data.X_train))
    assert labels.dtype.kind == "i"


def test_other_random_state_other_scores(case):
    # fitted inside the test, so the conftest guard also checks the global RNGs
    det, data = case.det, case.data
    other = _refit(case, data.X_train, random_state=1)
    assert not np.array_equal(
        other.score_samples(data.X_test), det.score_samples(data.X_test)
    )


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_pickle_round_trip(case, how, tmp_path):
    det, X = case.det, case.data.X_test
    if how == "pickle":
        restored = pickle.loads(pickle.dumps(det))
    else:
        joblib.dump(det, tmp_path / "det.joblib")
        restored = joblib.load(tmp_path / "det.joblib")
    for method in METHODS:
        np.testing.assert_array_equal(
            getattr(restored, method)(X), getattr(det, method)(X), err_msg=method
        )
    assert restored.device_ == det.device_ and restored.offset_ == det.offset_
    assert restored.history_ == det.history_
    # every registered module and optimizer comes back, with its state
    assert _registered(restored).keys() == _registered(det).keys()
    for name, module in _registered(det).items():
        _assert_same_state(
            _registered(restored)[name].state_dict(), module.state_dict()
        )
    assert restored.net_._optimizers == det.net_._optimizers
    for name in det.net_._optimizers:
        _assert_same_state(
            getattr(restored.net_, name + "_").state_dict(),
            getattr(det.net_, name + "_").state_dict(),
        )


def test_clone_is_unfitted_and_refuses_to_score(case):
    det = case.det
    fresh = clone(det)
    assert joblib.hash(fresh.get_params()) == joblib.hash(det.get_params())
    assert set(vars(fresh)) == set(fresh.get_params(deep=False))
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    with pytest.raises(NotFittedError):
        fresh.anomaly_score_module()


@pytest.mark.parametrize("method", METHODS)
def test_unfitted_methods_raise_not_fitted(case, method, request):
    with pytest.raises(NotFittedError):
        getattr(clone(case.det), method)(case.data.X_test)


# ------------------------------------------------------- score as a module
def _check_score_module(det, X, image_layouts=()):
    """``anomaly_score_module`` on flat rows of ``X`` and on ``image_layouts``."""
    module = det.anomaly_score_module()
    assert isinstance(module, nn.Module)
    assert not any(m.training for m in module.modules())
    device = torch.device(det.device_).type
    assert all(p.device.type == device for p in module.parameters())
    expected = -det.score_samples(X)
    try:
        for layout in (_flat(X), *image_layouts):
            for dtype in (torch.float32, torch.float64):
                x = torch.tensor(layout, dtype=dtype, requires_grad=True)
                out = module(x)
                assert out.shape == (len(X),)
                np.testing.assert_allclose(
                    out.detach().double().numpy(), expected, rtol=1e-5
                )
                out.sum().backward()
                assert x.grad is not None and x.grad.shape == x.shape
                assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    finally:
        for p in module.parameters():
            p.grad = None
    return module


def test_anomaly_score_module(case):
    det, X = case.det, case.data.X_test
    layouts = [X, X[:, 0]] if case.image else []
    module = _check_score_module(det, X, layouts)
    n_features = det.n_features_in_
    with pytest.raises(TypeError):
        module(torch.as_tensor(np.round(_flat(X) * 255).astype(np.int64)))
    with pytest.raises(TypeError):
        module(_flat(X))  # a numpy array
    for shape in [(2, n_features + 1), (n_features,), (2, 1, n_features + 1)]:
        with pytest.raises(ValueError, match="shape"):
            module(torch.zeros(shape))
    if case.image:
        _, height, width = det.input_shape_
        with pytest.raises(ValueError, match="shape"):
            module(torch.zeros(2, 1, height // 2, width * 2))


def test_score_module_survives_scoring(case):
    """Scoring puts every module back in the mode it found: the score module
    stays in eval mode and keeps giving the same values."""
    det, X = case.det, case.data.X_test
    module = det.anomaly_score_module()
    x = torch.as_tensor(_flat(X))
    with torch.no_grad():
        before = module(x)
    for method in METHODS:
        getattr(det, method)(X)
    assert not any(m.training for m in module.modules())
    with torch.no_grad():
        assert torch.equal(module(x), before)


# --------------------------------------------------------------- the map
def test_every_waived_check_is_covered_here():
    """Each check a detector waives maps to tests of this module that exist."""
    for cls in DETECTORS:
        waived = set(EXPECTED_FAILED_CHECKS.get(cls.__name__, {}))
        unmapped = waived - set(WAIVED_CHECKS)
        assert not unmapped, f"{cls.__name__} waives {unmapped}: cover them here"
    for check, tests in WAIVED_CHECKS.items():
        for name in tests:
            assert callable(globals().get(name)), f"{check}: no test {name}"
