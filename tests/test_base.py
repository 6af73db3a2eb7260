"""skanomaly.base: the hooks BaseDeepDetector gives a method, on tiny test detectors.

Each detector here is a small DenoisingAE subclass that uses one hook: extra fit
arrays (``_fit_arrays``), named training stages (``_fit_stages`` and
``_train_stage``), a second registered module (``initialize_module`` of its
net), method callbacks (``_callbacks``). The contract every public detector
keeps is tested in ``tests/test_contract.py``.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from skorch.callbacks import Callback
from torch import nn

from skanomaly import DenoisingAE
from skanomaly.detectors._denoising import DenoisingNet, DenoisingSettings
from skanomaly.losses import squared_error_sum
from skanomaly.training import EpochProgressBar, NonFiniteLossGuard
from skanomaly.utils._testing import held_out_rows

# tiny budgets: these tests check plumbing, not what the networks learn
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = {"hidden_dims": (8, 3), "max_epochs": 3, "batch_size": 8, "device": "cpu"}


@pytest.fixture(scope="module")
def blobs():
    """Rows in [0, 1]: 40 to train on, 20 to score."""
    rng = np.random.RandomState(0)
    X = rng.normal(0.5, 0.1, size=(60, 6)).clip(0, 1).astype(np.float32)
    return X[:40], X[40:]


@pytest.fixture(scope="module")
def raw_rows():
    """Rows far from [0, 1], so that fit scales them per feature."""
    rng = np.random.RandomState(1)
    return rng.normal(100, 10, size=(40, 6)), rng.normal(130, 10, size=(5, 6))


# ------------------------------------------------------- extra fit arrays
class NegativesAE(DenoisingAE):
    """Declares ``X_negative``; keeps copies of what fit hands to its hook."""

    _fit_arrays = ("X_negative",)

    def _fit_stages(self, ctx):
        self.arrays_seen_ = {name: a.copy() for name, a in ctx.arrays.items()}
        self.X_seen_ = ctx.X.copy()
        super()._fit_stages(ctx)


class ImageNegativesAE(NegativesAE):
    """The same, as an image-only method: the net receives (n, C, H, W)."""

    _requires_image = True


def test_extra_array_is_scaled_with_the_scaler_of_X(raw_rows):
    X, X_negative = raw_rows
    det = NegativesAE(**SMALL, random_state=0).fit(X, X_negative=X_negative)
    assert det.scaler_.mode_ == "feature"
    seen = det.arrays_seen_["X_negative"]
    assert seen.dtype == np.float32 and seen.shape == (5, 6)
    expected = det.scaler_.transform(X_negative.astype(np.float32))
    np.testing.assert_array_equal(seen, expected)
    # the method sees the training rows only, scaled by the scaler they fitted
    train_rows, held_out = held_out_rows(det, len(X))
    np.testing.assert_array_equal(
        det.X_seen_, det.scaler_.transform(X[train_rows].astype("f4"))
    )
    assert len(det.calibration_scores_) == len(held_out)
    assert seen.max() > 1  # scaled with X's range, not its own, and not clipped


def test_extra_array_in_a_negatives_wrapper_is_unwrapped_by_the_base(raw_rows):
    """Any declared fit array may come wrapped (so that cross-validation
    passes it whole); the method sees the array, validated and scaled."""
    from skanomaly import Negatives

    X, X_negative = raw_rows
    det = NegativesAE(**SMALL, random_state=0).fit(X, X_negative=Negatives(X_negative))
    expected = det.scaler_.transform(X_negative.astype(np.float32))
    np.testing.assert_array_equal(det.arrays_seen_["X_negative"], expected)
    with pytest.raises(ValueError, match=r"X_negative: .*7 features"):
        NegativesAE(**SMALL).fit(X, X_negative=Negatives(np.ones((5, 7))))


@pytest.mark.parametrize("layout", ["images", "flat", "three_d"])
def test_extra_array_is_shaped_as_images_for_an_image_method(layout):
    rng = np.random.RandomState(2)
    X = rng.uniform(0, 255, size=(24, 1, 4, 4))
    X_negative = rng.uniform(0, 255, size=(5, 1, 4, 4))
    given = {
        "images": X_negative,
        "flat": X_negative.reshape(5, 16),
        "three_d": X_negative[:, 0],
    }[layout]
    det = ImageNegativesAE(**SMALL, random_state=0).fit(X, X_negative=given)
    assert det.input_shape_ == (1, 4, 4)
    seen = det.arrays_seen_["X_negative"]
    # 5 of the 24 rows are held out to calibrate the threshold
    assert seen.shape == (5, 1, 4, 4) and det.X_seen_.shape == (19, 1, 4, 4)
    expected = det.scaler_.transform(X_negative.reshape(5, 16).astype(np.float32))
    np.testing.assert_array_equal(seen, expected.reshape(5, 1, 4, 4))


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("n_features", r"X_negative: .*7 features"),
        ("nan", "X_negative: .*NaN"),
        ("inf", "X_negative: .*infinity"),
        ("one_dim", "X_negative: .*2D array"),
        ("strings", "X_negative: .*could not convert"),
        ("complex", "X_negative: .*Complex"),
        ("no_sample", "X_negative: .*0 sample"),
    ],
)
def test_bad_extra_array_raises_naming_it(blobs, kind, match):
    X = blobs[0]
    bad = X[:5].astype(np.float64)
    if kind == "n_features":
        bad = np.hstack([bad, bad[:, :1]])
    elif kind == "nan":
        bad[1, 2] = np.nan
    elif kind == "inf":
        bad[1, 2] = np.inf
    elif kind == "one_dim":
        bad = bad[0]
    elif kind == "strings":
        bad = np.full(bad.shape, "a")
    elif kind == "complex":
        bad = bad + 1j
    elif kind == "no_sample":
        bad = bad[:0]
    with pytest.raises(ValueError, match=match):
        NegativesAE(**SMALL).fit(X, X_negative=bad)


def test_extra_images_of_another_shape_raise_naming_them():
    rng = np.random.RandomState(3)
    X = rng.uniform(size=(24, 1, 4, 4))
    for bad, match in [
        (rng.uniform(size=(5, 1, 2, 8)), r"X_negative: .*shape \(1, 2, 8\)"),
        (rng.uniform(size=(5, 1, 5, 5)), "X_negative: .*shape"),
        (rng.uniform(size=(5, 15)), "X_negative: .*15 features"),
    ]:
        with pytest.raises(ValueError, match=match):
            ImageNegativesAE(**SMALL).fit(X, X_negative=bad)


def test_extra_array_given_as_none_is_not_given(blobs):
    X, X_test = blobs
    with_none = NegativesAE(**SMALL, random_state=0).fit(X, X_negative=None)
    without = NegativesAE(**SMALL, random_state=0).fit(X)
    assert with_none.arrays_seen_ == {} and without.arrays_seen_ == {}
    np.testing.assert_array_equal(
        with_none.score_samples(X_test), without.score_samples(X_test)
    )


def test_unknown_fit_params_raise_naming_them_and_the_accepted(blobs):
    X = blobs[0]
    with pytest.raises(
        ValueError,
        match=r"unexpected fit parameters \['X_neg'\]; it accepts: \['X_negative'\]",
    ):
        NegativesAE(**SMALL).fit(X, X_neg=X)
    with pytest.raises(ValueError, match=r"\['sample_weight'\]; it accepts: none"):
        DenoisingAE(**SMALL).fit(X, sample_weight=np.ones(len(X)))


def test_the_callers_arrays_are_not_modified(blobs, raw_rows):
    for X, X_negative in (blobs, raw_rows):
        X_before, negative_before = X.copy(), X_negative.copy()
        NegativesAE(**SMALL, random_state=0).fit(X, X_negative=X_negative)
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_array_equal(X_negative, negative_before)


class InPlaceAE(NegativesAE):
    """A method that augments its training arrays in place, as FitContext allows."""

    def _fit_stages(self, ctx):
        ctx.X += 0.5
        ctx.arrays["X_negative"] += 0.5
        super()._fit_stages(ctx)


class ImageInPlaceAE(InPlaceAE):
    _requires_image = True


@pytest.mark.parametrize("cls", [InPlaceAE, ImageInPlaceAE])
def test_fit_context_arrays_are_never_the_callers(blobs, cls):
    # float32, C-contiguous, in [0, 1]: the input a copy-free path would hand over
    X, X_negative = blobs[0].copy(), blobs[1].copy()
    if cls._requires_image:
        X, X_negative = X.reshape(-1, 1, 2, 3), X_negative.reshape(-1, 1, 2, 3)
    cls(**SMALL, random_state=0).fit(X, X_negative=X_negative)
    np.testing.assert_array_equal(X.reshape(-1, 6), blobs[0])
    np.testing.assert_array_equal(X_negative.reshape(-1, 6), blobs[1])


def test_extra_array_reaches_the_detector_through_a_pipeline(raw_rows):
    X, X_negative = raw_rows
    pipe = make_pipeline(MinMaxScaler(), NegativesAE(**SMALL, random_state=0))
    pipe.fit(X, negativesae__X_negative=X_negative)
    det = pipe[-1]
    assert det.n_features_in_ == 6
    # a Pipeline does not transform fit parameters: the detector scales them itself
    seen = det.arrays_seen_["X_negative"]
    expected = det.scaler_.transform(X_negative.astype(np.float32))
    np.testing.assert_array_equal(seen, expected)


# ------------------------------------------------------------------ stages
class TwoStageAE(DenoisingAE):
    """Stage "a": everything, 2 epochs; stage "b": the decoder only, 3 epochs."""

    def _fit_stages(self, ctx):
        self.net_ = self._make_net(ctx)
        self._train_stage(ctx, "a", ctx.X, max_epochs=2)
        module = self.net_.module_
        self.encoder_after_a_ = _state(module.encoder)
        self.decoder_after_a_ = _state(module.decoder)
        for p in module.encoder.parameters():
            p.requires_grad_(False)
        try:
            self._train_stage(ctx, "b", ctx.X, max_epochs=3)
        finally:
            for p in module.encoder.parameters():
                p.requires_grad_(True)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def two_stage(blobs):
    return TwoStageAE(**SMALL, random_state=0).fit(blobs[0])


def test_stages_share_one_history(two_stage):
    det = two_stage
    assert [row["stage"] for row in det.history_] == ["a", "a", "b", "b", "b"]
    assert [row["epoch"] for row in det.history_] == [1, 2, 3, 4, 5]
    assert all(np.isfinite(row["train_loss"]) for row in det.history_)
    assert all("batches" not in row for row in det.history_)
    assert det.n_epochs_per_stage_ == {"a": 2, "b": 3}
    assert list(det.n_epochs_per_stage_) == ["a", "b"]
    assert det.n_epochs_ == 5


def test_a_later_stage_continues_the_same_net(two_stage):
    module = two_stage.net_.module_
    # frozen in stage b: unchanged; trained in stage b: changed
    for name, value in _state(module.encoder).items():
        assert torch.equal(value, two_stage.encoder_after_a_[name]), name
    assert any(
        not torch.equal(value, two_stage.decoder_after_a_[name])
        for name, value in _state(module.decoder).items()
    )


class ShortFirstStage(DenoisingAE):
    """Stage "warm-up" of one epoch, then "train" of the default length."""

    def _fit_stages(self, ctx):
        self.net_ = self._make_net(ctx)
        self._train_stage(ctx, "warm-up", ctx.X, max_epochs=1)
        self._train_stage(ctx, "train", ctx.X)


def test_a_stage_without_max_epochs_trains_max_epochs(blobs):
    det = ShortFirstStage(**SMALL, random_state=0).fit(blobs[0])
    assert det.n_epochs_per_stage_ == {"warm-up": 1, "train": 3}
    assert [row["stage"] for row in det.history_] == ["warm-up"] + ["train"] * 3


def test_progress_bar_names_each_stage(blobs, capsys):
    TwoStageAE(**SMALL, random_state=0, verbose=1).fit(blobs[0])
    err = capsys.readouterr().err
    assert "TwoStageAE (a)" in err and "TwoStageAE (b)" in err
    assert "2/2" in err and "3/3" in err and "loss=" in err


def test_verbose_progress_bar_and_epoch_lines(blobs, capsys):
    DenoisingAE(**SMALL, random_state=0, verbose=1).fit(blobs[0])
    err = capsys.readouterr().err
    assert "DenoisingAE" in err and "3/3" in err and "loss=" in err
    assert "(train)" not in err  # the one default stage is not named
    DenoisingAE(**SMALL, random_state=0, verbose=2).fit(blobs[0])
    out = capsys.readouterr().out
    assert (
        "train_loss" in out and len([ln for ln in out.splitlines() if ln.strip()]) >= 4
    )
    DenoisingAE(**SMALL, random_state=0, verbose=0).fit(blobs[0])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ------------------------------------------- a second registered module
class HeadNet(DenoisingNet):
    """Registers a head with BatchNorm on the latent code, trained with the AE."""

    def initialize_module(self):
        super().initialize_module()
        latent = self.module_.latent_dim
        self.head_ = nn.Sequential(
            nn.Linear(latent, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)
        )
        return self

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        x = self.batch_input(batch)
        reconstruction = self.module_(x)
        head = self.head_(self.module_.encode(x))
        loss = (reconstruction - x).pow(2).mean() + 0.1 * head.pow(2).mean()
        loss.backward()
        return {"loss": loss, "y_pred": reconstruction}


class ModeRecordingScore(nn.Module):
    """Reconstruction error plus the head's output; logs the modules' modes."""

    def __init__(self, autoencoder, head):
        super().__init__()
        self.autoencoder = autoencoder
        self.head = head

    def forward(self, x):
        # the log of the test in progress (the fitted module is built once)
        HeadAE.modes_seen.append(
            [m.training for m in (*self.autoencoder.modules(), *self.head.modules())]
        )
        head = self.head(self.autoencoder.encode(x)).squeeze(1)
        return squared_error_sum(self.autoencoder(x), x) + head.abs()


class HeadAE(DenoisingAE):
    _net_class = HeadNet
    #: the modes seen by every score module, batch by batch
    modes_seen: list = []

    def _build_score_module(self):
        return ModeRecordingScore(self.net_.module_, self.net_.head_)


@pytest.fixture(scope="module")
def with_head(blobs):
    return HeadAE(**SMALL, random_state=0).fit(blobs[0])


@pytest.fixture
def modes_seen(monkeypatch):
    log = []
    monkeypatch.setattr(HeadAE, "modes_seen", log)
    return log


def test_the_head_is_registered_and_trained(with_head, blobs):
    net = with_head.net_
    assert list(net._modules) == ["module", "head"]
    registered = with_head._registered_modules()
    assert any(m is net.module_ for m in registered)
    assert any(m is net.head_ for m in registered)
    norm = net.head_[1]
    assert norm.num_batches_tracked > 0 and norm.running_mean.abs().sum() > 0
    # so the head's mode matters: batch statistics differ from running ones
    with torch.no_grad():
        z = net.module_.encode(torch.as_tensor(blobs[1]))
        head = _state(net.head_)
        net.head_.train()
        in_train_mode = net.head_(z)
        net.head_.load_state_dict(head)  # undo the running statistics update
        net.head_.eval()
        assert not torch.allclose(in_train_mode, net.head_(z))


@pytest.mark.parametrize(
    "mode",
    [True, False],
)
def test_every_registered_module_is_in_eval_mode_while_scoring(
    with_head, blobs, modes_seen, mode
):
    X = blobs[1]
    modules = with_head._registered_modules()
    found = [m.training for module in modules for m in module.modules()]
    try:
        for module in modules:
            module.train(mode)
        with_head.score_samples(X)
        with_head.decision_function(X)
        with_head.predict(X)
        assert modes_seen and not any(any(modes) for modes in modes_seen)
        # and left as they were found
        assert all(m.training == mode for module in modules for m in module.modules())
    finally:
        flat = [m for module in modules for m in module.modules()]
        for m, flag in zip(flat, found, strict=True):
            m.training = flag


def test_scoring_restores_mixed_submodule_modes(with_head, blobs):
    head = with_head.net_.head_
    head.train()
    head[1].eval()  # a frozen BatchNorm inside a module in training mode
    try:
        with_head.score_samples(blobs[1])
        assert head.training and not head[1].training
    finally:
        head.eval()


def test_scores_with_a_batchnorm_head_do_not_depend_on_batches(with_head, blobs):
    # BatchNorm in training mode would mix the rows of a batch (and its zero
    # padding) at the 1e-1 scale; the tolerance only forgives the last float32
    # bit, which a GEMM kernel may round differently by a row's position
    X = blobs[1]
    full = with_head.score_samples(X)
    singles = np.concatenate([with_head.score_samples(X[i : i + 1]) for i in range(7)])
    np.testing.assert_allclose(singles, full[:7], rtol=1e-6, atol=0)
    with_head.net_.head_.train()
    try:
        np.testing.assert_allclose(
            with_head.score_samples(X[3:5]), full[3:5], rtol=1e-6, atol=0
        )
    finally:
        with_head.net_.head_.eval()


def test_the_score_module_sees_the_head_in_eval_mode(with_head, blobs, modes_seen):
    X = blobs[1]
    module = with_head.anomaly_score_module()
    assert not any(m.training for m in module.modules())
    scores = module(torch.as_tensor(X)).detach().numpy()
    np.testing.assert_allclose(scores, -with_head.score_samples(X), rtol=1e-5)
    assert not any(any(modes) for modes in modes_seen)


def test_pickling_keeps_the_extra_module(with_head, blobs):
    restored = pickle.loads(pickle.dumps(with_head))
    assert list(restored.net_._modules) == ["module", "head"]
    restored_state = restored.net_.head_.state_dict()
    for name, value in with_head.net_.head_.state_dict().items():
        assert torch.equal(restored_state[name], value), name
    np.testing.assert_array_equal(
        restored.score_samples(blobs[1]), with_head.score_samples(blobs[1])
    )


# ------------------------------------------------------------- _make_net
class EpochRecorder(Callback):
    """Counts the epochs it saw end (a method's own callback)."""

    def __init__(self, log=None):
        self.log = log

    def on_epoch_end(self, net, **kwargs):
        self.log.append(len(net.history))


class CallbackAE(DenoisingAE):
    epochs_seen: list = []

    def _callbacks(self, ctx):
        return [("method_callback", EpochRecorder(self.epochs_seen))]


@pytest.mark.parametrize("verbose", [0, 1])
def test_method_callbacks_come_after_the_base_ones(blobs, monkeypatch, verbose):
    log = []
    monkeypatch.setattr(CallbackAE, "epochs_seen", log)
    det = CallbackAE(**SMALL, random_state=0, verbose=verbose).fit(blobs[0])
    expected = ["nonfinite_guard", "progress_bar", "method_callback"]
    if not verbose:
        expected.remove("progress_bar")
    given = det.net_.callbacks
    assert [name for name, _ in given] == expected
    assert isinstance(given[0][1], NonFiniteLossGuard)
    if verbose:
        assert isinstance(given[1][1], EpochProgressBar)
    # in the initialised net too, after skorch's own default callbacks
    names = [name for name, _ in det.net_.callbacks_]
    positions = [names.index(name) for name in expected]
    assert positions == sorted(positions) and positions[0] > names.index("train_loss")
    assert log == [1, 2, 3]


class ContextAE(DenoisingAE):
    """Keeps the fit's context, to build more nets from it."""

    def _fit_stages(self, ctx):
        self.ctx_ = ctx
        super()._fit_stages(ctx)


class WiderBatches(ContextAE):
    def _net_kwargs(self, ctx):
        return {**super()._net_kwargs(ctx), "batch_size": 3}


def test_make_net_settings_and_precedence(blobs):
    params = {
        "hidden_dims": (4, 2),
        "noise_scale": 0.2,
        "max_epochs": 4,
        "batch_size": 5,
        "lr": 0.01,
        "device": "cpu",
        "random_state": 0,
    }
    det = ContextAE(**params).fit(blobs[0])
    wider = WiderBatches(**params).fit(blobs[0])
    det.verbose = 2  # skorch's epoch lines
    with torch.random.fork_rng():  # building a module draws its weights
        net = det._make_net(det.ctx_)
        overridden = det._make_net(det.ctx_, max_epochs=9, lr=0.5)
        method_kwargs = wider._make_net(wider.ctx_)
        both = wider._make_net(wider.ctx_, batch_size=2)
    assert isinstance(net, DenoisingNet) and isinstance(net.criterion, nn.MSELoss)
    assert (net.max_epochs, net.batch_size, net.lr) == (4, 5, 0.01)
    assert net.seed == det.ctx_.seed and net.device == "cpu"
    assert net.train_split is None and net.verbose == 1
    assert net.optimizer is torch.optim.Adam
    assert net.iterator_train__shuffle is True
    assert net.settings == DenoisingSettings(noise_scale=0.2)
    assert net.module.in_features == 6 and not net.initialized_
    assert (overridden.max_epochs, overridden.lr) == (9, 0.5)
    # the method's net kwargs beat the base's; explicit overrides beat both
    assert method_kwargs.batch_size == 3 and both.batch_size == 2
    assert wider.net_.batch_size == 3


# ------------------------------------------------------------- seeding
def test_random_state_instance_is_advanced_not_reset(blobs):
    X_train, X_test = blobs
    rng = np.random.RandomState(0)
    det = DenoisingAE(**SMALL, random_state=rng)
    first = det.fit(X_train).score_samples(X_test)
    second = det.fit(X_train).score_samples(X_test)
    assert not np.array_equal(first, second)
