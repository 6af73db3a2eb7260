"""The robust GMM-DAE paper's latent-space and maximum-damage attacks."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skanomaly import PuzzleAE, RobustGMMDAE
from skanomaly.robustness import (
    latent_space_attack,
    maximum_damage_attack,
    ms_ssim,
)
from skanomaly.utils import all_estimators
from skanomaly.utils._testing import make_detector_data, make_test_instance

SIDE = 12


@pytest.fixture(scope="module")
def images():
    """Two kinds of 12x12 images in [0, 1]: bright left halves and bright right."""
    rng = np.random.RandomState(0)
    X = rng.uniform(0.0, 0.2, size=(80, 1, SIDE, SIDE)).astype(np.float32)
    X[:40, :, :, : SIDE // 2] += 0.7
    X[40:, :, :, SIDE // 2 :] += 0.7
    return X


@pytest.fixture(scope="module")
def detector(images):
    det = RobustGMMDAE(
        n_components=2,
        latent_dim=2,
        hidden_dims=(32,),
        max_epochs=30,
        batch_size=16,
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return det.fit(images)


@pytest.mark.parametrize("method", ["lbfgsb", "pgd"])
@pytest.mark.parametrize("budget", [0.5, 2.0])
def test_latent_attack_respects_budget_and_box(detector, images, method, budget):
    X, X_t = images[:4], images[40:44]
    before = X.copy()
    res = latent_space_attack(
        detector,
        X,
        X_t,
        budget=budget,
        method=method,
        max_iter=30,
        steps=20,
        random_state=0,
    )
    np.testing.assert_array_equal(X, before)
    assert res.X_adv.shape == X.shape and res.X_adv.dtype == np.float32
    assert (res.l2_input <= budget * (1 + 1e-9)).all()
    # the returned float32 inputs too
    dist = np.linalg.norm((res.X_adv - X).reshape(4, -1).astype(np.float64), axis=1)
    assert (dist <= budget + 1e-5).all()
    assert res.X_adv.min() >= 0.0 and res.X_adv.max() <= 1.0
    assert res.attack == "latent" and res.method == method and res.budget == budget
    for name in ("l2_reference", "ms_ssim_input", "ms_ssim_reference", "attack_loss"):
        assert getattr(res, name).shape == (4,), name
    assert ((res.ms_ssim_input >= 0) & (res.ms_ssim_input <= 1 + 1e-9)).all()


@pytest.mark.parametrize("method", ["lbfgsb", "pgd"])
def test_latent_attack_moves_the_code_toward_the_target(detector, images, method):
    X, X_t = images[:5], images[40:45]
    res = latent_space_attack(
        detector,
        X,
        X_t,
        budget=2.0,
        method=method,
        max_iter=50,
        steps=50,
        random_state=0,
    )
    z = detector.encode(X)
    z_adv, z_t = detector.encode(res.X_adv), detector.encode(X_t)
    before = np.linalg.norm(z - z_t, axis=1)
    after = np.linalg.norm(z_adv - z_t, axis=1)
    np.testing.assert_allclose(res.clean_loss, before, rtol=1e-4)
    np.testing.assert_allclose(res.attack_loss, after, rtol=1e-3, atol=1e-4)
    assert (after < before).all()
    # the reconstruction comes closer to the target
    clean = np.linalg.norm(
        (detector.reconstruct(X) - X_t.reshape(5, -1)).astype(np.float64), axis=1
    )
    assert res.l2_reference.mean() < clean.mean()


@pytest.mark.parametrize("method", ["lbfgsb", "pgd"])
def test_max_damage_beats_a_random_perturbation_of_the_same_norm(
    detector, images, method
):
    X = images[:6]
    budget = 1.5
    res = maximum_damage_attack(
        detector,
        X,
        budget=budget,
        method=method,
        max_iter=50,
        steps=50,
        random_state=0,
    )
    assert (res.l2_input <= budget * (1 + 1e-9)).all()
    assert res.X_adv.min() >= 0.0 and res.X_adv.max() <= 1.0
    assert res.X_target is None and (res.clean_loss == 0).all()
    rng = np.random.RandomState(1)
    noise = rng.normal(size=X.shape)
    noise *= res.l2_input.reshape(-1, 1, 1, 1) / np.linalg.norm(
        noise.reshape(6, -1), axis=1
    ).reshape(-1, 1, 1, 1)
    X_random = np.clip(X + noise, 0, 1).astype(np.float32)
    rec = detector.reconstruct(X)
    random_damage = np.linalg.norm(
        (detector.reconstruct(X_random) - rec).astype(np.float64), axis=1
    )
    adv_damage = np.linalg.norm(
        (detector.reconstruct(res.X_adv) - rec).astype(np.float64), axis=1
    )
    np.testing.assert_allclose(res.attack_loss, adv_damage, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(res.l2_reference, res.attack_loss, rtol=1e-6)
    assert (adv_damage > random_damage).all()
    # MS-SSIM(rec(x), rec(x_adv)) is the paper's Table 1 quantity
    expected = ms_ssim(rec, res.reconstructions_adv, image_shape=(1, SIDE, SIDE))
    np.testing.assert_allclose(res.ms_ssim_reference, expected, atol=1e-5)


def test_results_are_reproducible_and_leave_global_state(detector, images):
    a = maximum_damage_attack(
        detector, images[:2], method="pgd", steps=5, random_state=3
    )
    b = maximum_damage_attack(
        detector, images[:2], method="pgd", steps=5, random_state=3
    )
    np.testing.assert_array_equal(a.X_adv, b.X_adv)
    c = latent_space_attack(
        detector, images[:2], images[40:42], max_iter=5, random_state=3
    )
    d = latent_space_attack(
        detector, images[:2], images[40:42], max_iter=5, random_state=3
    )
    np.testing.assert_array_equal(c.X_adv, d.X_adv)
    # the detector's networks are back in eval-independent, trainable state
    assert all(p.requires_grad for p in detector.net_.module_.parameters())


def test_flat_rows_give_nan_ms_ssim_unless_image_shape(detector, images):
    rows = np.random.RandomState(0).uniform(size=(60, 10)).astype(np.float32)
    det = make_test_instance(RobustGMMDAE).fit(rows)
    res = maximum_damage_attack(det, rows[:2], method="pgd", steps=3, random_state=0)
    assert np.isnan(res.ms_ssim_input).all() and res.X_adv.shape == (2, 10)
    flat = images.reshape(len(images), -1)
    res = maximum_damage_attack(
        detector, flat[:2], method="pgd", steps=3, random_state=0
    )
    assert res.X_adv.shape == (2, SIDE * SIDE) and np.isfinite(res.ms_ssim_input).all()


def test_scaled_detector_budget_is_in_the_scaled_space():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 255, size=(60, 10)).astype(np.float32)
    det = make_test_instance(RobustGMMDAE, scaling="global").fit(X)
    res = maximum_damage_attack(
        det, X[:3], budget=0.5, method="pgd", steps=5, random_state=0
    )
    scale = det.scaler_.scale_
    dist = np.linalg.norm((res.X_adv - X[:3]).astype(np.float64), axis=1) / scale
    assert (dist <= 0.5 + 1e-4).all()
    assert res.X_adv.min() >= 0 and res.X_adv.max() <= 255.01


@pytest.mark.parametrize(
    "name_and_class",
    [p for p in all_estimators() if p[0] != "PuzzleAE"],
    ids=lambda p: p[0],
)
def test_attacks_run_for_every_autoencoder(name_and_class):
    _, cls = name_and_class
    det = make_test_instance(cls)
    data = make_detector_data(det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det.fit(data.X_train, **data.fit_params)
    X, X_t = data.X_test[:2], data.X_test[-2:]
    for method in ("lbfgsb", "pgd"):
        lat = latent_space_attack(
            det,
            X,
            X_t,
            budget=1.0,
            method=method,
            max_iter=5,
            steps=3,
            random_state=0,
        )
        dam = maximum_damage_attack(
            det, X, budget=1.0, method=method, max_iter=5, steps=3, random_state=0
        )
        for res in (lat, dam):
            assert res.X_adv.shape == X.shape
            assert (res.l2_input <= 1.0 + 1e-9).all()
            assert np.isfinite(res.attack_loss).all()


def test_puzzle_ae_has_no_decoder():
    det = make_test_instance(PuzzleAE)
    data = make_detector_data(det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det.fit(data.X_train)
    with pytest.raises(TypeError, match="no decode"):
        maximum_damage_attack(det, data.X_test[:2])


def test_bad_input(detector, images):
    X = images[:2]
    with pytest.raises(ValueError, match="budget"):
        maximum_damage_attack(detector, X, budget=-1.0)
    with pytest.raises(ValueError, match="budget"):
        maximum_damage_attack(detector, X, budget=0.0)
    with pytest.raises(TypeError, match="budget"):
        maximum_damage_attack(detector, X, budget="1")
    with pytest.raises(ValueError, match="method"):
        maximum_damage_attack(detector, X, method="adam")
    with pytest.raises(ValueError, match="X_target"):
        latent_space_attack(detector, X, images[:3])
    with pytest.raises(ValueError, match="X_target"):
        latent_space_attack(detector, X, None)
    with pytest.raises(ValueError, match="shape"):
        maximum_damage_attack(detector, np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match="clip"):
        maximum_damage_attack(detector, X, clip=(1.0, 0.0))
    with pytest.raises(TypeError, match="skanomaly detector"):
        maximum_damage_attack(object(), X)
    with pytest.raises(ValueError, match="max_iter"):
        maximum_damage_attack(detector, X, max_iter=0)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        maximum_damage_attack(RobustGMMDAE(), X)


def test_ms_ssim():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(3, 1, 28, 28))
    np.testing.assert_allclose(ms_ssim(X, X, image_shape=(1, 28, 28)), 1.0)
    noisy = np.clip(X + rng.normal(scale=0.1, size=X.shape), 0, 1)
    noisier = np.clip(X + rng.normal(scale=0.3, size=X.shape), 0, 1)
    a = ms_ssim(X, noisy, image_shape=(28, 28))
    b = ms_ssim(X, noisier, image_shape=(28, 28))
    assert ((b < a) & (a < 1) & (b >= 0)).all()
    # large images go through pytorch_msssim.ms_ssim itself, five scales
    import torch
    from pytorch_msssim import ms_ssim as package

    big = rng.uniform(size=(2, 1, 80, 80))
    big2 = np.clip(big + rng.normal(scale=0.1, size=big.shape), 0, 1)
    expected = package(
        torch.as_tensor(big),
        torch.as_tensor(big2),
        data_range=1.0,
        size_average=False,
        win_size=5,
    ).numpy()
    got = ms_ssim(big, big2, image_shape=(1, 80, 80))
    np.testing.assert_allclose(got, expected, rtol=1e-3)
    # the loop used below the package's size check gives the package's numbers
    from skanomaly.robustness._msssim import MS_SSIM_WEIGHTS, _ms_ssim_levels

    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64)
    loop = _ms_ssim_levels(
        torch.as_tensor(big), torch.as_tensor(big2), weights / weights.sum(), 1.0, 5
    )
    np.testing.assert_allclose(loop.numpy(), expected, rtol=1e-3)
    with pytest.raises(ValueError, match="levels"):
        ms_ssim(X, X, image_shape=(1, 28, 28), levels=5)
    with pytest.raises(ValueError, match="odd"):
        ms_ssim(X, X, image_shape=(1, 28, 28), win_size=4)
    with pytest.raises(ValueError, match="as many"):
        ms_ssim(X, X[:2], image_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="shape"):
        ms_ssim(X, X, image_shape=(1, 27, 28))
