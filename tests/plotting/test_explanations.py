"""Explanation maps beside their images, and the saliency maps' colour bars."""

import matplotlib
import numpy as np
import pytest

from skanomaly import DenoisingAE
from skanomaly.plotting import plot_explanations, plot_saliency_maps

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend)


def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images():
    return np.random.RandomState(0).uniform(size=(6, 1, 4, 4)).astype(np.float32)


def test_signed_maps_diverge_around_zero(images):
    rng = np.random.RandomState(1)
    contributions = rng.normal(size=images.shape)
    fig = plot_explanations(images, contributions, n=3, labels=["a", "b", "c"])
    assert len(_panels(fig)) == 6 and len(_colorbars(fig)) == 3
    panels = _panels(fig)
    assert [panels[i].get_title() for i in (0, 1)] == ["image", "contribution"]
    assert [panels[i].get_ylabel() for i in (0, 2, 4)] == ["a", "b", "c"]
    for r, ax in enumerate(panels[1::2]):
        (drawn,) = ax.get_images()
        assert drawn.get_cmap().name == "RdBu_r"
        low, high = drawn.get_clim()
        assert low == -high == -np.abs(contributions[r]).max()
        np.testing.assert_allclose(drawn.get_array(), contributions[r, 0])


def test_non_negative_maps_are_sequential_from_zero(images):
    contributions = images**2
    fig = plot_explanations(images, contributions, n=2)
    assert len(_colorbars(fig)) == 2
    for r, ax in enumerate(_panels(fig)[1::2]):
        (drawn,) = ax.get_images()
        assert drawn.get_cmap().name == "Reds"
        assert drawn.get_clim() == (0.0, float(contributions[r].max()))


def test_shared_scale_has_one_colour_bar(images):
    contributions = np.random.RandomState(2).normal(size=images.shape)
    fig = plot_explanations(images, contributions, n=4, shared_scale=True)
    assert len(_colorbars(fig)) == 1
    limit = np.abs(contributions[:4]).max()
    for ax in _panels(fig)[1::2]:
        assert ax.get_images()[0].get_clim() == (-limit, limit)


def test_layouts_and_channels():
    rng = np.random.RandomState(3)
    rgb = rng.uniform(size=(2, 3, 4, 5))
    contributions = rng.uniform(size=(2, 3, 4, 5))
    flat = plot_explanations(
        rgb.reshape(2, -1), contributions.reshape(2, -1), input_shape=(3, 4, 5)
    )
    (drawn,) = _panels(flat)[1].get_images()
    np.testing.assert_allclose(drawn.get_array(), contributions[0].sum(axis=0))
    assert _panels(flat)[0].get_images()[0].get_array().shape == (4, 5, 3)
    # the shape from the contributions' layout, images in other units
    gray = rng.uniform(0, 255, size=(2, 16))
    fig = plot_explanations(gray, rng.normal(size=(2, 4, 4)), cmap="PuOr", n=10)
    assert len(_panels(fig)) == 4
    assert _panels(fig)[1].get_images()[0].get_cmap().name == "PuOr"
    assert _panels(fig)[0].get_images()[0].get_array().max() <= 1.0


@pytest.mark.parametrize(
    ("images", "contributions", "kwargs", "match"),
    [
        (np.zeros((2, 16)), np.zeros((2, 16)), {}, "input_shape"),
        (np.zeros((2, 4, 4)), np.zeros((3, 4, 4)), {}, "samples"),
        (np.zeros((2, 4, 4)), np.zeros((2, 9)), {}, "values per sample"),
        (np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), {"n": 0}, "positive"),
        (np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), {"labels": ["a"]}, "labels"),
        (np.zeros((0, 4, 4)), np.zeros((0, 4, 4)), {}, "non-empty"),
        (np.zeros(4), np.zeros(4), {}, "non-empty"),
    ],
)
def test_bad_input(images, contributions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_explanations(images, contributions, **kwargs)


@pytest.mark.parametrize("method", ["reconstruction", "gradient"])
def test_with_a_detector(method):
    X = np.random.RandomState(4).uniform(size=(50, 1, 4, 4)).astype(np.float32)
    dae = DenoisingAE(
        hidden_dims=(8, 4), max_epochs=2, batch_size=16, random_state=0, device="cpu"
    ).fit(X)
    fig = plot_explanations(X[:2], dae.explain(X[:2], method=method))
    assert len(_colorbars(fig)) == 2
    expected = "RdBu_r" if method == "gradient" else "Reds"
    assert _panels(fig)[1].get_images()[0].get_cmap().name == expected


class _LinearScore:
    input_shape_ = (1, 4, 4)

    def score_samples(self, X):
        return -np.asarray(X).reshape(len(X), -1).sum(axis=1)


def test_saliency_maps_have_colour_bars(images):
    fig = plot_saliency_maps({"A": _LinearScore(), "B": _LinearScore()}, images, n=2)
    assert len(_panels(fig)) == 6 and len(_colorbars(fig)) == 4
    # each colour bar spans its own map's range, symmetric around 0
    for bar in _colorbars(fig):
        low, high = bar.get_ylim()
        assert high > 0 and low == pytest.approx(-high)
    without = plot_saliency_maps(_LinearScore(), images, n=2, colorbar=False)
    assert not _colorbars(without) and len(without.axes) == 4
