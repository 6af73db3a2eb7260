"""CRBND: its two stages, its connective samples, its networks and its scores.

The contract every detector keeps (scikit-learn's checks, pickling, batch
invariance, input errors) is tested in ``tests/test_common.py`` and
``tests/test_contract.py``; this module tests what they cannot know.
"""

import copy
import gc
import pickle
import tempfile
import weakref

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch.utils.data import Dataset

from skanomaly import CRBND
from skanomaly.detectors._crbnd import CLASSIFY, RECONSTRUCT, CRBNDNet
from skanomaly.nets import ConnectiveClassifier, ResidualAutoencoder
from skanomaly.scores import connective
from skanomaly.utils._streaming import StreamedNetInput, StreamedRows

# leaves the plateau on 32 digits in well under a second
TINY = {
    "width": 4,
    "latent_dim": 8,
    "classifier_width": 4,
    "max_epochs": 6,
    "classifier_epochs": 4,
    "batch_size": 16,
    "lr": 1e-2,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(scope="module")
def digits():
    """Digit 0 as 8x8 images (normal, 120 to train) and a test set of 0s and 1-9s."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    zeros, others = X[y == 0], X[y != 0][::6]
    X_test = np.concatenate([zeros[120:], others])
    y_test = np.r_[np.zeros(len(zeros) - 120), np.ones(len(others))].astype(int)
    return zeros[:120], X_test, y_test


@pytest.fixture(scope="module")
def fitted(digits):
    X, _, _ = digits
    params = {**TINY, "max_epochs": 30, "classifier_epochs": 10, "lr": 3e-3}
    return CRBND(**params).fit(X)


def test_connective_formula():
    x, other = torch.full((2, 3), 0.8), torch.full((2, 3), 0.2)
    torch.testing.assert_close(connective(x, other, 0.5), torch.full((2, 3), 0.5))
    torch.testing.assert_close(connective(x, other, 0.75), torch.full((2, 3), 0.65))


def test_both_stages_in_history(fitted):
    assert fitted.n_epochs_per_stage_ == {RECONSTRUCT: 30, CLASSIFY: 10}
    stages = [row["stage"] for row in fitted.history_]
    assert stages == [RECONSTRUCT] * 30 + [CLASSIFY] * 10
    assert fitted.n_epochs_ == 40
    assert isinstance(fitted.net_, CRBNDNet)
    assert isinstance(fitted.net_.module_, ResidualAutoencoder)
    assert isinstance(fitted.net_.classifier_, ConnectiveClassifier)


def test_both_scores_rank_digit_anomalies(fitted, digits):
    _, X_test, y_test = digits
    auc_classifier = roc_auc_score(y_test, -fitted.score_samples(X_test))
    reconstruction = clone(fitted).set_params(anomaly_score="reconstruction")
    # score is read when scoring: the fitted networks serve both scores
    fitted.set_params(anomaly_score="reconstruction")
    try:
        auc_reconstruction = roc_auc_score(y_test, -fitted.score_samples(X_test))
    finally:
        fitted.set_params(anomaly_score="classifier")
    assert reconstruction.get_params()["anomaly_score"] == "reconstruction"
    assert auc_classifier > 0.9
    assert auc_reconstruction > 0.9


def test_score_modules_match_the_formulas(fitted, digits):
    _, X_test, _ = digits
    x = torch.as_tensor(X_test[:5])
    net = fitted.net_
    net.module_.eval()
    net.classifier_.eval()
    with torch.no_grad():
        reconstruction = net.module_(x)
        logits = net.classifier_(0.5 * x + 0.5 * reconstruction)
        errors = (reconstruction - x).pow(2).flatten(1).sum(1)
    np.testing.assert_allclose(-fitted.score_samples(X_test[:5]), logits, rtol=1e-5)
    fitted.set_params(anomaly_score="reconstruction")
    try:
        np.testing.assert_allclose(-fitted.score_samples(X_test[:5]), errors, rtol=1e-5)
    finally:
        fitted.set_params(anomaly_score="classifier")


def test_the_classifier_optimizer_is_routed_the_skorch_way(fitted):
    net = fitted.net_
    assert net.optimizer_classifier_.param_groups[0]["lr"] == fitted.classifier_lr
    assert "optimizer_classifier" in net._optimizers
    net_copy = copy.deepcopy(net)
    net_copy.set_params(optimizer_classifier__lr=0.5)
    assert net_copy.optimizer_classifier_.param_groups[0]["lr"] == 0.5


def test_scoring_runs_both_networks_in_eval_mode(fitted, digits):
    _, X_test, _ = digits
    seen = []

    def record(module, args, output):
        seen.append((type(module).__name__, module.training))

    net = fitted.net_
    net.module_.train()
    net.classifier_.train()
    hooks = [
        net.module_.register_forward_hook(record),
        net.classifier_.register_forward_hook(record),
    ]
    try:
        first = fitted.score_samples(X_test)
        second = fitted.score_samples(X_test)
    finally:
        for hook in hooks:
            hook.remove()
    names = {name for name, _ in seen}
    assert names == {"ResidualAutoencoder", "ConnectiveClassifier"}
    assert not any(training for _, training in seen)
    np.testing.assert_array_equal(first, second)  # dropout is off
    # the modes are restored
    assert net.module_.training and net.classifier_.training


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_connective_training_set_is_balanced_and_labelled(digits):
    X, _, _ = digits
    # every row trains (no calibration rows held out): 40 rows, 80 samples
    det = CRBND(**TINY, calibration="training")
    captured = {}
    original = CRBND._connective_samples

    def spy(self, X_net):
        X_c, y_c = original(self, X_net)
        captured["X"], captured["y"], captured["X_net"] = X_c, y_c, X_net.copy()
        return X_c, y_c

    CRBND._connective_samples = spy
    try:
        det.fit(X[:40])
    finally:
        CRBND._connective_samples = original
    X_c, y_c, X_net = captured["X"], captured["y"], captured["X_net"]
    assert X_c.shape == (80, 1, 8, 8) and y_c.dtype == np.float32
    np.testing.assert_array_equal(y_c, np.r_[np.zeros(40), np.ones(40)])
    # positives: 0.5 x + 0.5 A(x), with the trained reconstructor in eval mode
    module = det.net_.module_.eval()
    with torch.no_grad():
        reconstruction = module(torch.as_tensor(X_net)).numpy()
    np.testing.assert_allclose(X_c[:40], 0.5 * X_net + 0.5 * reconstruction, atol=1e-6)
    assert not np.allclose(X_c[40:], X_c[:40], atol=1e-3)


@pytest.mark.parametrize(
    ("source", "expected"), [("reconstruction", "positive"), ("input", "input")]
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_distortion_source(digits, source, expected):
    """With a distortion that changes nothing (noise of std 0) a negative is
    0.5 x + 0.5 A(x) (the paper's text) or x itself (the authors' code)."""
    X, _, _ = digits
    det = CRBND(
        **TINY,
        negative_distortion="noise",
        noise_std=0.0,
        distortion_source=source,
    )
    det.fit(X[:32])
    X_net = X[:32]
    with torch.random.fork_rng():
        X_c, _ = det._connective_samples(X_net)
    positives, negatives = X_c[:32], X_c[32:]
    if expected == "positive":
        np.testing.assert_allclose(negatives, positives, atol=1e-6)
    else:
        np.testing.assert_allclose(negatives, X_net, atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_negative_distortions(digits):
    X, _, _ = digits
    det = CRBND(**TINY, negative_distortion="blur").fit(X[:32])
    images = torch.as_tensor(X[:8])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        blurred = det.distort(images)
        det.set_params(negative_distortion="noise")
        noisy = det.distort(images)
    # blur keeps the mass of an image away from its borders; noise does not
    # keep the pixels
    assert not torch.allclose(blurred, images)
    assert not torch.allclose(noisy, images)
    assert torch.all(noisy >= 0) and torch.all(noisy <= 1)


def test_reconstruction_stage_sees_corrupted_copies(fitted):
    net = fitted.net_
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    kinds = torch.arange(6) % net.n_corruptions
    with torch.random.fork_rng():
        torch.manual_seed(0)
        out = net.corrupt(x, kinds)
    assert net.n_corruptions == 5  # clean, blur, noise and two coarse dropouts
    torch.testing.assert_close(out[0], x[0])  # kind 0: clean
    for i in range(1, 5):
        assert not torch.allclose(out[i], x[i])
    # the dropouts only zero pixels
    for i in (3, 4):
        kept = out[i] != 0
        torch.testing.assert_close(out[i][kept], x[i][kept])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_copy_gets_each_corruption_once_with_as_many_copies(digits):
    X, _, _ = digits
    det = CRBND(**TINY, augmentation_copies=5).fit(X[:32])
    seen = []
    original = det.net_.corrupt

    def spy(x, kinds):
        seen.append(kinds.clone())
        return original(x, kinds)

    det.net_.corrupt = spy
    with torch.random.fork_rng():
        torch.manual_seed(0)
        views = det.net_.corrupted_views(torch.as_tensor(X[:4]))
    assert views.shape == (20, 1, 8, 8)
    kinds = seen[0].reshape(5, 4)
    for column in kinds.T:
        assert sorted(column.tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_same_seed_same_scores_and_pickle(digits):
    X, X_test, _ = digits
    a = CRBND(**TINY).fit(X[:48])
    b = CRBND(**TINY).fit(X[:48])
    np.testing.assert_array_equal(a.score_samples(X_test), b.score_samples(X_test))
    c = CRBND(**{**TINY, "random_state": 1}).fit(X[:48])
    assert not np.array_equal(a.score_samples(X_test), c.score_samples(X_test))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(
        restored.score_samples(X_test), a.score_samples(X_test)
    )


def test_pipeline_end_to_end_on_flat_images(digits):
    X, X_test, y_test = digits
    flat = FunctionTransformer(lambda A: A.reshape(len(A), -1))
    pipe = make_pipeline(
        flat, CRBND(**TINY, input_shape=(1, 8, 8), calibration="training")
    )
    pipe.fit(X)
    labels = pipe.predict(X_test)
    assert set(np.unique(labels)) <= {-1, 1}
    assert pipe.score_samples(X_test).shape == (len(X_test),)


def test_anomaly_score_module_matches_and_has_gradients(fitted, digits):
    _, X_test, _ = digits
    module = fitted.anomaly_score_module()
    x = torch.as_tensor(X_test[:4], dtype=torch.float64).requires_grad_(True)
    scores = module(x)
    np.testing.assert_allclose(
        scores.detach().numpy(), -fitted.score_samples(X_test[:4]), rtol=1e-5
    )
    scores.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.slow
def test_defaults_leave_the_plateau_on_digits(digits):
    """Default parameters (width 16, auto budget) on 120 8x8 digits: no warning
    (the suite turns ConvergenceWarning into an error), and a useful ranking.
    About 40 s: 67 epochs of 8 steps on images padded to 32 px."""
    X, X_test, y_test = digits
    det = CRBND(device="cpu", random_state=0).fit(X)
    assert det.batch_size_ == 15
    auc = roc_auc_score(y_test, -det.score_samples(X_test))
    assert auc > 0.95
    # the classifier tells its own connective positives from negatives
    assert det.classifier_train_accuracy_ > 0.8


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"motion_blur_length": 10}, "motion_blur_length must be odd"),
        ({"negative_blur_length": 4}, "negative_blur_length must be odd"),
        ({"coarse_dropout": ((0.5,),)}, "coarse_dropout must be"),
        ({"coarse_dropout": ((1.5, 0.4),)}, "coarse_dropout must be"),
        ({"coarse_dropout": ((0.5, 0.0),)}, "coarse_dropout must be"),
        ({"lambda_": 1.0}, "lambda_"),
    ],
)
def test_invalid_parameters(params, match, digits):
    X, _, _ = digits
    with pytest.raises(ValueError, match=match):
        CRBND(**{**TINY, **params}).fit(X[:16])


def test_flat_rows_without_input_shape_are_refused():
    X = np.random.RandomState(0).uniform(size=(20, 10))
    with pytest.raises(ValueError, match="input_shape"):
        CRBND(**TINY).fit(X)


def test_paper_configuration():
    params = CRBND.paper_params("mnist")
    assert params["width"] == 32 and params["latent_dim"] == 256
    assert params["augmentation_copies"] == 5 and params["batch_size"] == 128
    assert params["lr"] == 1e-4 and params["max_epochs"] == 100
    det = CRBND(**params, device="cpu")
    with torch.random.fork_rng():  # the weights' initialisation
        module = ResidualAutoencoder((1, 28, 28), det.width, det.latent_dim)
        classifier = ConnectiveClassifier((1, 28, 28), params["classifier_width"])
    n_params = sum(p.numel() for p in module.parameters())
    assert 1_000_000 < n_params < 5_000_000
    assert module.eval().encode(torch.zeros(2, 1, 28, 28)).shape == (2, 256)
    dense = [m for m in classifier.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in dense] == [256, 128, 1]
    with pytest.raises(ValueError, match="no paper configuration"):
        CRBND.paper_params("cifar-10")


# ------------------------------------------------------- streamed training data
class _Pairs(Dataset):
    """The images of an array as ``(tensor, target)`` pairs, one at a time."""

    def __init__(self, array):
        self.array = array

    def __len__(self):
        return len(self.array)

    def __getitem__(self, i):
        return torch.as_tensor(self.array[i]), 0


#: a classifier that learns something in 10 epochs (training accuracy 0.71)
STREAM = {
    **TINY,
    # every row trains: the test counts the connective samples
    "calibration": "training",
    "classifier_epochs": 10,
    "classifier_width": 8,
    "classifier_lr": 3e-3,
    "negative_distortion": "noise",
    "noise_std": 0.3,
}


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """Python's temporary directory for the test: where fit puts its file."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _fit_files(temp_dir):
    """CRBND's folders and files in ``temp_dir`` (torch may put its own there)."""
    return sorted(
        (p.relative_to(temp_dir).as_posix(), p.stat().st_size if p.is_file() else 0)
        for p in temp_dir.rglob("*")
        if p.relative_to(temp_dir).parts[0].startswith("skanomaly-")
    )


def _memmap(tmp_path, array):
    path = tmp_path / "x.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def _assert_same_fit(streamed, in_memory, X_test):
    def losses(det):
        return [(row["stage"], row["train_loss"]) for row in det.history_]

    assert losses(streamed) == losses(in_memory)
    assert streamed.classifier_train_accuracy_ == in_memory.classifier_train_accuracy_
    assert streamed.offset_ == in_memory.offset_
    for score in ("classifier", "reconstruction"):
        streamed.set_params(anomaly_score=score)
        in_memory.set_params(anomaly_score=score)
        np.testing.assert_array_equal(
            streamed.score_samples(X_test), in_memory.score_samples(X_test)
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_memmap_fit_is_the_array_fit_through_a_temporary_file(
    digits, tmp_path, temp_dir, monkeypatch
):
    X, X_test, _ = digits
    X = X[:40]  # 2.5 batches of 16: the last batch is padded
    seen, reads, sources = {}, [], []
    train_classifier = CRBND._train_classifier

    def spy(self, ctx, X_c, y_c):
        seen["X"], seen["y"] = type(X_c), y_c.copy()
        seen["files"] = _fit_files(temp_dir)
        return train_classifier(self, ctx, X_c, y_c)

    read, init = StreamedRows.read, StreamedRows.__init__

    def recording_read(self, index):
        rows = read(self, index)
        reads.append((self.name, len(rows)))
        return rows

    def recording_init(self, source, *, name="X"):
        init(self, source, name=name)
        if name == "connective samples":
            sources.append(weakref.ref(source))

    monkeypatch.setattr(CRBND, "_train_classifier", spy)
    monkeypatch.setattr(StreamedRows, "read", recording_read)
    monkeypatch.setattr(StreamedRows, "__init__", recording_init)
    streamed = CRBND(**STREAM).fit(_memmap(tmp_path, X))
    # the classifier trained on 80 samples read from a file in TMPDIR...
    assert seen["X"] is StreamedNetInput
    np.testing.assert_array_equal(seen["y"], np.r_[np.zeros(40), np.ones(40)])
    (folder, _), (name, size) = seen["files"]
    assert folder.startswith("skanomaly-crbnd-")
    assert name == folder + "/connective.npy"
    assert size > 80 * 64 * 4
    # ...a batch at a time, and the file is gone with every reference to it
    connective_reads = [n for source, n in reads if source == "connective samples"]
    assert connective_reads and max(connective_reads) == 16
    assert _fit_files(temp_dir) == []
    gc.collect()
    assert len(sources) == 1 and sources[0]() is None
    monkeypatch.undo()

    in_memory = CRBND(**STREAM).fit(X)
    assert 0.6 < in_memory.classifier_train_accuracy_ < 0.9
    _assert_same_fit(streamed, in_memory, X_test)
    restored = pickle.loads(pickle.dumps(streamed))
    np.testing.assert_array_equal(
        restored.score_samples(X_test), in_memory.score_samples(X_test)
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dataset_fit_is_the_array_fit(digits, temp_dir):
    X, X_test, _ = digits
    params = {**STREAM, "classifier_epochs": "auto", "batch_size": 12}
    streamed = CRBND(**params).fit(_Pairs(X[:30]))
    in_memory = CRBND(**params).fit(X[:30])
    assert streamed.n_epochs_per_stage_ == in_memory.n_epochs_per_stage_
    _assert_same_fit(streamed, in_memory, X_test)
    assert _fit_files(temp_dir) == []


def test_temporary_file_is_removed_when_the_classifier_stage_raises(
    digits, tmp_path, temp_dir, monkeypatch
):
    X, _, _ = digits
    files = []

    def failing_step(self, batch, **fit_params):
        if self.stage == CLASSIFY:
            files.extend(p.name for p in temp_dir.rglob("*.npy"))
            raise RuntimeError("the classifier stage failed")
        return train_step(self, batch, **fit_params)

    train_step = CRBNDNet.train_step
    monkeypatch.setattr(CRBNDNet, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="classifier stage failed"):
        CRBND(**TINY).fit(_memmap(tmp_path, X[:32]))
    assert files == ["connective.npy"]  # it existed while the stage ran
    assert _fit_files(temp_dir) == []


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_in_memory_fit_writes_no_file(digits, temp_dir, monkeypatch):
    X, _, _ = digits
    monkeypatch.setattr(
        CRBND,
        "_connective_samples_on_disk",
        lambda *args: pytest.fail("in-memory data went to disk"),
    )
    CRBND(**{**TINY, "max_epochs": 1, "classifier_epochs": 1}).fit(X[:32])
    assert _fit_files(temp_dir) == []


def test_auto_budget_of_small_image_sets():
    """500 images: 100 reconstruction steps stretched over the 400 training
    rows (16 epochs of 7 steps), the classifier 100 steps on the 800
    connective samples (8 epochs of 13)."""
    from skanomaly.base import epochs_for_steps
    from skanomaly.detectors._crbnd import (
        _AUTO_CLASSIFIER_MIN_EPOCHS,
        _AUTO_CLASSIFIER_MIN_STEPS,
    )

    assert CRBND()._training_budget(500, 400, images=True) == (62, 16)
    assert (
        epochs_for_steps(
            800, 62, _AUTO_CLASSIFIER_MIN_STEPS, _AUTO_CLASSIFIER_MIN_EPOCHS
        )
        == 8
    )
    # a Fashion-MNIST class: the 10 epochs bind
    assert CRBND()._training_budget(6000, 4800, images=True) == (64, 13)
