"""Images beside the maps of their contributions to the anomaly score."""

from __future__ import annotations

import numpy as np

from skanomaly.plotting._common import import_pyplot

#: default colormaps: signed maps (gradient times input) diverge around 0,
#: non-negative ones (squared reconstruction errors) run from 0 up
DIVERGING_CMAP = "RdBu_r"
SEQUENTIAL_CMAP = "Reds"


def _image_shape(images: np.ndarray, contributions: np.ndarray, input_shape):
    """``(C, H, W)`` of one image, from ``input_shape`` or the arrays' layout."""
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if len(shape) == 2:
            shape = (1, *shape)
    elif images.ndim == 4:
        shape = images.shape[1:]
    elif images.ndim == 3:
        shape = (1, *images.shape[1:])
    elif contributions.ndim == 4:
        shape = contributions.shape[1:]
    elif contributions.ndim == 3:
        shape = (1, *contributions.shape[1:])
    else:
        raise ValueError(
            "images and contributions are flat rows: pass input_shape=(C, H, W) "
            "(a detector's input_shape_)."
        )
    if len(shape) != 3:
        raise ValueError(
            f"input_shape must be (C, H, W) or (H, W); got {input_shape!r}."
        )
    return tuple(int(s) for s in shape)


def _as_rows(X, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim not in (2, 3, 4) or X.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty array of flat rows (n, C*H*W) or of "
            f"images (n, H, W) / (n, C, H, W); got shape {X.shape}."
        )
    return X


def plot_explanations(
    images,
    contributions,
    *,
    n=5,
    input_shape=None,
    labels=None,
    cmap=None,
    image_cmap="gray",
    shared_scale=False,
    map_title="contribution",
    figsize=None,
):
    """Draw each image beside the map of its contributions, with a colour bar.

    The contributions come from
    :meth:`~skanomaly.base.BaseDeepDetector.explain` (or
    :mod:`skanomaly.explain`): one value per pixel and channel; the map of a
    multi-channel image shows their sum over the channels. Signed maps
    (``method="gradient"``) use a diverging colormap centred at 0, red where a
    pixel raises the anomaly score and blue where it lowers it; non-negative
    maps (``method="reconstruction"``) a sequential one from 0 (white) up.

    Parameters
    ----------
    images : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or (n_samples, n_features)
        The explained images, in the layout of the detector's input; flat rows
        need ``input_shape``. Images in [0, 1] are drawn on that range, others
        on the range of the shown images.
    contributions : array-like of the same number of samples and values per sample
        One contribution per pixel (and channel) of each image, as returned by
        :func:`skanomaly.explain.explain_samples`: ``(n_samples, C, H, W)``,
        ``(n_samples, H, W)`` or flat rows.
    n : int, default=5
        Number of images (rows): the first ``n``.
    input_shape : tuple of int, default=None
        ``(C, H, W)`` or ``(H, W)`` of one image; ``None`` reads it from the
        layout of ``images`` (or of ``contributions``).
    labels : sequence of str, default=None
        A label per image, written on the left of its row (e.g. ``"normal"``
        / ``"anomaly"``, or its score).
    cmap : str, default=None
        Colormap of the maps; ``None``: ``"RdBu_r"`` (diverging, centred at 0)
        when a shown contribution is negative, else ``"Reds"`` (from 0).
    image_cmap : str, default="gray"
        Colormap of one-channel images.
    shared_scale : bool, default=False
        Whether every map uses one colour scale with one colour bar (to
        compare images), rather than each map its own scale and colour bar.
    map_title : str, default="contribution"
        Title of the maps' column.
    figsize : tuple of float, default=None
        Figure size; by default about 1.6 inches per panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row per image: the image and its map; the colour bars are axes of
        their own (labelled ``"<colorbar>"`` by matplotlib).

    See Also
    --------
    skanomaly.explain.explain_samples : The contributions.
    plot_saliency_maps : Occlusion saliency of any detector with ``score_samples``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.plotting import plot_explanations
    >>> X = np.random.RandomState(0).uniform(size=(50, 1, 4, 4))
    >>> dae = DenoisingAE(hidden_dims=(8, 4), max_epochs=2, random_state=0,
    ...                   device="cpu").fit(X)
    >>> fig = plot_explanations(X[:2], dae.explain(X[:2], method="gradient"))
    >>> len(fig.axes)  # 2 images, 2 maps, 2 colour bars
    6
    """
    plt = import_pyplot()
    images = _as_rows(images, "images")
    contributions = _as_rows(contributions, "contributions")
    if isinstance(n, bool) or int(n) < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    if len(images) != len(contributions):
        raise ValueError(
            f"images has {len(images)} samples but contributions has "
            f"{len(contributions)}."
        )
    shape = _image_shape(images, contributions, input_shape)
    n_pixels = int(np.prod(shape))
    for name, data in (("images", images), ("contributions", contributions)):
        if int(np.prod(data.shape[1:])) != n_pixels:
            raise ValueError(
                f"{name} has {int(np.prod(data.shape[1:]))} values per sample; "
                f"images of shape {shape} have {n_pixels}."
            )
    n = min(int(n), len(images))
    if labels is not None and len(labels) < n:
        raise ValueError(f"labels has {len(labels)} entries for {n} images.")
    images = images[:n].reshape(n, *shape)
    # the map of an image: the sum of its channels' contributions
    maps = contributions[:n].reshape(n, *shape).sum(axis=1)
    signed = bool((contributions[:n] < 0).any())
    if cmap is None:
        cmap = DIVERGING_CMAP if signed else SEQUENTIAL_CMAP
    low, high = float(images.min()), float(images.max())
    if low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    span = high - low if high > low else 1.0

    def limits(values):
        top = float(np.abs(values).max()) or 1.0
        return (-top, top) if signed else (0.0, top)

    if figsize is None:
        figsize = (3.6, 1.6 * n + 0.3)
    fig, axes = plt.subplots(n, 2, figsize=figsize, squeeze=False, layout="constrained")
    vmin, vmax = limits(maps)
    for r in range(n):
        image_ax, map_ax = axes[r]
        image = np.clip((images[r] - low) / span, 0.0, 1.0)
        if shape[0] == 1:
            image_ax.imshow(image[0], cmap=image_cmap, vmin=0, vmax=1)
        else:
            image_ax.imshow(np.moveaxis(image, 0, -1))
        if not shared_scale:
            vmin, vmax = limits(maps[r])
        drawn = map_ax.imshow(maps[r], cmap=cmap, vmin=vmin, vmax=vmax)
        if not shared_scale:
            fig.colorbar(drawn, ax=map_ax, shrink=0.9)
        for ax in (image_ax, map_ax):
            ax.set_xticks([])
            ax.set_yticks([])
        if labels is not None:
            image_ax.set_ylabel(str(labels[r]))
        if r == 0:
            image_ax.set_title("image", fontsize="small")
            map_ax.set_title(map_title, fontsize="small")
    if shared_scale:
        fig.colorbar(drawn, ax=axes[:, 1].tolist(), shrink=0.9)
    return fig
