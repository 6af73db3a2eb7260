"""ARAE and its ARAE-R / ARAE-A variants (the contract: tests/test_contract.py)."""

import copy

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import skanomaly.detectors._arae as arae_module
from skanomaly import ARAE, DenoisingAE
from skanomaly.attacks import pgd
from skanomaly.losses import arae_loss
from skanomaly.nets import MLPAutoencoder
from skanomaly.nets.mlp import ACTIVATIONS

SMALL = {
    "hidden_dims": (16, 8),
    "max_epochs": 2,
    "pgd_steps": 2,
    "batch_size": 16,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def images():
    """Tiny 1x4x4 'images' in [0, 1]: a bright blob, and uniform noise as outliers."""
    rng = np.random.RandomState(0)
    base = np.zeros((4, 4))
    base[1:3, 1:3] = 0.8
    train = (base.ravel() + rng.normal(0, 0.05, size=(64, 16))).clip(0, 1)
    test = np.vstack(
        [
            (base.ravel() + rng.normal(0, 0.05, size=(10, 16))).clip(0, 1),
            rng.uniform(size=(10, 16)),
        ]
    )
    return train.astype(np.float32), test.astype(np.float32)


@pytest.fixture(scope="module")
def fitted(images):
    return ARAE(**SMALL, random_state=0).fit(images[0])


def test_outlier_contract_and_score_is_sse(fitted, images):
    _, X_test = images
    # one fit gives every score; the paper's is the sum of squared errors
    fitted = copy.deepcopy(fitted).set_params(anomaly_score="reconstruction")
    # the threshold was calibrated with the default score: recalibrate
    fitted.calibrate(images[0])
    scores = fitted.score_samples(X_test)
    assert scores.dtype == np.float64 and scores.shape == (20,)
    reconstruction = fitted.reconstruct(X_test).astype(np.float64)
    np.testing.assert_allclose(
        -scores, ((reconstruction - X_test) ** 2).sum(axis=1), rtol=1e-4
    )
    assert set(np.unique(fitted.predict(X_test))) <= {-1, 1}
    assert fitted.n_epochs_ == 2 and np.isfinite(fitted.history_[-1]["train_loss"])
    assert isinstance(fitted.net_.module_, MLPAutoencoder)


def test_paper_configuration_is_the_papers():
    det = ARAE(**ARAE.paper_params("fashion-mnist"))
    assert det.hidden_dims == (512, 256, 128)
    assert (det.epsilon, det.gamma, det.batch_size, det.lr) == (0.05, 0.1, 256, 1e-3)
    with torch.random.fork_rng():
        module = MLPAutoencoder(
            784, det.hidden_dims, act_layer=ACTIVATIONS[det.activation]
        )
    assert sum(p.numel() for p in module.parameters()) == pytest.approx(1.13e6, 0.01)
    sigmoids = [m for m in module.modules() if isinstance(m, torch.nn.Sigmoid)]
    assert len(sigmoids) == 6  # after every layer, latent and output included


def test_loss_is_the_authors(images):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = MLPAutoencoder(16, (8, 4))
    x = torch.as_tensor(images[0][:8])
    x_adv = (x + 0.05).clamp(0, 1)
    loss = arae_loss(module, x, x_adv, gamma=0.3)
    z, z_adv = module.encode(x), module.encode(x_adv)
    expected = (module.decode(z_adv) - x).pow(2).mean(dim=1) + 0.3 * (
        (z - z_adv).pow(2).mean(dim=1)
    )
    torch.testing.assert_close(loss, expected)
    # gradients flow through both encoder branches: detaching Enc(x) changes them
    (grad_both,) = torch.autograd.grad(loss.sum(), module.encoder[0].weight)
    detached = (module.decode(z_adv) - x).pow(2).mean(dim=1) + 0.3 * (
        (z.detach() - z_adv).pow(2).mean(dim=1)
    )
    (grad_one,) = torch.autograd.grad(detached.sum(), module.encoder[0].weight)
    assert not torch.allclose(grad_both, grad_one)


def test_zero_epsilon_is_a_plain_autoencoder(images):
    """With epsilon=0, x_adv = x and ARAE trains exactly DenoisingAE(noise_scale=0)."""
    X_train, X_test = images
    common = {k: v for k, v in SMALL.items() if k != "pgd_steps"}
    ae = ARAE(**common, epsilon=0.0, gamma=0.5, random_state=1).fit(X_train)
    dae = DenoisingAE(**common, noise_scale=0.0, random_state=1).fit(X_train)
    np.testing.assert_allclose(
        ae.score_samples(X_test), dae.score_samples(X_test), rtol=1e-5
    )


class Spy:
    """Wraps an attack function and records its keyword arguments."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, objective, x, **kwargs):
        self.calls.append(kwargs)
        return self.fn(objective, x, **kwargs)


@pytest.fixture
def spies(monkeypatch):
    spy_pgd = Spy(arae_module.pgd)
    spy_grid = Spy(arae_module.spatial_grid_search)
    monkeypatch.setattr(arae_module, "pgd", spy_pgd)
    monkeypatch.setattr(arae_module, "spatial_grid_search", spy_grid)
    return spy_pgd, spy_grid


def test_attack_settings_reach_the_papers(images, spies):
    spy_pgd, spy_grid = spies
    X_train = images[0]
    # the paper's attack: 40 steps, step_size=None (pgd's 2.5 * epsilon / steps)
    paper_attack = {"max_epochs": 1, "pgd_steps": 40, "step_size": None}
    ARAE(**{**SMALL, **paper_attack}, epsilon=0.2).fit(X_train)
    call = spy_pgd.calls[0]
    assert call["epsilon"] == 0.2 and call["steps"] == 40 and call["norm"] == "linf"
    assert call["step_size"] is None
    assert call["clip"] == (0.0, 1.0)
    assert len(spy_pgd.calls) == 4 and not spy_grid.calls  # 64 rows / 16 per batch
    spy_pgd.calls.clear()
    union = ARAE(
        **{**SMALL, "max_epochs": 1},
        attack="union",
        n_rotations=31,
        input_shape=(1, 4, 4),
        step_size=0.5,
    ).fit(X_train)
    assert [c["norm"] for c in spy_pgd.calls[:2]] == ["linf", "l2"]
    assert spy_pgd.calls[0]["step_size"] == pytest.approx(0.5 * 0.05)
    assert spy_pgd.calls[1]["epsilon"] == pytest.approx(0.05 * 4)  # eps * sqrt(16)
    grid = spy_grid.calls[0]
    assert len(grid["angles"]) * len(grid["translations"]) ** 2 == 279
    assert min(grid["angles"]) == -30.0 and max(grid["angles"]) == 30.0
    assert max(grid["translations"]) == pytest.approx(4 / 28)
    assert grid["input_shape"] == (1, 4, 4)
    assert np.isfinite(union.score_samples(images[1])).all()


@pytest.mark.parametrize(
    "params",
    [
        {"attack": "l2"},
        {"attack": "l2", "l2_epsilon": 0.5},
        {"attack_target": "reconstruction"},
        {"attack": "spatial", "input_shape": (1, 4, 4)},
        {"attack": "union", "input_shape": (1, 4, 4)},
        {"attack": "union", "input_shape": (1, 4, 4), "union_strategy": "avg"},
        {"recraft": "epoch"},
    ],
)
def test_variants_fit_and_score(images, params):
    X_train, X_test = images
    det = ARAE(**SMALL, random_state=0, **params).fit(X_train)
    scores = det.score_samples(X_test)
    assert scores.shape == (20,) and np.isfinite(scores).all()


def test_image_arrays_enable_the_spatial_attack(images):
    X_train = images[0].reshape(-1, 1, 4, 4)
    det = ARAE(**SMALL, attack="union", random_state=0).fit(X_train)
    assert det.input_shape_ == (1, 4, 4)


@pytest.mark.parametrize("attack", ["spatial", "union"])
def test_spatial_attack_needs_images(images, attack):
    with pytest.raises(ValueError, match="input_shape"):
        ARAE(**SMALL, attack=attack).fit(images[0])


def test_union_max_trains_on_the_worst_case(images, monkeypatch):
    """The 'max' union trains on one batch per step: the per-sample worst case."""
    seen = []
    original = arae_module.arae_loss

    def spy(module, x, x_adv, gamma, **kwargs):
        seen.append(x_adv.shape)
        return original(module, x, x_adv, gamma, **kwargs)

    monkeypatch.setattr(arae_module, "arae_loss", spy)
    X_train = images[0]
    shape = {"input_shape": (1, 4, 4), "attack": "union", "max_epochs": 1}
    ARAE(**{**SMALL, **shape}).fit(X_train)
    assert len(seen) == 4
    seen.clear()
    ARAE(**{**SMALL, **shape}, union_strategy="avg").fit(X_train)
    assert len(seen) == 12


def test_recraft_per_epoch_attacks_the_start_of_epoch_weights(images, monkeypatch):
    modules = []
    original = arae_module.ARAENet.attack_module

    def spy(self):
        module = original(self)
        modules.append((len(self.history), module, self.module_))
        return module

    monkeypatch.setattr(arae_module.ARAENet, "attack_module", spy)
    det = ARAE(**SMALL, recraft="epoch", random_state=0).fit(images[0])
    by_epoch = {}
    for epoch, attacked, current in modules:
        assert attacked is not current
        by_epoch.setdefault(epoch, set()).add(id(attacked))
    assert sorted(by_epoch) == [1, 2]
    assert all(len(ids) == 1 for ids in by_epoch.values())
    assert det.net_._epoch_snapshot is None  # not pickled with the model
    modules.clear()
    ARAE(**SMALL, recraft="batch", random_state=0).fit(images[0])
    assert all(attacked is current for _, attacked, current in modules)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_box_follows_the_data_scale():
    rng = np.random.RandomState(0)
    unit = ARAE(**SMALL, random_state=0).fit(rng.uniform(size=(32, 6)))
    assert unit.net_.settings.clip == (0.0, 1.0)
    raw = rng.normal(100, 5, size=(32, 6))
    assert ARAE(**SMALL, random_state=0).fit(raw).net_.settings.clip == (0.0, 1.0)
    unscaled = ARAE(**SMALL, scaling="none", random_state=0).fit(raw)
    assert unscaled.net_.settings.clip is None
    assert np.isfinite(unscaled.score_samples(raw)).all()


def test_grid_parameters_can_be_set_on_a_clone(fitted):
    params = clone(fitted).set_params(epsilon=0.2, gamma=0.5).get_params()
    assert params["epsilon"] == 0.2 and params["gamma"] == 0.5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"epsilon": -0.1}, "epsilon"),
        ({"gamma": -1.0}, "gamma"),
        ({"attack": "l1"}, "attack"),
        ({"attack_target": "output"}, "attack_target"),
        ({"pgd_steps": 0}, "pgd_steps"),
        ({"step_size": 0.0}, "step_size"),
        ({"l2_epsilon": -1.0}, "l2_epsilon"),
        ({"n_rotations": 0}, "n_rotations"),
        ({"max_rotation": 200.0}, "max_rotation"),
        ({"max_translation": 1.5}, "max_translation"),
        ({"union_strategy": "min"}, "union_strategy"),
        ({"recraft": "never"}, "recraft"),
        ({"hidden_dims": ()}, "hidden_dims"),
    ],
)
def test_bad_parameters_raise_value_error(images, params, match):
    with pytest.raises(ValueError, match=match):
        ARAE(**{**SMALL, **params}).fit(images[0])


#: a budget past the plateau where every input is reconstructed alike (a
#: ConvergenceWarning, an error in the test run, would say so): ~1,000 steps of a
#: small network on the 125 training zeros of the digits
LEARNS = {
    "hidden_dims": (64, 32),
    "max_epochs": 60,
    "batch_size": 8,
    "lr": 3e-3,
    "random_state": 0,
    "device": "cpu",
}


def test_auc_floor_on_digits(digits_one_class):
    X_train, X_test, y_test = digits_one_class
    det = ARAE(**LEARNS, pgd_steps=5).fit(X_train)
    assert roc_auc_score(y_test, -det.score_samples(X_test)) > 0.95


def test_adversarial_training_stabilises_the_latent_code(digits_one_class):
    """The point of the method: ARAE's code moves less under a latent attack."""
    X_train = digits_one_class[0]
    robust = ARAE(**LEARNS, epsilon=0.1, pgd_steps=5).fit(X_train)
    plain = DenoisingAE(**LEARNS).fit(X_train)
    x = torch.as_tensor(X_train)
    shifts = []
    for det in (robust, plain):
        module = det.net_.module_
        with torch.no_grad():
            z = module.encode(x)
        objective = lambda xa, m=module, z=z: (m.encode(xa) - z).pow(2).mean(dim=1)  # noqa: E731
        x_adv = pgd(
            objective,
            x,
            epsilon=0.1,
            steps=10,
            generator=torch.Generator(),
            module=module,
        )
        # relative to the spread of the clean codes
        with torch.no_grad():
            shifts.append(float(objective(x_adv).mean() / z.var(dim=0).mean()))
    assert shifts[0] < shifts[1]


@pytest.mark.foreign_rng  # GridSearchCV's and the splitter's own randomness
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_example_in_the_docs(capsys):
    """Run the epsilon/gamma grid search of docs/arae.md exactly as written."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "arae.md").read_text()
    block = re.search(
        r"<!-- grid-search-example.*?-->\s*```python\n(.*?)```", doc, re.S
    ).group(1)
    namespace = {}
    exec(compile(block, "docs/arae.md", "exec"), namespace)
    search = namespace["search"]
    assert set(search.best_params_) == {"estimator__epsilon", "estimator__gamma"}
    assert len(search.cv_results_["params"]) == 4
    # the refit saw the inliers of the development set only
    assert search.best_estimator_.n_inliers_ == int((namespace["y_dev"] == 0).sum())
    assert namespace["test_auc"] > 0.95
    printed = capsys.readouterr().out
    assert str(search.best_params_) in printed and "test AUC" in printed
    # what the page says it prints
    assert str(search.best_params_) in doc and f"{namespace['test_auc']:.3f}" in doc


@pytest.mark.parametrize(
    ("n_rows", "images", "budget"),
    [
        (6000, True, (64, 50)),  # a Fashion-MNIST class: the 5,000-step target
        (3000, False, (64, 13)),  # tabular rows: 600 steps, the minimum
        (50, False, (8, 86)),
    ],
)
def test_auto_budget_targets_images_only(n_rows, images, budget):
    assert ARAE()._resolve_budget(n_rows, images=images) == budget


def test_fit_trains_tabular_rows_the_minimum_budget():
    X = np.random.RandomState(0).uniform(size=(3000, 3)).astype(np.float32)
    det = ARAE(hidden_dims=(8, 2), calibration="training", device="cpu")
    det.fit(X)
    # 3,000 rows: batch 64, 47 steps an epoch, 13 epochs for 600 steps (as
    # images they would train 50)
    assert (det.batch_size_, det.n_epochs_) == (64, 13)


def test_shared_clean_codes_train_exactly_as_two_encoder_passes(images):
    """The step encodes the clean batch once for the attack's target and the
    loss; against a second pass the loss and its gradients are the same."""
    X = torch.as_tensor(images[0][:16])
    det = ARAE(**SMALL, random_state=0).fit(images[0])
    module = det.net_.module_
    x_adv = (X + 0.05).clamp(0, 1)
    shared = arae_loss(module, X, x_adv, 0.1, codes=module.encode(X))
    grads_shared = torch.autograd.grad(shared.sum(), list(module.parameters()))
    separate = arae_loss(module, X, x_adv, 0.1)
    grads_separate = torch.autograd.grad(separate.sum(), list(module.parameters()))
    torch.testing.assert_close(shared, separate, rtol=0, atol=0)
    for a, b in zip(grads_shared, grads_separate, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
