"""RobustGMMDAE: its losses in training, its ablations, scores and sampling.

The contract every detector keeps (scikit-learn's checks, pickling, batch
invariance, input errors) is tested in ``tests/test_common.py`` and
``tests/test_contract.py``; this module tests what they cannot know.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from skanomaly import RobustGMMDAE
from skanomaly.benchmarking import get_budget, make_detector
from skanomaly.losses import gmm_log_likelihood
from skanomaly.nets import ConvGMMAutoencoder, GMMPrior, MLPGMMAutoencoder
from skanomaly.scores import GMMDAEScore
from skanomaly.utils._testing import held_out_rows

# small networks: each fit below takes about a second
SMALL = {"hidden_dims": (64, 64), "device": "cpu"}


@pytest.fixture(scope="module")
def digits():
    """Digit 0 (normal: 120 training rows) and a test set of 0s and 1-9s."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    zeros = X[y == 0]
    others = X[y != 0][::8]
    X_test = np.concatenate([zeros[120:], others])
    y_test = np.r_[np.zeros(len(zeros) - 120), np.ones(len(others))].astype(int)
    return zeros[:120], X_test, y_test


@pytest.fixture(scope="module")
def fitted(digits):
    return RobustGMMDAE(**SMALL, max_epochs=40, random_state=0).fit(digits[0])


# ---------------------------------------------------------------- training
def test_history_holds_each_term_and_the_weighted_total(fitted):
    weights = fitted.loss_weights_
    assert set(weights) == {"ks", "covariance", "pairing"}
    assert fitted.n_epochs_per_stage_ == {"train": 40}
    for row in fitted.history_:
        # every batch has batch_size_ rows, so epoch means combine linearly
        total = (
            500.0 * row["reconstruction_loss"]
            + weights["ks"] * row["ks_loss"]
            + weights["covariance"] * row["covariance_loss"]
            + weights["pairing"] * row["pairing_loss"]
        )
        assert row["train_loss"] == pytest.approx(total, rel=1e-4)
    first, last = fitted.history_[0], fitted.history_[-1]
    assert last["train_loss"] < 0.5 * first["train_loss"]
    assert last["reconstruction_loss"] < first["reconstruction_loss"]


def test_codes_spread_out_toward_the_prior(fitted, digits):
    # from a near-collapsed start the regularisers spread the codes out; one
    # class of 120 images does not fill ten modes (see docs/robust_gmm_dae.md)
    z = fitted.encode(digits[0]).astype(np.float64)
    untrained = clone(fitted).set_params(max_epochs=1).fit(digits[0])
    z0 = untrained.encode(digits[0]).astype(np.float64)
    spread = np.diag(np.cov(z.T, bias=True)).mean()
    assert spread > 5 * np.diag(np.cov(z0.T, bias=True)).mean()
    assert np.isfinite(z).all()


def test_batches_are_full_and_the_attack_is_boxed(fitted, digits):
    net = fitted.net_
    assert net.iterator_train__drop_last is True
    assert net.settings.clip == (0.0, 1.0)
    x = torch.as_tensor(digits[0][:16])
    with torch.random.fork_rng():  # the random start draws from torch's generator
        torch.manual_seed(0)
        x_adv = net.craft(x)
    assert float((x_adv - x).abs().max()) <= 0.3 + 1e-6
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    # the attack moves the codes further than random noise of the same size
    g = torch.Generator().manual_seed(0)
    noise = (x + 0.3 * (2 * torch.rand(x.shape, generator=g) - 1)).clamp(0, 1)
    with torch.no_grad():
        z = net.module_.encode(x)
        moved = (net.module_.encode(x_adv) - z).pow(2).sum(1).mean()
        random = (net.module_.encode(noise) - z).pow(2).sum(1).mean()
    assert moved > random


@pytest.mark.parametrize("adversarial", ["augmented", "none"])
def test_each_ablation_trains(adversarial, digits):
    X, X_test, y_test = digits
    det = RobustGMMDAE(**SMALL, adversarial=adversarial, max_epochs=40, random_state=0)
    det.fit(X)
    assert set(det.loss_weights_) == {"ks", "covariance"}
    assert all("pairing_loss" not in row for row in det.history_)
    assert det.history_[-1]["train_loss"] < det.history_[0]["train_loss"]
    assert roc_auc_score(y_test, -det.score_samples(X_test)) > 0.95


def test_alpha_reaches_the_net_and_the_weights(digits):
    X = digits[0]
    base = RobustGMMDAE(**SMALL, max_epochs=1, random_state=0)
    strong = clone(base).set_params(alpha=1.0).fit(X)
    weak = clone(base).set_params(alpha=0.0).fit(X)
    assert strong.net_.settings.alpha == 1.0 and weak.net_.settings.alpha == 0.0
    # the covariance weight is estimated on prior pairs with that coupling
    assert strong.loss_weights_["covariance"] != weak.loss_weights_["covariance"]
    assert strong.loss_weights_["pairing"] == weak.loss_weights_["pairing"]


def test_defaults_leave_the_plateau_on_small_data(digits):
    X_blobs, _ = make_blobs(n_samples=50, n_features=6, centers=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        det = RobustGMMDAE(device="cpu", random_state=0).fit(X_blobs)
        # 40 rows train (10 calibrate): 5 full batches an epoch, the 600 steps
        # that 50 rows would get
        assert det.batch_size_ == 8 and det.n_epochs_ == 120
        RobustGMMDAE(device="cpu", random_state=0).fit(digits[0])


# ----------------------------------------------------------------- scoring
def test_reconstruction_score_is_the_squared_error(fitted, digits):
    X_test = digits[1]
    reconstruction = fitted.reconstruct(X_test).astype(np.float64)
    expected = ((reconstruction - X_test) ** 2).sum(axis=1)
    det = copy.deepcopy(fitted).set_params(anomaly_score="reconstruction")
    np.testing.assert_allclose(-det.score_samples(X_test), expected, rtol=1e-4)
    # on tabular rows the default adds the latent-neighbour term
    assert fitted._resolved_anomaly_score() == "reconstruction+knn"


def test_likelihood_and_combined_scores(fitted, digits):
    X, X_test, _ = digits
    det = clone(fitted)
    det.__dict__.update(fitted.__dict__)  # the same fit, another score
    prior = fitted.net_.prior_
    codes = torch.as_tensor(fitted.encode(X_test))
    nll = -gmm_log_likelihood(codes, prior.means, prior.sigma).double().numpy()
    det.set_params(anomaly_score="likelihood")
    np.testing.assert_allclose(-det.score_samples(X_test), nll, rtol=1e-4)
    # combined: each term standardised with its training rows' mean and std
    X = X[held_out_rows(fitted, len(X))[0]]
    rec = ((fitted.reconstruct(X_test).astype(np.float64) - X_test) ** 2).sum(1)
    train_rec = ((fitted.reconstruct(X).astype(np.float64) - X) ** 2).sum(1)
    train_codes = torch.as_tensor(fitted.encode(X))
    train_nll = -gmm_log_likelihood(train_codes, prior.means, prior.sigma).numpy()
    np.testing.assert_allclose(
        fitted.score_center_, [train_rec.mean(), train_nll.mean()], rtol=1e-4
    )
    np.testing.assert_allclose(
        fitted.score_scale_, [train_rec.std(), train_nll.std()], rtol=1e-3
    )
    center, scale = fitted.score_center_, fitted.score_scale_
    expected = (rec - center[0]) / scale[0] + (nll - center[1]) / scale[1]
    det.set_params(anomaly_score="combined")
    np.testing.assert_allclose(
        -det.score_samples(X_test), expected, rtol=1e-3, atol=1e-4
    )
    # the differentiable module agrees for every score
    for kind in ("reconstruction", "likelihood", "combined"):
        det.set_params(anomaly_score=kind)
        module = det.anomaly_score_module()
        got = module(torch.as_tensor(X_test, dtype=torch.float64)).detach().numpy()
        np.testing.assert_allclose(
            got, -det.score_samples(X_test), rtol=1e-4, atol=1e-5
        )


def test_auc_floor_on_digits(fitted, digits):
    _, X_test, y_test = digits
    assert roc_auc_score(y_test, -fitted.score_samples(X_test)) > 0.97


def test_scoring_runs_in_eval_mode_and_restores_modes(fitted, digits):
    seen = []
    modules = [fitted.net_.module_, fitted.net_.prior_]
    hooks = [
        m.register_forward_pre_hook(lambda mod, args: seen.append(mod.training))
        for m in (fitted.net_.module_.encoder, fitted.net_.module_.decoder)
    ]
    before = [m.training for m in modules]
    for m in modules:
        m.train()
    try:
        fitted.score_samples(digits[1][:5])
        fitted.sample(2, random_state=0)
    finally:
        for hook in hooks:
            hook.remove()
    assert seen and not any(seen)
    assert all(m.training for m in modules)
    for m, mode in zip(modules, before, strict=True):
        m.train(mode)


def test_score_module_checks_its_arguments():
    with torch.random.fork_rng():  # the weights' initialisation draws
        ae, prior = MLPGMMAutoencoder(4, 2, (8,)), GMMPrior(2, 2)
    with pytest.raises(ValueError, match="kind"):
        GMMDAEScore(ae, prior, "mahalanobis")
    with pytest.raises(ValueError, match="center and scale"):
        GMMDAEScore(ae, prior, "combined")


# ---------------------------------------------------------------- sampling
def test_sample_decodes_prior_draws(fitted):
    a = fitted.sample(7, random_state=3)
    assert a.shape == (7, 64) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, fitted.sample(7, random_state=3))
    assert not np.array_equal(a, fitted.sample(7, random_state=4))
    rng = np.random.RandomState(0)
    assert fitted.sample(2, random_state=rng).shape == (2, 64)
    assert fitted.sample(2, random_state=np.random.default_rng(0)).shape == (2, 64)
    assert fitted.sample(3).shape == (3, 64)  # fresh entropy, no global state
    with pytest.raises(TypeError, match="n must be an int"):
        fitted.sample(2.0)
    with pytest.raises(ValueError, match="at least 1"):
        fitted.sample(0)


def test_sample_is_in_the_users_units():
    X, _ = make_blobs(n_samples=80, n_features=3, centers=2, random_state=1)
    X = X * 100.0
    det = RobustGMMDAE(**SMALL, max_epochs=20, random_state=0).fit(X)
    drawn = det.sample(50, random_state=0)
    low, high = X.min(axis=0), X.max(axis=0)
    # a sigmoid output maps back inside the training range
    assert np.all(drawn >= low - 1e-3 * np.abs(low)) and np.all(drawn <= high + 1e-3)
    assert drawn.std(axis=0).min() > 0


# ------------------------------------------------------------ reproducible
def test_same_random_state_same_scores(digits):
    X, X_test, _ = digits
    params = {**SMALL, "max_epochs": 3}
    a = RobustGMMDAE(**params, random_state=7).fit(X).score_samples(X_test)
    b = RobustGMMDAE(**params, random_state=7).fit(X).score_samples(X_test)
    c = RobustGMMDAE(**params, random_state=8).fit(X).score_samples(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------ architecture
def test_convolutional_network_on_images(digits):
    X, X_test, y_test = digits
    det = RobustGMMDAE(
        architecture="conv",
        width=8,
        input_shape=(1, 8, 8),
        max_epochs=30,
        device="cpu",
        random_state=0,
    ).fit(X)
    assert det.architecture_ == "conv"
    assert isinstance(det.net_.module_, ConvGMMAutoencoder)
    assert det.sample(4, random_state=0).shape == (4, 64)
    assert roc_auc_score(y_test, -det.score_samples(X_test)) > 0.9
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(
        restored.score_samples(X_test), det.score_samples(X_test)
    )
    torch.testing.assert_close(restored.net_.prior_.means, det.net_.prior_.means)


def test_auto_architecture():
    det = RobustGMMDAE()
    assert det._resolve_architecture((64,)) == "mlp"
    assert det._resolve_architecture((1, 28, 28)) == "mlp"  # as the paper's MNIST
    assert det._resolve_architecture((3, 32, 32)) == "conv"  # as its SVHN
    assert det._resolve_architecture((3, 8, 8)) == "mlp"


# ----------------------------------------------------------------- errors
def test_errors_name_the_parameter(digits):
    X = digits[0]
    with pytest.raises(ValueError, match="latent_dim must be at least n_components"):
        RobustGMMDAE(n_components=5, latent_dim=3, device="cpu").fit(X)
    with pytest.raises(ValueError, match="architecture='conv'"):
        RobustGMMDAE(architecture="conv", device="cpu").fit(X)
    with pytest.raises(ValueError, match="hidden_dims"):
        RobustGMMDAE(hidden_dims=(0,), device="cpu").fit(X)
    for name, value in [
        ("anomaly_score", "mahalanobis"),
        ("adversarial", "pgd"),
        ("alpha", 1.5),
        ("epsilon", -0.1),
        ("sigma", 0.0),
    ]:
        with pytest.raises(ValueError, match=name):
            RobustGMMDAE(**{name: value}, device="cpu").fit(X)


# ---------------------------------------------------------- configurations
def test_paper_params_and_registry():
    mnist = RobustGMMDAE.paper_params("mnist")
    assert mnist["max_epochs"] == 500 and mnist["batch_size"] == 100
    assert mnist["lr"] == 2e-4 and mnist["epsilon"] == 0.3
    assert mnist["reconstruction_weight"] == 500.0
    fashion = RobustGMMDAE.paper_params("fashion-mnist")
    assert fashion["max_epochs"] == 100 and fashion["reconstruction_weight"] == 2000.0
    RobustGMMDAE(**fashion)  # valid parameters
    with torch.random.fork_rng():
        det = make_detector("robust-gmm-dae", get_budget("quick", max_epochs=3), seed=2)
    assert isinstance(det, RobustGMMDAE)
    assert det.max_epochs == 3 and det.random_state == 2


@pytest.mark.parametrize(
    ("n_rows", "images", "budget"),
    [
        # a Fashion-MNIST class: 93 full batches, the 5,000-step target within
        # 50 epochs
        (6000, True, (64, 50)),
        # tabular rows: the minimums, 600 steps of full batches (46 of
        # 3,000 rows: 14 epochs, where ARAE's 47 batches take 13)
        (6000, False, (64, 10)),
        (3000, False, (64, 14)),
        # 50 rows: batches of 8, 6 full ones an epoch
        (50, False, (8, 100)),
        (50, True, (8, 100)),
    ],
)
def test_auto_budget_counts_full_batches_and_trains_images_longer(
    n_rows, images, budget
):
    assert RobustGMMDAE()._resolve_budget(n_rows, images=images) == budget
