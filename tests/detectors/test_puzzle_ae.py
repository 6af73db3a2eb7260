"""PuzzleAE: the estimator, its training step and its scoring.

scikit-learn's generic checks feed 2-D tabular data without ``input_shape``, so
most of them cannot run on this image-only detector (see
``EXPECTED_FAILED_CHECKS``); the contract points they cover (pickling, clone,
dtypes, outlier labels, batch and order invariance, determinism, errors) are
tested on small images by ``tests/test_contract.py``, which maps each waived
check to its tests.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.covariance import OAS
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from skanomaly import PuzzleAE
from skanomaly.augment import permute_tiles, puzzle_permutations
from skanomaly.detectors import _puzzle_ae as puzzle_ae_module
from skanomaly.detectors._puzzle_ae import PuzzleAENet, PuzzleAESettings
from skanomaly.nets import PaddedNet, UNet

SMALL = {
    "base_width": 4,
    "discriminator_width": 4,
    "max_epochs": 2,
    "batch_size": 8,
    "device": "cpu",
    # every row trains: these tests count and follow the training rows (the
    # held-out threshold is tested by tests/test_contract.py)
    "calibration": "training",
}


def _images(n, seed, channels=1, size=16, anomalous=False):
    """Smooth horizontal ramps (normal) or vertical ramps (anomalous)."""
    rng = np.random.RandomState(seed)
    ramp = np.linspace(0.1, 0.9, size, dtype=np.float32)
    base = ramp[:, None] if anomalous else ramp[None, :]
    base = np.broadcast_to(base, (size, size))
    noise = rng.uniform(-0.05, 0.05, size=(n, channels, size, size))
    return np.clip(base + noise, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    return _images(40, 0), np.concatenate(
        [_images(6, 1), _images(6, 2, anomalous=True)]
    )


@pytest.fixture(scope="module")
def fitted(data):
    return PuzzleAE(**SMALL, random_state=0).fit(data[0])


def _make_net(channels=1, size=16, weight=0.02, epsilon=0.07, seed=0, legacy=False):
    settings = PuzzleAESettings(
        permutations=puzzle_permutations(2, "all").numpy(),
        input_shape=(channels, size, size),
        masking=True,
        epsilon=epsilon,
        legacy_fgsm=legacy,
        feature_matching_weight=weight,
        discriminator_width=4,
    )
    discriminator_optimizer = {}
    if weight > 0:
        discriminator_optimizer = {
            "optimizer_discriminator": torch.optim.Adam,
            "optimizer_discriminator__lr": 2e-4,
            "optimizer_discriminator__betas": (0.5, 0.999),
        }
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = PuzzleAENet(
            module=PaddedNet(UNet(channels, base_width=4), multiple=2, min_size=16),
            criterion=None,
            optimizer=torch.optim.Adam,
            **discriminator_optimizer,
            settings=settings,
            train_split=None,
            device="cpu",
        ).initialize()
    return net


def test_the_discriminator_optimizer_is_routed_the_skorch_way(fitted):
    net = _make_net()
    group = net.optimizer_discriminator_.param_groups[0]
    assert group["lr"] == 2e-4 and group["betas"] == (0.5, 0.999)
    net.set_params(optimizer_discriminator__lr=1e-3)
    assert net.optimizer_discriminator_.param_groups[0]["lr"] == 1e-3
    # the estimator's discriminator_lr reaches it
    lr = fitted.net_.optimizer_discriminator_.param_groups[0]["lr"]
    assert lr == fitted.discriminator_lr


# ----------------------------------------------------------------- contract


def test_fitted_attributes(fitted):
    assert fitted.input_shape_ == (1, 16, 16) and fitted.n_features_in_ == 256
    assert fitted.padded_shape_ == (16, 16)
    assert fitted.permutations_.shape == (23, 4)
    assert fitted.permutation_errors_.shape == (23,)
    assert len(fitted.validation_indices_) == 6  # 15 % of 40
    assert fitted.n_epochs_ == 2
    for key in ("train_loss", "reconstruction_loss", "discriminator_loss"):
        assert np.isfinite(fitted.history_[-1][key])
    assert isinstance(fitted.net_.discriminator_, torch.nn.Module)


def test_bad_parameters_raise(data):
    with pytest.raises(ValueError, match="even"):
        PuzzleAE(**{**SMALL, "base_width": 3}).fit(data[0])
    with pytest.raises(ValueError, match="n_permutations"):
        PuzzleAE(**SMALL, n_permutations=30).fit(data[0])


# ------------------------------------------------------------------ scoring
def _paper_score(fitted):
    """A copy of ``fitted`` that scores with the paper's puzzle errors alone."""
    return pickle.loads(pickle.dumps(fitted)).set_params(anomaly_score="puzzle")


def test_aggregations_of_normalised_permutation_errors(fitted, data):
    X_test = data[1]
    per_perm = fitted.permutation_scores(X_test)
    assert per_perm.shape == (12, 23)
    np.testing.assert_allclose(
        -_paper_score(fitted).score_samples(X_test), per_perm.max(axis=1)
    )
    for name, fn in (("mean", np.mean), ("min", np.min)):
        det = _paper_score(fitted)
        det.aggregation = name
        np.testing.assert_allclose(
            -det.score_samples(X_test), fn(per_perm, axis=1), rtol=1e-12
        )


def test_permutation_error_is_mse_of_the_solved_puzzle(fitted, data):
    x = torch.as_tensor(data[1][:3])
    unet = fitted.net_.module_.eval()
    with torch.no_grad():
        for i in (0, 7, 22):
            out = unet(permute_tiles(x, fitted.permutations_[i]))
            expected = (out - x).pow(2).flatten(1).mean(1).double().numpy()
            np.testing.assert_allclose(
                fitted.permutation_scores(data[1][:3])[:, i],
                expected / fitted.permutation_errors_[i],
                rtol=1e-5,
            )


@pytest.mark.parametrize("puzzles_per_pass", [None, 5])
def test_scoring_matches_the_plain_unet_one_permutation_at_a_time(
    fitted, data, monkeypatch, puzzles_per_pass
):
    # scoring cuts every puzzle in one gather, runs passes of a few puzzles and,
    # on CPU, a channels-last copy of the U-Net; passes of 5 puzzles straddle
    # permutations and batches
    if puzzles_per_pass is not None:
        monkeypatch.setattr(
            puzzle_ae_module, "_CPU_PIXELS_PER_PASS", puzzles_per_pass * 16 * 16
        )
    X_test = data[1]
    x = torch.as_tensor(X_test)
    unet = fitted.net_.module_
    with torch.no_grad():
        errors = torch.stack(
            [
                (unet(permute_tiles(x, perm)) - x).pow(2).flatten(1).mean(1)
                for perm in fitted.permutations_
            ],
            dim=1,
        )
    expected = errors.double().numpy() / fitted.permutation_errors_
    np.testing.assert_allclose(
        fitted.permutation_scores(X_test), expected, rtol=1e-5, atol=0
    )
    np.testing.assert_allclose(
        -_paper_score(fitted).score_samples(X_test),
        expected.max(axis=1),
        rtol=1e-5,
        atol=0,
    )
    # the fitted U-Net keeps its memory format (the channels-last one is a copy)
    assert all(p.is_contiguous() for p in unet.parameters())


def _pooled_features(fitted, X):
    with torch.no_grad():
        solver = fitted.net_.module_.eval()
        return solver.pooled_features(torch.as_tensor(X)).double().numpy()


def test_feature_whitening_is_the_oas_covariance_of_the_training_rows(fitted, data):
    X_train = data[0]
    trained = np.setdiff1d(np.arange(len(X_train)), fitted.validation_indices_)
    features = _pooled_features(fitted, X_train[trained])
    assert features.shape == (34, 23 * 4)
    mean, projection = fitted.feature_whitening_
    np.testing.assert_allclose(mean.numpy(), features.mean(axis=0), rtol=1e-5)
    test = _pooled_features(fitted, data[1])
    whitened = (test - mean.numpy()) @ projection.numpy()
    np.testing.assert_allclose(
        (whitened**2).sum(axis=1),
        OAS(assume_centered=False).fit(features).mahalanobis(test),
        rtol=1e-4,
    )


def test_default_score_sums_the_scaled_puzzle_and_feature_terms(fitted, data):
    X_test = data[1]
    val = fitted.validation_indices_
    reference = fitted.reference_errors_ / fitted.permutation_errors_
    assert reference.shape == (len(val), 23)
    mean, projection = fitted.feature_whitening_

    def terms(X):
        whitened = (_pooled_features(fitted, X) - mean.numpy()) @ projection.numpy()
        puzzle = _paper_score(fitted).permutation_scores(X).max(axis=1)
        return np.column_stack([puzzle, (whitened**2).sum(axis=1)])

    reference_terms = terms(data[0][val])
    np.testing.assert_allclose(reference_terms[:, 0], reference.max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(
        reference_terms[:, 1], fitted.reference_feature_distances_, rtol=1e-5
    )
    centres = np.median(reference_terms, axis=0)
    spreads = np.median(np.abs(reference_terms - centres), axis=0)
    expected = (terms(X_test) / spreads).sum(axis=1)
    # float32 networks, float64 sums
    np.testing.assert_allclose(
        -fitted.score_samples(X_test), expected, rtol=1e-5, atol=1e-3
    )
    # the module attacks use computes the same score, with gradients
    module = fitted.anomaly_score_module()
    x = torch.tensor(X_test, requires_grad=True)
    out = module(x)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-3)
    assert x.grad.abs().sum() > 0


def test_paper_configuration_scores_with_the_puzzle_errors_alone():
    for dataset in ("mnist", "fashion-mnist", "cifar-10", "mvtec-ad"):
        assert PuzzleAE.paper_params(dataset)["anomaly_score"] == "puzzle"


def test_without_held_out_rows_training_rows_scale_the_terms(data):
    det = PuzzleAE(**SMALL, random_state=0, validation_fraction=0).fit(data[0])
    assert det.reference_errors_.shape == (40, 23)
    assert det.reference_feature_distances_.shape == (40,)
    assert np.all(np.isfinite(det.score_samples(data[1])))


def test_normalisation_uses_only_held_out_normals(data):
    X_train = data[0]
    seen = []

    class RecordBatches(Callback):
        def on_batch_begin(self, net, batch=None, training=None, **kwargs):
            seen.append(batch[0].numpy().copy())

    det = PuzzleAE(**SMALL, random_state=0, callbacks=[("record", RecordBatches())])
    det.fit(X_train)
    trained = np.concatenate(seen)
    val = det.validation_indices_
    assert len(trained) == 2 * (40 - len(val))
    trained_rows = {row.tobytes() for row in trained}
    for i in range(40):
        assert (X_train[i].tobytes() in trained_rows) == (i not in set(val))
    # c_i is the mean error of each permutation on exactly the held-out rows
    errors = det.permutation_scores(X_train[val]) * det.permutation_errors_
    np.testing.assert_allclose(errors.mean(axis=0), det.permutation_errors_)


def test_no_held_out_data_means_no_normalisation(data):
    det = PuzzleAE(**SMALL, random_state=0, validation_fraction=0).fit(data[0])
    assert len(det.validation_indices_) == 0
    np.testing.assert_array_equal(det.permutation_errors_, np.ones(23))


def test_sizes_not_divisible_by_the_grid_are_padded():
    X = _images(20, 3, size=17)
    det = PuzzleAE(**SMALL, random_state=0).fit(X)
    assert det.padded_shape_ == (18, 18)
    assert det.reconstruct(X[:2]).shape == (2, 17 * 17)
    assert np.all(np.isfinite(det.score_samples(X)))
    nine = PuzzleAE(**SMALL, grid=3, random_state=0).fit(_images(20, 3, size=16))
    assert nine.padded_shape_ == (18, 18) and nine.permutations_.shape == (23, 9)
    small = PuzzleAE(**SMALL, permutations="swaps", random_state=0).fit(
        _images(20, 3, size=8)
    )
    assert small.padded_shape_ == (16, 16) and small.permutations_.shape == (6, 4)
    assert small.encode(_images(2, 4, size=8)).shape == (2, 32)


def test_rgb_images():
    X = _images(20, 5, channels=3)
    det = PuzzleAE(**SMALL, random_state=0).fit(X)
    assert det.input_shape_ == (3, 16, 16)
    assert det.net_.discriminator_.feature_extractor[0].in_channels == 3
    assert det.score_samples(X).shape == (20,)


# ----------------------------------------------------------------- training
def test_an_alternating_step_updates_both_networks():
    net = _make_net()
    u_before = [p.detach().clone() for p in net.module_.parameters()]
    d_before = [p.detach().clone() for p in net.discriminator_.parameters()]
    u_ids = {id(p) for p in net.module_.parameters()}
    assert {id(p) for g in net.optimizer_.param_groups for p in g["params"]} == u_ids
    assert {
        id(p) for g in net.optimizer_discriminator_.param_groups for p in g["params"]
    } == {id(p) for p in net.discriminator_.parameters()}
    x = torch.as_tensor(_images(8, 0))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net.history.new_epoch()
        net.history.new_batch()
        step = net.train_step((x, None))
    assert torch.isfinite(step["loss"])
    assert all(
        not torch.equal(a, p)
        for a, p in zip(u_before, net.module_.parameters(), strict=True)
    )
    d_after = net.discriminator_.parameters()
    assert all(not torch.equal(a, p) for a, p in zip(d_before, d_after, strict=True))
    batch = net.history[-1]["batches"][-1]
    assert {
        "reconstruction_loss",
        "feature_matching_loss",
        "discriminator_loss",
    } <= set(batch)


def test_without_feature_matching_there_is_no_discriminator(data):
    net = _make_net(weight=0.0)
    assert not hasattr(net, "discriminator_")
    assert net._optimizers == ["optimizer"]
    det = PuzzleAE(**SMALL, feature_matching_weight=0, masking=False, random_state=0)
    det.fit(data[0])
    assert "discriminator_loss" not in det.history_[-1]


@pytest.mark.parametrize("legacy", [False, True])
def test_fgsm_stays_in_the_budget(legacy):
    net = _make_net(epsilon=0.1, legacy=legacy)
    puzzled = permute_tiles(torch.as_tensor(_images(8, 0)), [3, 2, 1, 0])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        adv = net._adversarial_puzzle(puzzled)
    change = (adv - puzzled).abs()
    assert adv.min() >= 0 and adv.max() <= 1
    assert not adv.requires_grad
    assert all(p.grad is None for p in net.module_.parameters())
    if legacy:
        # the authors' code: random start plus a full step, up to 2 * epsilon
        assert change.max() <= 0.2 + 1e-6 and change.max() > 0.1 + 1e-3
    else:
        assert change.max() <= 0.1 + 1e-6
        assert (change > 0.1 - 1e-6).float().mean() > 0.2


def test_lr_decay_lowers_the_unet_learning_rate(data):
    det = PuzzleAE(
        **{**SMALL, "max_epochs": 5},
        lr_decay_patience=0,
        lr_decay_factor=0.5,
        lr=1e-6,
        random_state=0,
    ).fit(data[0])
    assert det.net_.optimizer_.param_groups[0]["lr"] < 1e-6
    assert det.net_.optimizer_discriminator_.param_groups[0]["lr"] == 2e-4


def test_auc_floor_on_ramps(data):
    # normal: horizontal ramps; anomalous: vertical ramps
    X_test = np.concatenate([_images(20, 1), _images(20, 2, anomalous=True)])
    y = np.r_[np.zeros(20), np.ones(20)]
    det = PuzzleAE(**{**SMALL, "max_epochs": 15}, random_state=0).fit(data[0])
    assert roc_auc_score(y, -det.score_samples(X_test)) > 0.95


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_survives_pickle_with_both_networks(data):
    det = PuzzleAE(**{**SMALL, "device": "cuda"}, random_state=0).fit(data[0])
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_allclose(
        restored.score_samples(data[1]), det.score_samples(data[1]), rtol=1e-5
    )
    assert restored.net_.discriminator_.classifier.weight.is_cuda


@pytest.mark.parametrize(
    ("n_rows", "budget"),
    [
        # 500 images: batches of 15 (a 32nd); the 10 epochs of 34 steps bind,
        # stretched over the 400 training rows (13 epochs of 27 steps)
        (500, (15, 13)),
        (50, (8, 61)),  # the smallest batch: 300 steps
        (2048, (64, 13)),  # from 2,048 images on, batches of 64, as before
        (6000, (64, 13)),  # a Fashion-MNIST class: 10 epochs over all its rows
    ],
)
def test_auto_budget_takes_small_batches_of_small_image_sets(n_rows, budget):
    det = PuzzleAE()
    assert det._training_budget(n_rows, int(0.8 * n_rows), images=True) == budget
