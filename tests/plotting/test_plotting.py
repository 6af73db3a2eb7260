"""Reconstruction figures and occlusion saliency."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from skanomaly import ARAE, DenoisingAE
from skanomaly.plotting import (
    occlusion_saliency,
    plot_reconstructions,
    plot_saliency_maps,
)

matplotlib.use("Agg")

TINY = {"hidden_dims": (8, 4), "max_epochs": 2, "batch_size": 16, "device": "cpu"}


class LinearScore:
    """A detector whose anomaly score is ``X @ weights`` (known saliency)."""

    def __init__(self, weights, input_shape=None):
        self.weights = np.asarray(weights, dtype=np.float64)
        if input_shape is not None:
            self.input_shape_ = input_shape
        self.calls = []

    def score_samples(self, X):
        self.calls.append(len(X))
        return -(np.asarray(X) @ self.weights)


@pytest.fixture(scope="module")
def images():
    rng = np.random.RandomState(0)
    return rng.uniform(size=(24, 1, 4, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def detectors(images):
    return {
        "DAE": DenoisingAE(**TINY, random_state=0).fit(images),
        "ARAE": ARAE(**TINY, pgd_steps=2, random_state=0).fit(images),
    }


def test_occlusion_saliency_is_the_score_change():
    rng = np.random.RandomState(1)
    w = rng.normal(size=16)
    X = rng.uniform(size=(3, 16))
    det = LinearScore(w, input_shape=(1, 4, 4))
    saliency = occlusion_saliency(det, X)
    assert saliency.shape == (3, 4, 4) and saliency.dtype == np.float64
    # occluding pixel p with 0 changes the anomaly score by -w_p * x_p
    np.testing.assert_allclose(saliency.reshape(3, 16), -w * X)
    filled = occlusion_saliency(det, X, fill=1.0)
    np.testing.assert_allclose(filled.reshape(3, 16), w * (1 - X))


def test_occlusion_patches_and_channels():
    rng = np.random.RandomState(2)
    w = rng.normal(size=2 * 3 * 3)
    X = rng.uniform(size=(2, 18))
    det = LinearScore(w)
    saliency = occlusion_saliency(det, X, patch=2, input_shape=(2, 3, 3))
    assert saliency.shape == (2, 3, 3)
    contrib = -(w * X).reshape(2, 2, 3, 3).sum(axis=1)  # both channels occluded
    np.testing.assert_allclose(saliency[:, 0, 0], contrib[:, :2, :2].sum(axis=(1, 2)))
    np.testing.assert_allclose(saliency[:, 1, 1], saliency[:, 0, 0])
    np.testing.assert_allclose(saliency[:, 2, 2], contrib[:, 2, 2])
    np.testing.assert_allclose(saliency[:, 0, 2], contrib[:, :2, 2].sum(axis=1))


def test_occlusion_is_batched_and_batch_independent(detectors, images):
    det = detectors["ARAE"]
    full = occlusion_saliency(det, images[:3])
    small = occlusion_saliency(det, images[:3], batch_size=7)
    np.testing.assert_allclose(small, full, rtol=1e-5, atol=1e-7)
    counting = LinearScore(np.ones(16), input_shape=(1, 4, 4))
    occlusion_saliency(counting, images[:5].reshape(5, -1), batch_size=20)
    assert max(counting.calls) <= 20


def test_occlusion_works_for_any_detector(images):
    X = images.reshape(len(images), -1)
    forest = IsolationForest(n_estimators=20, random_state=0).fit(X)
    saliency = occlusion_saliency(forest, X[:2], input_shape=(1, 4, 4))
    assert saliency.shape == (2, 4, 4) and np.isfinite(saliency).all()


def test_occlusion_input_is_not_modified(detectors, images):
    X = images[:2].copy()
    occlusion_saliency(detectors["DAE"], X)
    np.testing.assert_array_equal(X, images[:2])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"patch": 0}, "patch"), ({"batch_size": 0}, "batch_size")],
)
def test_occlusion_bad_arguments(detectors, images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        occlusion_saliency(detectors["DAE"], images[:2], **kwargs)


def test_shape_is_needed_for_flat_input_without_image_detector():
    det = LinearScore(np.ones(16))
    with pytest.raises(ValueError, match="input_shape"):
        occlusion_saliency(det, np.zeros((2, 16)))
    with pytest.raises(ValueError, match="holds 9 values"):
        occlusion_saliency(det, np.zeros((2, 16)), input_shape=(1, 3, 3))


def test_plot_reconstructions_layout(detectors, images):
    labels = ["normal", "normal", "anomaly"]
    fig = plot_reconstructions(detectors, images, n=3, labels=labels)
    assert len(fig.axes) == 9
    assert [fig.axes[i].get_ylabel() for i in (0, 3, 6)] == ["input", "DAE", "ARAE"]
    assert fig.axes[2].get_title() == "anomaly"
    single = plot_reconstructions(detectors["DAE"], images.reshape(24, -1), n=2)
    assert len(single.axes) == 4 and single.axes[2].get_ylabel() == "DenoisingAE"
    matplotlib.pyplot.close("all")


def test_plot_reconstructions_bad_input(detectors, images):
    with pytest.raises(ValueError, match="labels"):
        plot_reconstructions(detectors, images, n=3, labels=["a"])
    with pytest.raises(ValueError, match="at least one detector"):
        plot_reconstructions({}, images)
    flat = DenoisingAE(**TINY, random_state=0).fit(images.reshape(24, -1))
    with pytest.raises(ValueError, match="input_shape"):
        plot_reconstructions(flat, images.reshape(24, -1))
    fig = plot_reconstructions(flat, images.reshape(24, -1), n=2, input_shape=(4, 4))
    assert len(fig.axes) == 4
    matplotlib.pyplot.close("all")


def test_plot_saliency_maps_layout(detectors, images):
    fig = plot_saliency_maps(detectors, images, n=2)
    titles = [ax.get_title() for ax in fig.axes[:5]]
    assert titles == ["input", "DAE rec.", "DAE map", "ARAE rec.", "ARAE map"]
    assert len(fig.axes) == 10 + 4  # and a colour bar per map
    forest = IsolationForest(n_estimators=10, random_state=0).fit(
        images.reshape(24, -1)
    )
    fig = plot_saliency_maps([forest], images, n=1, input_shape=(1, 4, 4))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["input", "IsolationForest map"]
    assert [ax.get_label() for ax in fig.axes[2:]] == ["<colorbar>"]
    matplotlib.pyplot.close("all")


def test_matplotlib_is_imported_lazily():
    code = (
        "import sys, skanomaly, skanomaly.plotting;print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_plot_auc_under_attack():
    from skanomaly.plotting import plot_auc_under_attack
    from skanomaly.robustness import AUCUnderAttack

    res = AUCUnderAttack(
        epsilons=np.array([0.1, 0.0]),
        aucs=np.array([0.7, 0.9]),
        anomaly_scores=np.zeros((2, 3)),
        norm="l2",
        steps=5,
    )
    ax = plot_auc_under_attack({"A": res, "B": res})
    lines = ax.get_lines()
    assert len(lines) == 3  # two curves and the chance line
    np.testing.assert_array_equal(lines[0].get_xdata(), [0.0, 0.1])
    np.testing.assert_array_equal(lines[0].get_ydata(), [0.9, 0.7])
    assert "L2" in ax.get_xlabel() and ax.get_ylabel() == "ROC AUC"
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["A", "B"]
    import matplotlib.pyplot as plt

    _, own = plt.subplots()
    assert plot_auc_under_attack(res, ax=own, chance=False) is own
    assert len(own.get_lines()) == 1 and own.get_legend() is None
    with pytest.raises(TypeError, match="AUCUnderAttack"):
        plot_auc_under_attack([0.5])
    with pytest.raises(ValueError, match="at least one"):
        plot_auc_under_attack({})
    plt.close("all")
