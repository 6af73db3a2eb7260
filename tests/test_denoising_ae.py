"""DenoisingAE and, through it, the behaviour every detector inherits from the base."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skanomaly import DenoisingAE, TrainingDivergedError
from skanomaly.utils._torch import resolve_device

SMALL = {"hidden_dims": (16, 8), "max_epochs": 3, "batch_size": 16, "device": "cpu"}


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    X_train = rng.normal(0.5, 0.05, size=(80, 6)).clip(0, 1)
    X_test = np.vstack(
        [rng.normal(0.5, 0.05, size=(20, 6)), rng.uniform(0, 1, (20, 6))]
    )
    return X_train, X_test


@pytest.fixture(scope="module")
def fitted(blobs):
    return DenoisingAE(**SMALL, random_state=0).fit(blobs[0])


def test_outlier_contract(fitted, blobs):
    _, X_test = blobs
    scores = fitted.score_samples(X_test)
    assert scores.dtype == np.float64 and scores.shape == (40,)
    np.testing.assert_array_equal(
        fitted.decision_function(X_test), scores - fitted.offset_
    )
    labels = fitted.predict(X_test)
    assert labels.dtype.kind == "i" and set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels == 1, fitted.decision_function(X_test) >= 0)


def test_fitted_attributes(fitted):
    assert fitted.n_features_in_ == 6
    assert fitted.input_shape_ == (6,)
    assert fitted.device_ == "cpu"
    assert fitted.n_epochs_ == 3 == len(fitted.history_)
    assert all(np.isfinite(epoch["train_loss"]) for epoch in fitted.history_)
    assert isinstance(fitted.net_.module_, torch.nn.Module)


def test_offset_is_contamination_percentile(blobs):
    X_train, _ = blobs
    det = DenoisingAE(**SMALL, random_state=0, contamination=0.25).fit(X_train)
    assert np.mean(det.predict(X_train) == -1) == pytest.approx(0.25, abs=0.02)
    assert det.offset_ == np.percentile(det.score_samples(X_train), 25)


def test_auc_floor_on_digits(digits_one_class):
    X_train, X_test, y_test = digits_one_class
    # 640 optimiser steps leave the plateau (a ConvergenceWarning is an error here)
    det = DenoisingAE(max_epochs=40, batch_size=8, random_state=0, device="cpu")
    det.fit(X_train)
    auc = roc_auc_score(y_test, -det.score_samples(X_test))
    assert auc > 0.95


def test_anomaly_score_is_sum_of_squared_errors(fitted, blobs):
    _, X_test = blobs
    reconstruction = fitted.reconstruct(X_test)
    expected = ((reconstruction.astype(np.float64) - X_test) ** 2).sum(axis=1)
    np.testing.assert_allclose(-fitted.score_samples(X_test), expected, rtol=1e-4)


def test_same_random_state_same_scores(blobs):
    X_train, X_test = blobs
    a = DenoisingAE(**SMALL, random_state=3).fit(X_train).score_samples(X_test)
    b = DenoisingAE(**SMALL, random_state=3).fit(X_train).score_samples(X_test)
    c = DenoisingAE(**SMALL, random_state=4).fit(X_train).score_samples(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_state_instance_is_advanced_not_reset(blobs):
    X_train, X_test = blobs
    rng = np.random.RandomState(0)
    det = DenoisingAE(**SMALL, random_state=rng)
    first = det.fit(X_train).score_samples(X_test)
    second = det.fit(X_train).score_samples(X_test)
    assert not np.array_equal(first, second)


def test_scores_independent_of_batch_split(fitted, blobs):
    _, X_test = blobs
    full = fitted.score_samples(X_test)
    order = np.random.RandomState(1).permutation(len(X_test))
    np.testing.assert_array_equal(fitted.score_samples(X_test[order]), full[order])
    np.testing.assert_array_equal(fitted.score_samples(X_test[5:9]), full[5:9])
    singles = np.concatenate(
        [fitted.score_samples(X_test[i : i + 1]) for i in range(7)]
    )
    np.testing.assert_array_equal(singles, full[:7])
    other_batch = clone(fitted).set_params(batch_size=7)
    other_batch.__dict__.update(
        {k: v for k, v in vars(fitted).items() if k.endswith("_")}
    )
    np.testing.assert_allclose(other_batch.score_samples(X_test), full, rtol=1e-6)


def test_clone_and_refit_gives_same_scores(fitted, blobs):
    X_train, X_test = blobs
    refit = clone(fitted).fit(X_train)
    np.testing.assert_array_equal(
        refit.score_samples(X_test), fitted.score_samples(X_test)
    )


@pytest.mark.parametrize("dumps_loads", ["pickle", "joblib"])
def test_pickle_round_trip(fitted, blobs, tmp_path, dumps_loads):
    _, X_test = blobs
    if dumps_loads == "pickle":
        restored = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "det.joblib")
        restored = joblib.load(tmp_path / "det.joblib")
    np.testing.assert_array_equal(
        restored.score_samples(X_test), fitted.score_samples(X_test)
    )
    np.testing.assert_array_equal(restored.predict(X_test), fitted.predict(X_test))
    assert restored.device_ == "cpu"


def test_pipeline_with_scaler():
    rng = np.random.RandomState(0)
    X_train = rng.normal(100, 10, size=(60, 5))
    X_test = np.vstack(
        [rng.normal(100, 10, size=(10, 5)), rng.normal(200, 10, size=(10, 5))]
    )
    pipe = make_pipeline(MinMaxScaler(), DenoisingAE(**SMALL, random_state=0)).fit(
        X_train
    )
    scores = pipe.score_samples(X_test)
    assert scores.shape == (20,)
    assert roc_auc_score(np.r_[np.zeros(10), np.ones(10)], -scores) > 0.9
    assert set(np.unique(pipe.predict(X_test))) <= {-1, 1}


def test_unscaled_input_is_mapped_to_unit_interval_without_clipping():
    rng = np.random.RandomState(0)
    X_train = rng.normal(100, 1, size=(60, 4))
    det = DenoisingAE(**SMALL, random_state=0).fit(X_train)
    assert det.scaler_.mode_ == "feature"
    assert np.isfinite(det.score_samples(X_train)).all()
    far = det.score_samples(np.full((1, 4), 130.0))
    assert far[0] < det.score_samples(X_train).min()


def test_unit_interval_input_is_left_unchanged(blobs):
    det = DenoisingAE(**SMALL, random_state=0).fit(blobs[0])
    assert det.scaler_.is_identity


def test_input_is_not_modified(blobs):
    X_train, X_test = blobs
    X_train32 = X_train.astype(np.float32)
    before_train, before_test = X_train32.copy(), X_test.copy()
    det = DenoisingAE(**SMALL, random_state=0).fit(X_train32)
    det.score_samples(X_test)
    np.testing.assert_array_equal(X_train32, before_train)
    np.testing.assert_array_equal(X_test, before_test)


def test_read_only_input(blobs):
    X_train, X_test = (x.copy() for x in blobs)
    X_train.setflags(write=False)
    X_test.setflags(write=False)
    det = DenoisingAE(**SMALL, random_state=0).fit(X_train)
    assert det.score_samples(X_test).shape == (40,)


def test_image_arrays_set_input_shape():
    rng = np.random.RandomState(0)
    images = rng.uniform(size=(20, 1, 4, 4)).astype(np.float32)
    det = DenoisingAE(**SMALL, random_state=0).fit(images)
    assert det.input_shape_ == (1, 4, 4) and det.n_features_in_ == 16
    flat = det.score_samples(images.reshape(20, -1))
    np.testing.assert_array_equal(det.score_samples(images), flat)
    three_d = DenoisingAE(**SMALL, random_state=0).fit(images[:, 0])
    assert three_d.input_shape_ == (1, 4, 4)
    with pytest.raises(ValueError, match="shape"):
        det.score_samples(rng.uniform(size=(3, 1, 2, 8)))


def test_flat_rows_with_input_shape():
    X = np.random.RandomState(0).uniform(size=(20, 12))
    det = DenoisingAE(**SMALL, random_state=0, input_shape=(3, 2, 2)).fit(X)
    assert det.input_shape_ == (3, 2, 2)
    with pytest.raises(ValueError, match="input_shape"):
        DenoisingAE(**SMALL, input_shape=(1, 3, 3)).fit(X)


def test_encode_gives_latent_codes(fitted, blobs):
    codes = fitted.encode(blobs[1])
    assert codes.shape == (40, 8)
    assert ((codes >= 0) & (codes <= 1)).all()  # sigmoid latent


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.full((10, 3), np.nan), "NaN"),
        (np.full((10, 3), np.inf), "infinity"),
        (np.zeros((0, 3)), "0 sample"),
        (np.zeros((1, 3)), "1 sample"),
        (np.zeros(5), "2D array"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert"),
        (np.ones((4, 2)) + 1j, "Complex"),
        (np.zeros((4, 3, 2, 2, 2)), "dim 5"),
    ],
)
def test_bad_fit_input_raises_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        DenoisingAE(**SMALL).fit(X)


def test_bad_predict_input_raises_value_error(fitted):
    with pytest.raises(ValueError, match="6 features"):
        fitted.score_samples(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(np.full((3, 6), np.nan))
    with pytest.raises(ValueError, match="0 sample"):
        fitted.decision_function(np.zeros((0, 6)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"contamination": 0.7}, "contamination"),
        ({"contamination": 0.0}, "contamination"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"lr": -1.0}, "lr"),
        ({"hidden_dims": ()}, "hidden_dims"),
        ({"hidden_dims": (4, -2)}, "hidden_dims"),
        ({"noise_scale": -0.1}, "noise_scale"),
        ({"scaling": "zscore"}, "scaling"),
        ({"device": "gpu7"}, "device"),
    ],
)
def test_bad_parameters_raise_value_error(blobs, params, match):
    with pytest.raises(ValueError, match=match):
        DenoisingAE(**{**SMALL, **params}).fit(blobs[0])


def test_unexpected_fit_params_raise(blobs):
    with pytest.raises(ValueError, match="unexpected fit parameters"):
        DenoisingAE(**SMALL).fit(blobs[0], X_negative=blobs[0])


def test_not_fitted_raises(blobs):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DenoisingAE().score_samples(blobs[1])


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_diverging_loss_stops_with_clear_error(blobs):
    class NaNLoss(torch.nn.Module):
        def forward(self, y_pred, y_true):
            return (y_pred - y_true).pow(2).mean() * float("nan")

    class Diverging(DenoisingAE):
        def _build_criterion(self):
            return NaNLoss()

    with pytest.raises(TrainingDivergedError, match="became nan at epoch 1, batch 1"):
        Diverging(**SMALL).fit(blobs[0])


def test_verbose_progress_bar_and_epoch_lines(blobs, capsys):
    DenoisingAE(**SMALL, random_state=0, verbose=1).fit(blobs[0])
    err = capsys.readouterr().err
    assert "DenoisingAE" in err and "3/3" in err and "loss=" in err
    DenoisingAE(**SMALL, random_state=0, verbose=2).fit(blobs[0])
    out = capsys.readouterr().out
    assert (
        "train_loss" in out and len([ln for ln in out.splitlines() if ln.strip()]) >= 4
    )
    DenoisingAE(**SMALL, random_state=0, verbose=0).fit(blobs[0])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_fitted_model_scores_on_cpu_after_unpickling(blobs, tmp_path):
    import subprocess
    import sys

    X_train, X_test = blobs
    det = DenoisingAE(**{**SMALL, "device": "cuda"}, random_state=0).fit(X_train)
    path = tmp_path / "det.pkl"
    path.write_bytes(pickle.dumps(det))
    np.save(tmp_path / "X.npy", X_test)
    code = (
        "import pickle, sys, numpy as np, warnings; warnings.simplefilter('ignore');"
        f"det = pickle.loads(open({str(path)!r}, 'rb').read());"
        f"print(det.device_, det.score_samples(np.load({str(tmp_path / 'X.npy')!r})).sum())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "cpu"
    assert float(out[1]) == pytest.approx(det.score_samples(X_test).sum(), rel=1e-4)


def test_plateau_warning_names_the_budget(digits_one_class):
    X_train, _, _ = digits_one_class
    det = DenoisingAE(max_epochs=2, batch_size=32, random_state=0, device="cpu")
    with pytest.warns(ConvergenceWarning, match=r"after 2 epochs.*plateau"):
        det.fit(X_train)
    # the warned model is the one that reconstructs everything alike
    spread = det.reconstruct(X_train).std(axis=0).mean()
    assert spread < 1e-3 * X_train.std(axis=0).mean()
    # it stays usable: scores are the distances to (about) the mean sample
    assert np.all(np.isfinite(det.score_samples(X_train)))


def test_no_plateau_warning_for_constant_input():
    X = np.full((20, 6), 0.5, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        DenoisingAE(**SMALL, random_state=0).fit(X)
