"""Per-feature contributions: a planted anomaly is found, the reconstruction
contributions sum to the score, the gradient ones follow their definition, and
explaining changes nothing (input, random state, gradients, module modes)."""

import copy

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError

from skanomaly import ARAE, CRBND, LISAE, DenoisingAE, PuzzleAE, RobustGMMDAE
from skanomaly.explain import (
    explain_samples,
    gradient_contributions,
    reconstruction_contributions,
)
from skanomaly.utils._testing import make_test_instance

METHODS = ("reconstruction", "gradient")
FUNCTIONS = {
    "reconstruction": reconstruction_contributions,
    "gradient": gradient_contributions,
}
#: the planted feature of the tabular data
PLANTED = 3
#: the planted patch of the images: rows and columns 2..4 of 8 x 8
PATCH = (slice(None), slice(None), slice(2, 5), slice(2, 5))

# ------------------------------------------------------------------ data


def _correlated_rows(n, rng):
    """Rows of 8 features driven by 2 latent factors, in units far from [0, 1]
    (so that the detectors scale them per feature)."""
    weights = np.random.RandomState(0).normal(size=(2, 8))
    rows = rng.normal(size=(n, 2)) @ weights + 0.05 * rng.normal(size=(n, 8))
    return (3.0 * rows + 10.0).astype(np.float32)


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.RandomState(1)
    return _correlated_rows(200, rng), _correlated_rows(30, rng)


def _images(n, rng):
    """8 x 8 gradients of random slopes in [0, 1], one channel, with noise."""
    yy, xx = np.mgrid[:8, :8] / 7.0
    a = rng.uniform(0.1, 0.4, size=(n, 1, 1))
    b = rng.uniform(0.0, 0.2, size=(n, 1, 1))
    images = a * xx + b * yy + 0.05 + rng.uniform(-0.02, 0.02, size=(n, 8, 8))
    return images[:, None].astype(np.float32)


@pytest.fixture(scope="module")
def images():
    rng = np.random.RandomState(2)
    return _images(64, rng), _images(10, rng)


@pytest.fixture(scope="module")
def planted_images(images):
    _, X_test = images
    X = X_test.copy()
    X[PATCH] = 1.0
    return X


# ------------------------------------------------------------- detectors

#: tabular detectors trained long enough to learn the correlations
TABULAR = {
    "DenoisingAE": (DenoisingAE, {"hidden_dims": (16, 2), "lr": 3e-3}),
    "DenoisingAE-nap": (DenoisingAE, {"hidden_dims": (6, 2), "lr": 3e-3}),
    "ARAE": (ARAE, {"hidden_dims": (16, 2), "lr": 3e-3}),
    "LISAE": (LISAE, {"latent_dim": 2, "lr": 3e-3, "phase2_epochs": 5}),
}


@pytest.fixture(scope="module")
def tabular_detectors(tabular):
    X_train, _ = tabular
    return {
        name: make_test_instance(cls, max_epochs=30, batch_size=16, **kw).fit(X_train)
        for name, (cls, kw) in TABULAR.items()
    }


@pytest.fixture(scope="module")
def image_detectors(images):
    X_train, _ = images
    budget = {"max_epochs": 20, "batch_size": 8, "lr": 3e-3}
    return {
        "DenoisingAE": make_test_instance(
            DenoisingAE, hidden_dims=(32, 4), anomaly_score="reconstruction", **budget
        ).fit(X_train),
        "CRBND": make_test_instance(CRBND, **budget).fit(X_train),
    }


@pytest.fixture(scope="module")
def dae(tabular):
    """A tiny DenoisingAE scored by the reconstruction error, for the checks."""
    X_train, _ = tabular
    return make_test_instance(
        DenoisingAE, anomaly_score="reconstruction", batch_size=16
    ).fit(X_train)


# ------------------------------------------------- planted anomalies found


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("side", ["high", "low"])
@pytest.mark.parametrize("name", list(TABULAR))
def test_planted_extreme_feature_dominates(
    tabular, tabular_detectors, name, side, method
):
    X_train, X_test = tabular
    low, high = X_train[:, PLANTED].min(), X_train[:, PLANTED].max()
    X = X_test.copy()
    X[:, PLANTED] = high + (high - low) if side == "high" else low - (high - low)
    contributions = explain_samples(tabular_detectors[name], X, method=method)
    assert contributions.shape == X.shape
    assert np.mean(contributions.argmax(axis=1) == PLANTED) >= 0.9


@pytest.mark.parametrize("name", list(TABULAR))
def test_reconstruction_finds_a_broken_correlation(tabular, tabular_detectors, name):
    # the planted value lies inside the feature's training range, at the other
    # end of it: only the learnt correlations make the row anomalous
    X_train, X_test = tabular
    low, high = X_train[:, PLANTED].min(), X_train[:, PLANTED].max()
    values = X_test[:, PLANTED]
    other_end = np.where(values < (low + high) / 2, high, low)
    moved = np.abs(other_end - values) > 0.6 * (high - low)
    X = X_test[moved].copy()
    X[:, PLANTED] = other_end[moved]
    assert len(X) >= 10
    contributions = reconstruction_contributions(tabular_detectors[name], X)
    assert np.mean(contributions.argmax(axis=1) == PLANTED) >= 0.9


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["DenoisingAE", "CRBND"])
def test_planted_patch_holds_most_of_the_mass(
    image_detectors, planted_images, name, method
):
    contributions = explain_samples(image_detectors[name], planted_images, method)
    assert contributions.shape == planted_images.shape
    mask = np.zeros(planted_images.shape[1:], dtype=bool)
    mask[PATCH[1:]] = True  # 9 of the 64 pixels
    positive = np.clip(contributions, 0, None)
    share = positive[:, mask].sum(axis=1) / positive.sum(axis=(1, 2, 3))
    assert share.min() > 0.5
    per_pixel_inside = contributions[:, mask].mean(axis=1)
    per_pixel_outside = np.abs(contributions[:, ~mask]).mean(axis=1)
    assert (per_pixel_inside > 3 * per_pixel_outside).all()


# ------------------------------------------------------------ definitions


def test_reconstruction_rows_sum_to_the_score(tabular, dae):
    _, X_test = tabular
    contributions = reconstruction_contributions(dae, X_test)
    assert contributions.dtype == np.float64 and (contributions >= 0).all()
    np.testing.assert_allclose(
        contributions.sum(axis=1), -dae.score_samples(X_test), rtol=1e-5
    )
    # in the fitted [0, 1] scale, from the reconstructions
    scaled = (X_test - dae.scaler_.min_) / dae.scaler_.scale_
    rec = (dae.reconstruct(X_test) - dae.scaler_.min_) / dae.scaler_.scale_
    np.testing.assert_allclose(contributions, (rec - scaled) ** 2, atol=1e-5)


@pytest.mark.parametrize(
    ("cls", "params", "score_of_sum"),
    [
        (ARAE, {"anomaly_score": "reconstruction"}, np.asarray),
        (RobustGMMDAE, {"anomaly_score": "reconstruction"}, np.asarray),
        (LISAE, {"anomaly_score": "reconstruction"}, np.sqrt),  # ||x_hat - x||_2
    ],
    ids=["ARAE", "RobustGMMDAE", "LISAE"],
)
def test_reconstruction_rows_give_the_score(tabular, cls, params, score_of_sum):
    X_train, X_test = tabular
    detector = make_test_instance(cls, **params).fit(X_train)
    contributions = reconstruction_contributions(detector, X_test)
    np.testing.assert_allclose(
        score_of_sum(contributions.sum(axis=1)),
        -detector.score_samples(X_test),
        rtol=1e-5,
    )


@pytest.mark.parametrize("name", ["DenoisingAE", "CRBND"])
def test_reconstruction_rows_sum_to_the_score_of_images(
    image_detectors, planted_images, name
):
    detector = copy.deepcopy(image_detectors[name])
    detector.set_params(anomaly_score="reconstruction")  # scoring only
    contributions = reconstruction_contributions(detector, planted_images)
    np.testing.assert_allclose(
        contributions.sum(axis=(1, 2, 3)),
        -detector.score_samples(planted_images),
        rtol=1e-5,
    )


def _manual_gradient_times_input(detector, X):
    module = detector.anomaly_score_module()
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(module(x).sum(), x)
    minimum = 0.0 if detector.scaler_.is_identity else detector.scaler_.min_
    return grad.numpy() * (X.astype(np.float64) - minimum)


def test_gradient_is_gradient_times_input_from_the_training_minimum(tabular, dae):
    _, X_test = tabular
    assert not dae.scaler_.is_identity  # the rows are scaled per feature
    contributions = gradient_contributions(dae, X_test)
    assert contributions.dtype == np.float64
    expected = _manual_gradient_times_input(copy.deepcopy(dae), X_test)
    np.testing.assert_allclose(contributions, expected, rtol=1e-4, atol=1e-7)


def test_gradient_of_images_in_unit_range_is_gradient_times_pixel(
    image_detectors, planted_images
):
    detector = image_detectors["CRBND"]
    assert detector.scaler_.is_identity
    contributions = gradient_contributions(detector, planted_images)
    expected = _manual_gradient_times_input(copy.deepcopy(detector), planted_images)
    np.testing.assert_allclose(contributions, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_rows_do_not_depend_on_the_batch(tabular, dae, method):
    _, X_test = tabular
    full = explain_samples(dae, X_test, method=method)  # 30 rows, batches of 16
    np.testing.assert_allclose(
        explain_samples(dae, X_test[17:20], method=method),
        full[17:20],
        rtol=1e-5,
        atol=1e-8,
    )


# ----------------------------------------------------------------- shapes


@pytest.mark.parametrize("method", METHODS)
def test_image_layouts(images, method):
    X_train, X_test = images
    flat = make_test_instance(DenoisingAE, input_shape=(1, 8, 8)).fit(
        X_train.reshape(len(X_train), -1)
    )
    three_d = make_test_instance(DenoisingAE).fit(X_train[:, 0])
    from_flat = explain_samples(flat, X_test.reshape(len(X_test), -1), method)
    assert from_flat.shape == (10, 1, 8, 8)
    assert explain_samples(flat, X_test, method).shape == (10, 1, 8, 8)
    assert explain_samples(three_d, X_test[:, 0], method).shape == (10, 1, 8, 8)
    tabular_fit = make_test_instance(DenoisingAE).fit(X_train.reshape(64, -1))
    assert explain_samples(tabular_fit, X_test.reshape(10, -1), method).shape == (
        10,
        64,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("score", ["puzzle", "puzzle+features"])
def test_puzzle_ae(images, score):
    # the puzzle errors, through the tile permutations and the padding
    X_train, X_test = images
    detector = make_test_instance(PuzzleAE, anomaly_score=score).fit(X_train)
    for method in METHODS:
        contributions = explain_samples(detector, X_test[:3], method)
        assert contributions.shape == (3, 1, 8, 8)
        assert np.isfinite(contributions).all() and np.abs(contributions).max() > 0


@pytest.mark.parametrize("method", METHODS)
def test_streamed_input_gives_the_same_values(tmp_path, tabular, dae, method):
    _, X_test = tabular
    path = tmp_path / "rows.dat"
    memmap = np.memmap(path, dtype=np.float32, mode="w+", shape=X_test.shape)
    memmap[:] = X_test
    memmap.flush()
    readonly = np.memmap(path, dtype=np.float32, mode="r", shape=X_test.shape)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X_test))
    expected = explain_samples(dae, X_test, method=method)
    for streamed in (readonly, dataset):
        np.testing.assert_allclose(
            explain_samples(dae, streamed, method=method), expected, rtol=1e-6
        )


@pytest.mark.parametrize("method", METHODS)
def test_the_detector_method_calls_it(tabular, dae, method):
    _, X_test = tabular
    np.testing.assert_array_equal(
        dae.explain(X_test, method=method), FUNCTIONS[method](dae, X_test)
    )


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("method", ["saliency", "Gradient", None, 1])
def test_unknown_method(dae, tabular, method):
    with pytest.raises(ValueError, match="method must be one of"):
        explain_samples(dae, tabular[1], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_unfitted_detector(tabular, method):
    with pytest.raises(NotFittedError):
        explain_samples(DenoisingAE(), tabular[1], method=method)
    with pytest.raises(NotFittedError):
        FUNCTIONS[method](DenoisingAE(), tabular[1])


@pytest.mark.parametrize("method", METHODS)
def test_not_a_skanomaly_detector(tabular, method):
    forest = IsolationForest(n_estimators=5, random_state=0).fit(tabular[0])
    with pytest.raises(TypeError, match="skanomaly detector"):
        explain_samples(forest, tabular[1], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_input_is_checked_as_in_score_samples(dae, tabular, method):
    _, X_test = tabular
    with pytest.raises(ValueError, match="features"):
        explain_samples(dae, X_test[:, :5], method=method)
    bad = X_test.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explain_samples(dae, bad, method=method)


# ------------------------------------------------------ nothing is changed


@pytest.mark.parametrize("method", METHODS)
def test_nothing_is_modified(image_detectors, planted_images, method):
    # images in [0, 1] are not scaled, so the net input may share memory with X
    detector = image_detectors["DenoisingAE"]
    X = planted_images.copy()
    module = detector.net_.module_
    module.train()  # a mode the explanation must leave as it found it
    for parameter in module.parameters():
        parameter.grad = None  # fit leaves the last step's gradients
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global is the point)
    try:
        explain_samples(detector, X, method=method)
        assert module.training and all(m.training for m in module.modules())
    finally:
        module.eval()
    np.testing.assert_array_equal(X, planted_images)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002
    assert all(p.grad is None for p in module.parameters())
    assert all(p.requires_grad for p in module.parameters())


def test_parameter_gradients_stay_unset(image_detectors, planted_images):
    detector = image_detectors["CRBND"]  # a reconstructor and a classifier
    parameters = [p for m in detector._registered_modules() for p in m.parameters()]
    for parameter in parameters:
        parameter.grad = None  # fit leaves the last step's gradients
    gradient_contributions(detector, planted_images)
    assert parameters and all(p.grad is None for p in parameters)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", METHODS)
def test_cuda_detector(tabular, method):
    X_train, X_test = tabular
    detector = make_test_instance(
        DenoisingAE, anomaly_score="reconstruction", device="cuda"
    ).fit(X_train)
    contributions = explain_samples(detector, X_test, method=method)
    assert contributions.dtype == np.float64 and contributions.shape == X_test.shape
    if method == "reconstruction":
        np.testing.assert_allclose(
            contributions.sum(axis=1), -detector.score_samples(X_test), rtol=1e-4
        )
