"""Inputs next to their reconstructions (the ARAE paper's Fig. 1)."""

from __future__ import annotations

import numpy as np

from skanomaly.plotting._common import (
    as_rows,
    import_pyplot,
    named_detectors,
    resolve_input_shape,
    to_displayable,
)


def plot_reconstructions(
    detectors,
    X,
    *,
    n=8,
    input_shape=None,
    labels=None,
    cmap="gray",
    figsize=None,
):
    """Show images (first row) above each detector's reconstructions of them.

    Pass normal and anomalous images together to see whether a detector also
    reconstructs what it should not (the ARAE paper's Fig. 1: a denoising
    autoencoder trained on 8s reconstructs a 1, ARAE turns it into an 8).

    Parameters
    ----------
    detectors : detector, list of detectors or dict of {name: detector}
        Fitted detectors with a ``reconstruct(X)`` method returning flat rows in
        the input scale (every skanomaly autoencoder has one).
    X : array-like of shape (n_samples, n_features) or image array
        Images as flat rows (or 3-D/4-D arrays); the first ``n`` are shown.
    n : int, default=8
        Number of images.
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of one image; ``None`` takes the first detector's
        ``input_shape_``.
    labels : sequence of str, default=None
        A title per image (e.g. ``"normal"`` / ``"anomaly"``).
    cmap : str, default="gray"
        Colormap of one-channel images.
    figsize : tuple of float, default=None
        Figure size; by default 1.3 inches per image.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row for the inputs and one per detector, labelled on the left.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.plotting import plot_reconstructions
    >>> X = np.random.RandomState(0).uniform(size=(32, 1, 4, 4))
    >>> dae = DenoisingAE(hidden_dims=(8, 4), max_epochs=2, random_state=0,
    ...                   device="cpu").fit(X)
    >>> fig = plot_reconstructions({"DAE": dae}, X, n=3)
    >>> len(fig.axes)
    6
    """
    plt = import_pyplot()
    pairs = named_detectors(detectors)
    rows = as_rows(X)[: int(n)]
    shape = resolve_input_shape(pairs[0][1], input_shape, rows.shape[1])
    if labels is not None and len(labels) < len(rows):
        raise ValueError(f"labels has {len(labels)} entries for {len(rows)} images.")
    reconstructions = [np.asarray(det.reconstruct(rows)) for _, det in pairs]
    n_rows, n_cols = 1 + len(pairs), len(rows)
    if figsize is None:
        figsize = (1.3 * n_cols + 0.8, 1.3 * n_rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize, squeeze=False)
    row_names = ["input", *(name for name, _ in pairs)]
    images = [rows, *reconstructions]
    for r, (name, data) in enumerate(zip(row_names, images, strict=True)):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.imshow(to_displayable(data[c], shape), cmap=cmap, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name)
            if r == 0 and labels is not None:
                ax.set_title(str(labels[c]), fontsize="small")
    fig.tight_layout()
    return fig
