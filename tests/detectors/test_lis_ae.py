"""LISAE: its two phases, its negatives, its networks and its score.

The contract every detector keeps (scikit-learn's checks, pickling, batch
invariance, input errors) is tested in ``tests/test_common.py`` and
``tests/test_contract.py``; this module tests what they cannot know.
"""

import copy
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import _check_method_params

from skanomaly import LISAE, Negatives
from skanomaly.augment import RandomNegatives, permute_features, shuffle_tiles
from skanomaly.detectors._lis_ae import FEATURE_EXTRACTION, LATENT_SHAPING
from skanomaly.losses import latent_shaping_loss, reconstruction_norm
from skanomaly.nets import ConvLISAutoencoder, MLPLISAutoencoder

ROOT = Path(__file__).resolve().parents[2]
# the default MLP on rows: each fit below takes a fraction of a second
# the paper's score (tabular rows otherwise add the latent-neighbour term)
SMALL = {"batch_size": 16, "device": "cpu", "anomaly_score": "reconstruction"}


@pytest.fixture(scope="module")
def digits():
    """Digit 0 (normal), digit 1 (negatives) and a test set of 0s and 2-9s."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    zeros, ones = X[y == 0], X[y == 1]
    others = X[y >= 2][::4]
    X_test = np.concatenate([zeros[120:], others])
    y_test = np.r_[np.zeros(len(zeros) - 120), np.ones(len(others))].astype(int)
    return zeros[:120], ones[:100], X_test, y_test


@pytest.fixture(scope="module")
def fitted(digits):
    X, X_neg, _, _ = digits
    det = LISAE(**SMALL, max_epochs=40, phase2_epochs=20, random_state=0)
    return det.fit(X, X_negative=X_neg)


@pytest.fixture(scope="module")
def phase1_only(digits):
    X, X_neg, _, _ = digits
    det = LISAE(**SMALL, max_epochs=40, phase2_epochs=0, random_state=0)
    return det.fit(X, X_negative=X_neg)


# ------------------------------------------------------------------ phases
def test_history_shows_both_phases(fitted):
    assert fitted.n_epochs_per_stage_ == {FEATURE_EXTRACTION: 40, LATENT_SHAPING: 20}
    stages = [row["stage"] for row in fitted.history_]
    assert stages == [FEATURE_EXTRACTION] * 40 + [LATENT_SHAPING] * 20
    for row in fitted.history_:
        assert np.isfinite(row["positive_error"])
        assert ("negative_error" in row) == (row["stage"] == LATENT_SHAPING)
    # phase 1's loss is the positives' mean error; phase 2's is Eq. 1
    first = fitted.history_[0]
    assert first["train_loss"] == pytest.approx(first["positive_error"])
    # beta=1: mean |gamma - e-| >= |gamma - mean e-| (equal when all are below)
    for row in fitted.history_[40:]:
        gap = abs(fitted.gamma_ - row["negative_error"])
        assert row["train_loss"] >= row["positive_error"] + gap - 1e-5


def test_phase2_changes_only_the_latent_layer(fitted, phase1_only):
    before = phase1_only.net_.module_.state_dict()
    after = fitted.net_.module_.state_dict()
    assert before.keys() == after.keys()
    for name in before:
        if name.startswith("latent."):
            assert not torch.equal(before[name], after[name]), name
        else:
            torch.testing.assert_close(after[name], before[name], rtol=0, atol=0)
    # the phase-1 Z is kept, and restores the plain autoencoder
    for name, value in fitted.latent_phase1_.items():
        torch.testing.assert_close(value, before["latent." + name], rtol=0, atol=0)
    # the freeze is undone, and phase 2's optimizer holds Z only
    assert all(p.requires_grad for p in fitted.net_.module_.parameters())
    held = {id(p) for g in fitted.net_.optimizer_.param_groups for p in g["params"]}
    assert held == {id(p) for p in fitted.net_.module_.latent.parameters()}


def test_phase1_autoencoder_from_the_same_fit(fitted, phase1_only, digits):
    X_test = digits[2]
    ae = copy.deepcopy(fitted)
    ae.net_.module_.latent.load_state_dict(fitted.latent_phase1_)
    np.testing.assert_allclose(
        ae.score_samples(X_test), phase1_only.score_samples(X_test), rtol=1e-6
    )


def test_negative_error_rises_toward_gamma_positives_barely_move(fitted):
    shaping = [row for row in fitted.history_ if row["stage"] == LATENT_SHAPING]
    end_of_phase1 = fitted.history_[fitted.n_epochs_per_stage_[FEATURE_EXTRACTION] - 1]
    # gamma_ is 1.25 times the negatives' mean error after phase 1
    phase1_negative_error = fitted.gamma_ / 1.25
    assert shaping[-1]["negative_error"] > shaping[0]["negative_error"]
    gap_last = abs(fitted.gamma_ - shaping[-1]["negative_error"])
    assert gap_last < 0.2 * (fitted.gamma_ - phase1_negative_error)
    drift = abs(shaping[-1]["positive_error"] - end_of_phase1["positive_error"])
    assert drift < 0.1 * end_of_phase1["positive_error"]


def test_relative_gamma_is_a_multiple_of_the_phase1_error(phase1_only, digits):
    X, X_neg, _, _ = digits
    expected = 1.25 * np.mean(-phase1_only.score_samples(X_neg))
    det = LISAE(**SMALL, max_epochs=40, phase2_epochs=1, random_state=0)
    det.fit(X, X_negative=X_neg)
    assert det.gamma_ == pytest.approx(expected, rel=1e-5)
    absolute = clone(det).set_params(gamma=3.0, gamma_mode="absolute")
    assert absolute.fit(X, X_negative=X_neg).gamma_ == 3.0
    assert phase1_only.gamma_ is None


def test_auto_phase2_budget(digits):
    X = digits[0][:50]  # batch 8: 7 steps an epoch; 300 steps need 43 epochs
    det = LISAE(
        **{**SMALL, "batch_size": "auto"},
        max_epochs=2,
        random_state=0,
        calibration="training",  # all 50 rows train
    )
    det.fit(X)
    assert det.batch_size_ == 8
    assert det.n_epochs_per_stage_[LATENT_SHAPING] == math.ceil(300 / 7)
    det = LISAE(
        **{**SMALL, "batch_size": 64},
        max_epochs=2,
        random_state=0,
        calibration="training",
    )
    assert det.fit(X).n_epochs_per_stage_[LATENT_SHAPING] == 300


def test_latent_shaping_loss_by_hand():
    pos, neg = torch.tensor([0.5, 1.5]), torch.tensor([1.0, 4.0, 2.0])
    # mean(0.5, 1.5) + 2 * mean(|3 - 1|, |3 - 4|, |3 - 2|)
    assert latent_shaping_loss(pos, neg, beta=2.0, gamma=3.0).item() == pytest.approx(
        1.0 + 2.0 * 4.0 / 3.0
    )
    x, x_hat = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    torch.testing.assert_close(reconstruction_norm(x_hat, x), torch.tensor([2.0, 2.0]))


def test_score_is_the_reconstruction_norm(fitted, digits):
    X_test = digits[2]
    reconstruction = fitted.reconstruct(X_test).astype(np.float64)
    expected = np.linalg.norm(reconstruction - X_test, axis=1)
    np.testing.assert_allclose(-fitted.score_samples(X_test), expected, rtol=1e-4)


def test_auc_floor_on_digits(fitted, phase1_only, digits):
    _, _, X_test, y_test = digits
    assert roc_auc_score(y_test, -fitted.score_samples(X_test)) > 0.97
    assert roc_auc_score(y_test, -phase1_only.score_samples(X_test)) > 0.97
    default = copy.deepcopy(fitted).set_params(anomaly_score="auto")
    assert default._resolved_anomaly_score() == "reconstruction+knn"
    assert roc_auc_score(y_test, -default.score_samples(X_test)) > 0.97


# ------------------------------------------------------------------ LinSep
def test_linsep_head_lives_in_phase1_only(digits):
    X, X_neg, X_test, y_test = digits
    det = LISAE(**SMALL, variant="linsep", max_epochs=30, phase2_epochs=5)
    det.set_params(random_state=0).fit(X, X_negative=X_neg)
    phase1 = [row for row in det.history_ if row["stage"] == FEATURE_EXTRACTION]
    assert all("separation_loss" in row for row in phase1)
    assert all("negative_error" not in row for row in phase1)
    assert phase1[-1]["separation_loss"] < 0.5 * phase1[0]["separation_loss"]
    assert phase1[0]["train_loss"] == pytest.approx(
        phase1[0]["positive_error"] + phase1[0]["separation_loss"]
    )
    # the head is neither registered, nor kept, nor pickled
    assert det.net_._modules == ["module"]
    assert det.net_._separation is None
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(
        restored.score_samples(X_test), det.score_samples(X_test)
    )
    assert roc_auc_score(y_test, -det.score_samples(X_test)) > 0.95


# --------------------------------------------------------------- negatives
def test_built_in_negatives_when_none_given(digits):
    X, _, X_test, y_test = digits
    det = LISAE(**SMALL, max_epochs=30, phase2_epochs=5, random_state=0).fit(X)
    assert det.n_negatives_ == 0
    assert det.gamma_ > 0 and "negative_error" in det.history_[-1]
    assert roc_auc_score(y_test, -det.score_samples(X_test)) > 0.95
    # as images (8x8: still the MLP), the negatives are tile rearrangements
    images = LISAE(**SMALL, max_epochs=30, phase2_epochs=5, random_state=0)
    images.fit(X.reshape(-1, 1, 8, 8))
    assert images.architecture_ == "mlp" and images.net_.settings.image_shape == (
        1,
        8,
        8,
    )
    assert det.net_.settings.image_shape is None


def test_negatives_are_validated_and_scaled_like_X(digits):
    X, X_neg, _, _ = digits
    det = LISAE(**SMALL, max_epochs=2, phase2_epochs=1, random_state=0)
    # 0..16 pixel values: the scaling learned on X applies to the negatives
    ref = clone(det).fit(X, X_negative=X_neg)
    scaled = clone(det).set_params(scaling="global")
    scaled.fit(X * 16, X_negative=Negatives(X_neg * 16))
    assert scaled.gamma_ == pytest.approx(ref.gamma_, rel=1e-4)
    with pytest.raises(ValueError, match="X_negative"):
        clone(det).fit(X, X_negative=Negatives(X_neg[:, :10]))
    with pytest.raises(ValueError, match="X_negative"):
        clone(det).fit(X, X_negative=np.full_like(X_neg, np.nan))


def test_fit_leaves_the_negatives_untouched(digits):
    X, X_neg, _, _ = digits
    before = X_neg.copy()
    wrapped = Negatives(X_neg)
    LISAE(**SMALL, max_epochs=2, phase2_epochs=2, random_state=0).fit(
        X, X_negative=wrapped
    )
    assert wrapped.data is X_neg
    np.testing.assert_array_equal(X_neg, before)


def test_negatives_survive_clone_and_pipeline(fitted, digits):
    X, X_neg, X_test, _ = digits
    expected = fitted.score_samples(X_test)
    # a clone refitted on the same negatives is the same model
    refit = clone(fitted).fit(X, X_negative=Negatives(X_neg))
    np.testing.assert_array_equal(refit.score_samples(X_test), expected)
    # through a Pipeline, wrapped or not
    for negatives in (X_neg, Negatives(X_neg)):
        pipe = make_pipeline(clone(fitted))
        pipe.fit(X, lisae__X_negative=negatives)
        assert pipe[-1].n_negatives_ == len(X_neg)
        np.testing.assert_array_equal(pipe.score_samples(X_test), expected)
    # the wrapper itself copies and pickles
    for copied in (copy.deepcopy(Negatives(X_neg)), pickle.loads(pickle.dumps(X_neg))):
        data = copied.data if isinstance(copied, Negatives) else copied
        np.testing.assert_array_equal(data, X_neg)


class _RecordNegatives:
    """A scorer that records how many negatives each fold's fit received."""

    def __init__(self):
        self.seen = []

    def __call__(self, estimator, X, y=None):
        self.seen.append(estimator[-1].n_negatives_)
        return float(np.mean(estimator.score_samples(X)))


def test_grid_search_gets_every_negative_in_every_fold(digits):
    X, X_neg, _, _ = digits
    X_neg = X_neg[: len(X)] if len(X_neg) >= len(X) else np.resize(X_neg, X.shape)
    assert len(X_neg) == len(X)  # the length scikit-learn slices
    pipe = make_pipeline(LISAE(**SMALL, max_epochs=2, phase2_epochs=1, random_state=0))
    grid = {"lisae__beta": [0.5, 1.0]}
    scorer = _RecordNegatives()
    search = GridSearchCV(pipe, grid, cv=KFold(3), scoring=scorer, refit=True)
    search.fit(X, lisae__X_negative=Negatives(X_neg))
    # 2 candidates x 3 folds, each fit with all the negatives; then the refit
    assert scorer.seen == [len(X_neg)] * 6
    assert search.best_estimator_[-1].n_negatives_ == len(X_neg)

    # a plain array of X's length is sliced fold by fold: what Negatives avoids
    folds = cross_validate(
        pipe,
        X,
        cv=KFold(3),
        scoring=_RecordNegatives(),
        params={"lisae__X_negative": X_neg},
        return_estimator=True,
    )
    assert [est[-1].n_negatives_ for est in folds["estimator"]] == [80, 80, 80]
    # ...and an array of another length passes whole
    folds = cross_validate(
        pipe,
        X,
        cv=KFold(3),
        scoring=_RecordNegatives(),
        params={"lisae__X_negative": X_neg[:-1]},
        return_estimator=True,
    )
    assert [est[-1].n_negatives_ for est in folds["estimator"]] == [len(X) - 1] * 3


def test_negatives_wrapper():
    X = np.zeros((4, 2))
    wrapped = Negatives(X)
    assert wrapped.data is X and wrapped.n_samples == 4
    assert Negatives(wrapped).data is X
    assert Negatives([[1.0, 2.0]]).n_samples == 1
    assert repr(wrapped) == "Negatives(<4 samples>)"
    passed = _check_method_params(X, {"X_negative": wrapped}, indices=[0])
    assert passed["X_negative"] is wrapped
    with pytest.raises(TypeError, match="array-like"):
        Negatives(3.0)


# ------------------------------------------------------------ generators
@pytest.fixture
def seeded_torch():
    """Torch's global generator, seeded, and restored after the test."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


def test_shuffle_tiles_moves_every_tile(seeded_torch):
    x = torch.arange(2 * 36.0).reshape(2, 1, 6, 6)
    generator = RandomNegatives((1, 6, 6))
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        out = generator(x, generator=g)
        for i in range(2):
            tiles_in = [x[i, 0, r : r + 3, c : c + 3] for r in (0, 3) for c in (0, 3)]
            tiles_out = [
                out[i, 0, r : r + 3, c : c + 3] for r in (0, 3) for c in (0, 3)
            ]
            for j, tile in enumerate(tiles_out):
                assert not torch.equal(tile, tiles_in[j])
                assert any(torch.equal(tile, t) for t in tiles_in)
    # odd sides: the last row and column stay in place
    odd = torch.rand(1, 1, 5, 5)
    moved = shuffle_tiles(odd, torch.tensor([[3, 2, 1, 0]]))
    torch.testing.assert_close(moved[..., 4, :], odd[..., 4, :])
    torch.testing.assert_close(moved[..., :4, :4][..., :2, :2], odd[..., 2:4, 2:4])


def test_permute_features_keeps_each_rows_values(seeded_torch):
    x = torch.rand(5, 7)
    out = RandomNegatives()(x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.sort(dim=1).values, x.sort(dim=1).values)
    assert not torch.equal(out, x)
    same = permute_features(x, torch.arange(7).repeat(5, 1))
    torch.testing.assert_close(same, x)
    # flat images are rearranged as images and returned flat
    flat = torch.rand(3, 64)
    out = RandomNegatives((1, 8, 8))(flat, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 64)
    with pytest.raises(ValueError, match="image_shape"):
        RandomNegatives((8, 8))


# ---------------------------------------------------------- architecture
def test_conv_network_any_image_size(seeded_torch):
    for shape in [(1, 8, 8), (1, 28, 28), (3, 32, 32), (2, 9, 13)]:
        ae = ConvLISAutoencoder(shape, latent_dim=5, width=2)
        x = torch.rand(3, *shape)
        assert ae(x).shape == x.shape
        assert ae(x.flatten(1)).shape == (3, int(np.prod(shape)))
        assert ae.encode(x).shape == (3, 5)
        assert ae.features(x).shape == (3, ae.feature_dim)
        assert ((ae(x) >= 0) & (ae(x) <= 1)).all()
        assert (ae.encode(x).abs() <= 1).all()  # tanh
    assert ConvLISAutoencoder((1, 28, 28), width=32).feature_dim == 3136
    with pytest.raises(ValueError, match="8"):
        ConvLISAutoencoder((1, 7, 28))
    mlp = MLPLISAutoencoder(10, latent_dim=3, width=4)
    assert mlp.feature_dim == 8 and mlp(torch.rand(2, 10)).shape == (2, 10)


def test_architecture_choice():
    rng = np.random.RandomState(0)
    det = LISAE(**SMALL, max_epochs=1, phase2_epochs=1, random_state=0)
    assert clone(det).fit(rng.rand(20, 16)).architecture_ == "mlp"
    assert clone(det).fit(rng.rand(20, 1, 8, 8)).architecture_ == "mlp"
    conv = clone(det).fit(rng.rand(20, 1, 16, 16))
    assert conv.architecture_ == "conv"
    assert isinstance(conv.net_.module_, ConvLISAutoencoder)
    explicit = clone(det).set_params(architecture="conv", input_shape=(1, 8, 8))
    assert isinstance(explicit.fit(rng.rand(20, 64)).net_.module_, ConvLISAutoencoder)
    with pytest.raises(ValueError, match="architecture='conv'"):
        clone(det).set_params(architecture="conv").fit(rng.rand(20, 64))


def test_conv_leaves_the_plateau_quickly():
    # ramps at random angles on 16x16: 80 steps of the convolutional network
    rng = np.random.RandomState(0)
    grid = np.linspace(-1, 1, 16)
    angles = rng.uniform(0, np.pi, size=48)
    images = np.stack(
        [np.cos(a) * grid[None, :] + np.sin(a) * grid[:, None] for a in angles]
    )
    images = ((images + 2) / 4)[:, None].astype(np.float32)
    det = LISAE(latent_dim=8, width=4, max_epochs=10, phase2_epochs=2, device="cpu")
    det.set_params(random_state=0, batch_size=6).fit(images)  # no ConvergenceWarning
    assert det.architecture_ == "conv"


def test_defaults_leave_the_plateau_on_50_rows():
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(50, 3))
    X = np.tanh(latent @ rng.normal(size=(3, 12)))
    det = LISAE(device="cpu", random_state=0).fit(X)  # no ConvergenceWarning
    # 40 rows train (10 calibrate): 5 steps an epoch, and as many steps as 50
    # rows would get (86 epochs of 7 steps, 602): 121 epochs
    assert det.batch_size_ == 8 and det.n_epochs_per_stage_[FEATURE_EXTRACTION] == 121


def test_docs_first_example_runs():
    text = (ROOT / "docs" / "lis_ae.md").read_text()
    block = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    exec(compile(block, "docs/lis_ae.md", "exec"), {})
