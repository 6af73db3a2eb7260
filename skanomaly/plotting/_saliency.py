"""Occlusion saliency (Zeiler & Fergus), as in section 5.1 of the ARAE paper."""

from __future__ import annotations

import numpy as np

from skanomaly.plotting._common import (
    as_rows,
    import_pyplot,
    named_detectors,
    resolve_input_shape,
    to_displayable,
)


def occlusion_saliency(
    detector, X, *, patch=1, fill=0.0, input_shape=None, batch_size=1024
):
    """Change of the anomaly score when each patch of the image is occluded.

    Every ``patch x patch`` square (all channels) of each image is set to
    ``fill`` in turn (black by default: the paper's "occlusion-1" with
    ``patch=1``), and the map holds ``anomaly(occluded) - anomaly(image)`` with
    ``anomaly = -score_samples``. Positive values: hiding the patch makes the
    image look more anomalous (the paper draws these blue), negative: less.

    Works for any fitted detector with ``score_samples`` (any skanomaly detector,
    scikit-learn's, PyOD's through :func:`skanomaly.adapters.from_pyod`).

    Parameters
    ----------
    detector : object
        Fitted detector with ``score_samples`` (higher = more normal).
    X : array-like of shape (n_samples, n_features) or image array
        Images as flat rows (or 3-D/4-D arrays), in the detector's input scale.
    patch : int, default=1
        Side of the occluded square in pixels; squares tile the image without
        overlap (the last row/column may be smaller).
    fill : float, default=0.0
        Value written into the occluded pixels.
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of one image; ``None`` uses the detector's ``input_shape_``.
    batch_size : int, default=1024
        Occluded images scored per ``score_samples`` call (bounds memory).

    Returns
    -------
    saliency : ndarray of shape (n_samples, H, W), dtype float64
        The score change per pixel (every pixel of a patch gets its patch's
        value).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skanomaly.plotting import occlusion_saliency
    >>> X = np.random.RandomState(0).uniform(size=(50, 9))
    >>> forest = IsolationForest(random_state=0).fit(X)
    >>> occlusion_saliency(forest, X[:2], input_shape=(1, 3, 3)).shape
    (2, 3, 3)
    """
    rows = as_rows(X).astype(np.float64)
    c, h, w = resolve_input_shape(detector, input_shape, rows.shape[1])
    patch = int(patch)
    if patch < 1:
        raise ValueError(f"patch must be a positive int; got {patch!r}.")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    corners = [(i, j) for i in range(0, h, patch) for j in range(0, w, patch)]
    base = -np.asarray(detector.score_samples(rows), dtype=np.float64)
    saliency = np.empty((rows.shape[0], h, w), dtype=np.float64)
    per_chunk = max(1, int(batch_size) // len(corners))
    for start in range(0, rows.shape[0], per_chunk):
        chunk = rows[start : start + per_chunk].reshape(-1, c, h, w)
        occluded = np.repeat(chunk[:, None], len(corners), axis=1)
        for k, (i, j) in enumerate(corners):
            occluded[:, k, :, i : i + patch, j : j + patch] = fill
        flat = occluded.reshape(-1, c * h * w)
        scores = np.concatenate(
            [
                -np.asarray(detector.score_samples(flat[s : s + batch_size]))
                for s in range(0, flat.shape[0], int(batch_size))
            ]
        ).reshape(len(chunk), len(corners))
        delta = scores - base[start : start + len(chunk), None]
        for k, (i, j) in enumerate(corners):
            saliency[start : start + len(chunk), i : i + patch, j : j + patch] = delta[
                :, k, None, None
            ]
    return saliency


def plot_saliency_maps(
    detectors,
    X,
    *,
    n=5,
    patch=1,
    fill=0.0,
    input_shape=None,
    cmap="RdBu",
    colorbar=True,
    figsize=None,
):
    """Inputs, reconstructions and occlusion saliency maps (the ARAE paper's Fig. 4).

    One row per image; the columns are the input, then for each detector its
    reconstruction (when it has ``reconstruct``) and its
    :func:`occlusion_saliency` map. Maps use a diverging colormap centred at 0:
    with the default ``"RdBu"``, blue pixels raise the anomaly score when
    occluded and red ones lower it, as in the paper. Each map has its own
    symmetric scale, read on its colour bar (in anomaly score units).

    Parameters
    ----------
    detectors : detector, list of detectors or dict of {name: detector}
        Fitted detectors with ``score_samples``.
    X : array-like of shape (n_samples, n_features) or image array
        Images; the first ``n`` are shown.
    n : int, default=5
        Number of images (rows).
    patch : int, default=1
        Occlusion patch size (see :func:`occlusion_saliency`).
    fill : float, default=0.0
        Occlusion value.
    input_shape : tuple of int, default=None
        ``(C, H, W)``; ``None`` uses the first detector's ``input_shape_``.
    cmap : str, default="RdBu"
        Diverging colormap of the maps.
    colorbar : bool, default=True
        Whether each map gets a colour bar beside it.
    figsize : tuple of float, default=None
        Figure size; by default 1.3 inches per panel (1.7 per map with its
        colour bar).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; each map is scaled symmetrically around 0 on its own. The
        colour bars are axes of their own (labelled ``"<colorbar>"`` by
        matplotlib), after the panels in ``fig.axes``.

    See Also
    --------
    plot_explanations : Gradient or reconstruction-error maps of skanomaly
        detectors, computed in one pass.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.plotting import plot_saliency_maps
    >>> X = np.random.RandomState(0).uniform(size=(50, 1, 4, 4))
    >>> dae = DenoisingAE(hidden_dims=(8, 4), max_epochs=2, random_state=0,
    ...                   device="cpu").fit(X)
    >>> fig = plot_saliency_maps({"DAE": dae}, X, n=2)
    >>> len(fig.axes)  # 2 rows of input, reconstruction and map; 2 colour bars
    8
    """
    plt = import_pyplot()
    pairs = named_detectors(detectors)
    rows = as_rows(X)[: int(n)]
    shape = resolve_input_shape(pairs[0][1], input_shape, rows.shape[1])
    columns = [("input", rows, "image")]
    for name, det in pairs:
        if hasattr(det, "reconstruct"):
            columns.append((f"{name} rec.", np.asarray(det.reconstruct(rows)), "image"))
        maps = occlusion_saliency(det, rows, patch=patch, fill=fill, input_shape=shape)
        columns.append((f"{name} map", maps, "map"))
    n_rows, n_cols = len(rows), len(columns)
    if figsize is None:
        n_maps = sum(kind == "map" for _, _, kind in columns)
        width = 1.3 * n_cols + (0.4 * n_maps if colorbar else 0.0)
        figsize = (width, 1.3 * n_rows + 0.4)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize, squeeze=False)
    drawn_maps = []
    for c, (title, data, kind) in enumerate(columns):
        for r in range(n_rows):
            ax = axes[r, c]
            if kind == "image":
                ax.imshow(to_displayable(data[r], shape), cmap="gray", vmin=0, vmax=1)
            else:
                limit = float(np.abs(data[r]).max()) or 1.0
                drawn_maps.append(
                    (ax, ax.imshow(data[r], cmap=cmap, vmin=-limit, vmax=limit))
                )
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize="small")
    if colorbar:
        # after every panel, so that fig.axes lists the panels first
        for ax, drawn in drawn_maps:
            bar = fig.colorbar(drawn, ax=ax, fraction=0.046, pad=0.04)
            bar.ax.tick_params(labelsize="x-small")
    fig.tight_layout()
    return fig
