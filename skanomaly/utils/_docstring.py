"""Docstring text shared by every detector, filled in by :func:`fill_shared_docs`."""

from __future__ import annotations

SHARED_DOCS = {
    "device": """\
    device : str or torch.device, default="auto"
        ``"auto"`` picks CUDA, then MPS, then CPU at fit time (see ``device_``);
        any torch device string is accepted.""",
    "verbose_contamination": """\
    verbose : int, default=0
        0: silent; 1: a progress bar over epochs with the loss; 2: one line per
        epoch.
    contamination : float, default=0.1
        Expected share of outliers in the training data, in (0, 0.5]; sets
        ``offset_``.""",
    "fitted_attributes": """\
    device_ : str
        The device the net was trained on.
    n_features_in_ : int
        Number of features seen at fit.
    input_shape_ : tuple of int
        Shape of one sample: ``(C, H, W)`` for images, else ``(n_features,)``.
    offset_ : float
        The ``100 * contamination`` percentile of the training ``score_samples``.
    history_ : list of dict
        One dict per epoch, over every training stage (``epoch``, ``stage``,
        ``train_loss``, ``dur`` and the method's own losses).
    n_epochs_ : int
        Number of epochs trained, all stages together.
    n_epochs_per_stage_ : dict of str to int
        Epochs trained in each stage, in stage order (one-stage methods:
        ``{"train": n_epochs_}``).
    scaler_ : object
        The fitted input scaling (see ``scaling``).""",
}


def fill_shared_docs(obj):
    """Replace ``{{name}}`` lines in ``obj.__doc__`` by ``SHARED_DOCS[name]``.

    Examples
    --------
    >>> from skanomaly.utils._docstring import fill_shared_docs
    >>> class Demo:
    ...     '''Demo.
    ...
    ...     Attributes
    ...     ----------
    ...     {{fitted_attributes}}
    ...     '''
    >>> "offset_ : float" in fill_shared_docs(Demo).__doc__
    True
    """
    doc = obj.__doc__
    if doc:
        for name, text in SHARED_DOCS.items():
            doc = doc.replace("    {{" + name + "}}", text)
        obj.__doc__ = doc
    return obj
