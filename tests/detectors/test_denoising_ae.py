"""DenoisingAE: its score, its scaling and its learning.

The contract every detector keeps is tested in ``tests/test_contract.py``, the
base's hooks in ``tests/test_base.py``.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skanomaly import DenoisingAE

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


def test_one_training_stage(fitted):
    assert fitted.n_epochs_ == 3 == len(fitted.history_)
    assert fitted.n_epochs_per_stage_ == {"train": 3}
    assert [row["stage"] for row in fitted.history_] == ["train"] * 3


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
    paper = copy.deepcopy(fitted).set_params(anomaly_score="reconstruction")
    np.testing.assert_allclose(-paper.score_samples(X_test), expected, rtol=1e-4)


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
    # the paper's sigmoid network: its hidden layers saturate on the plateau
    det = DenoisingAE(
        activation="sigmoid", max_epochs=2, batch_size=32, random_state=0, device="cpu"
    )
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


# ------------------------------------------------------------- anomaly_score
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_score_follows_the_network_shape(fitted):
    # 6 features into a first layer of 16: the network widens the input;
    # "auto" adds the latent-neighbour term
    assert fitted._resolved_anomaly_score() == "reconstruction+knn"
    # two epochs may end on the plateau (and warn): only the shape matters here
    X = np.random.RandomState(0).uniform(size=(40, 6))
    narrowing = DenoisingAE(
        hidden_dims=(4, 2), max_epochs=2, device="cpu", random_state=0
    )
    assert narrowing.fit(X)._resolved_anomaly_score() == "nap+knn"
    # images too
    narrowing.set_params(input_shape=(1, 2, 3))
    assert narrowing.fit(X)._resolved_anomaly_score() == "nap+knn"


def test_one_fit_gives_every_score(fitted, blobs):
    _, X_test = blobs
    det = copy.deepcopy(fitted)
    default = det.set_params(anomaly_score="reconstruction+knn").score_samples(X_test)
    np.testing.assert_array_equal(default, fitted.score_samples(X_test))
    reconstruction = det.set_params(anomaly_score="reconstruction").score_samples(
        X_test
    )
    assert not np.allclose(default, reconstruction)
    nap = det.set_params(anomaly_score="nap").score_samples(X_test)
    assert nap.dtype == np.float64 and np.isfinite(nap).all()
    assert not np.allclose(nap, reconstruction)
    # the score module differentiates the chosen score
    module = det.anomaly_score_module()
    x = torch.as_tensor(X_test[:3], dtype=torch.float64).requires_grad_(True)
    module(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    np.testing.assert_allclose(
        -module(torch.as_tensor(X_test)).detach().numpy(), nap, rtol=1e-5
    )


def test_nap_beats_the_plain_error_on_fashion_like_images():
    """A narrowing network on image-like data: NAP ranks anomalies at least as
    well as the sum of squared errors (the reason it is the 'auto' choice)."""
    rng = np.random.RandomState(0)
    templates = rng.uniform(size=(2, 64)) > 0.5
    normal = templates[0] * rng.uniform(0.6, 1.0, size=(300, 64))
    normal = (normal + rng.normal(0, 0.05, normal.shape)).clip(0, 1)
    anomalies = templates[1] * rng.uniform(0.6, 1.0, size=(50, 64))
    X_test = np.vstack([normal[250:], anomalies.clip(0, 1)])
    y_test = np.r_[np.zeros(50), np.ones(50)]
    det = DenoisingAE(
        hidden_dims=(32, 8), input_shape=(1, 8, 8), random_state=0, device="cpu"
    )
    det.fit(normal[:250])
    assert det._resolved_anomaly_score() == "nap+knn"
    det.set_params(anomaly_score="nap")
    auc_nap = roc_auc_score(y_test, -det.score_samples(X_test))
    det.set_params(anomaly_score="reconstruction")
    auc_rec = roc_auc_score(y_test, -det.score_samples(X_test))
    assert auc_nap >= auc_rec - 0.01 and auc_nap > 0.95


def test_streamed_fit_gives_the_same_nap_statistics(tmp_path, blobs):
    X_train, X_test = blobs
    path = tmp_path / "train.npy"
    np.save(path, X_train.astype(np.float32))
    params = {**SMALL, "hidden_dims": (4, 2), "random_state": 0}
    in_memory = DenoisingAE(**params).fit(X_train.astype(np.float32))
    streamed = DenoisingAE(**params).fit(np.load(path, mmap_mode="r"))
    for (m1, p1), (m2, p2) in zip(
        in_memory.pathway_whitening_, streamed.pathway_whitening_, strict=True
    ):
        torch.testing.assert_close(m1, m2)
        torch.testing.assert_close(p1.abs(), p2.abs(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        in_memory.score_samples(X_test), streamed.score_samples(X_test), rtol=1e-5
    )


def test_paper_params_use_the_papers_score():
    for dataset in ("mnist", "fashion-mnist"):
        assert DenoisingAE.paper_params(dataset)["anomaly_score"] == "reconstruction"


def test_bad_anomaly_score_is_a_clear_error(blobs):
    with pytest.raises(ValueError, match="anomaly_score"):
        DenoisingAE(anomaly_score="rapp", **SMALL).fit(blobs[0])


@pytest.mark.parametrize(
    ("n_rows", "budget"),
    [
        (50, (8, 86)),  # 600 steps: the minimum
        (143, (17, 67)),  # a digit of scikit-learn's digits: unchanged
        (6000, (64, 50)),  # a Fashion-MNIST class: 50 epochs, 4,700 steps
        (60000, (64, 10)),  # 10 epochs is more than the 5,000-step target
    ],
)
def test_auto_budget_trains_larger_images_longer(n_rows, budget):
    assert DenoisingAE()._resolve_budget(n_rows, images=True) == budget


def test_auto_budget_of_tabular_rows_keeps_the_target():
    # 3,000 rows: batch 64, 47 steps an epoch; 5,000 steps need 50 epochs
    assert DenoisingAE()._resolve_budget(3000) == (64, 50)
