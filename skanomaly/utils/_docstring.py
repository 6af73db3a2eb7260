"""Docstring text shared by every detector, filled in by :func:`fill_shared_docs`."""

from __future__ import annotations

SHARED_DOCS = {
    "mlp": """\
    hidden_dims : tuple of int, default=(512, 256, 128)
        Encoder widths; the last is the latent size. The decoder mirrors them.
    activation : {"leaky_relu", "sigmoid"}, default="leaky_relu"
        Activation of the hidden layers; the latent code and the output are
        sigmoids either way (the paper's network has sigmoids everywhere,
        ``activation="sigmoid"``). LeakyReLU hidden layers leave the initial
        plateau, where a sigmoid network outputs the mean sample, within the
        first hundred optimiser steps instead of hundreds to thousands (see
        docs/conventions.md, "Training budget").""",
    "pathway_score": """\
    anomaly_score : {"auto", "nap", "reconstruction", "nap+knn", \
"reconstruction+knn"}, default="auto"
        The anomaly score. ``"reconstruction"`` is the paper's: the sum of
        squared reconstruction errors. ``"nap"`` is RaPP's NAP (Kim et al.,
        ICLR 2020), a reconstruction error measured along the encoder: the
        reconstruction is encoded again, and the differences between the
        activations of ``x`` and of ``rec(x)``, layer by layer with the input
        layer first, are whitened with the mean and (shrunk) covariance of the
        training data's differences and summed. ``"...+knn"`` adds the
        distance of the latent code to its fifth nearest training code, each
        term divided by its median absolute deviation on the held-out
        calibration rows. ``"auto"``: NAP when the first hidden layer is
        narrower than the input (28x28 images and the default widths), the
        reconstruction error otherwise, plus the latent-neighbour term. Both
        choices were made on validation tasks and the tabular development
        panel (docs/conventions.md, "Anomaly score"). Every score is fitted
        at once and ``anomaly_score`` is read when scoring, so one fit gives
        all of them; the threshold is calibrated with the score chosen at
        fit, and ``predict`` raises ``ValueError`` after a change of score
        until :meth:`calibrate` is called.""",
    "latent_neighbour_attributes": """\
    latent_codes_ : ndarray of shape (n_reference, latent_size)
        The training rows' latent codes (float32), the reference set of the
        ``"...+knn"`` scores: every training row's, or those of a subset of
        20,000 rows seeded by ``random_state`` when more trained (memory and
        scoring cost stay bounded).
    score_scales_ : dict of str to float
        The spread of each score term on the held-out calibration rows (on
        the training rows with ``calibration="training"``): what a
        ``"...+knn"`` score divides each term by.""",
    "budget": """\
    max_epochs : int or "auto", default="auto"
        Training epochs. ``"auto"`` trains enough epochs for at least
        {min_steps} optimiser steps and at least 10 epochs, so that small data
        sets leave the initial plateau (50 rows: {min_steps_epochs} epochs of 7
        steps) and large ones are not over-trained (a Fashion-MNIST class of
        6,000 images: 10 epochs).
        The steps are counted for all the rows passed to ``fit``: the rows
        held out for the threshold (``calibration``) do not shorten training.
        The paper's count is in :meth:`paper_params`.
    batch_size : int or "auto", default="auto"
        Mini-batch size for training and scoring. ``"auto"``: the training
        rows divided by {batch_divisor}, between 8 and 64 (see ``batch_size_``).""",
    "budget_long": """\
    max_epochs : int or "auto", default="auto"
        Training epochs. ``"auto"`` trains enough epochs for at least 600
        optimiser steps and at least 10 epochs, so that small data sets leave
        the initial plateau (50 rows: 86 epochs of 7 steps), and trains larger
        image sets longer, up to 5,000 steps within at most 50 epochs (a
        Fashion-MNIST class of 6,000 images: 50 epochs of 94 steps; 60,000
        images: 10 epochs).
        The steps are counted for all the rows passed to ``fit``: the rows
        held out for the threshold (``calibration``) do not shorten training.
        The paper's count is in :meth:`paper_params`.
    batch_size : int or "auto", default="auto"
        Mini-batch size for training and scoring. ``"auto"``: the training
        rows divided by {batch_divisor}, between 8 and 64 (see ``batch_size_``).""",
    "device": """\
    device : str or torch.device, default="auto"
        ``"auto"`` picks CUDA, then MPS, then CPU at fit time (see ``device_``);
        any torch device string is accepted.
    amp : bool, default=False
        Mixed-precision training on CUDA: every training step (forward passes,
        losses, attacks, backward passes) runs under ``torch.autocast`` in
        bfloat16, which needs no gradient scaler; weights, optimizer states
        and scoring stay float32, and scores are float64 as always. On any
        other device ``amp=True`` changes nothing and ``fit`` warns
        (``UserWarning``). See "GPUs" in docs/scaling.md.""",
    "verbose_contamination": """\
    verbose : int, default=0
        0: silent; 1: a progress bar over epochs with the loss; 2: one line per
        epoch.
    contamination : float, default=0.1
        The share of *unseen* normal data that ``predict`` may flag (the
        false-positive rate accepted), in (0, 0.5]. ``offset_`` is calibrated
        on normal rows the networks did not train on (``calibration``), so
        that at most this share of new normal rows falls below it; it follows
        ``set_params(contamination=...)`` without refitting. Not the share of
        outliers in the training data, which is assumed normal.
    calibration : float, int or "training", default=0.2
        The training rows held out (not trained on) to calibrate ``offset_``
        and the conformal p-values: a share in (0, 1) or a number of rows,
        drawn with ``random_state``. ``"training"`` trains on every row and
        sets ``offset_`` to the ``100 * contamination`` percentile of the
        training rows' scores, as scikit-learn's and PyOD's detectors do; an
        autoencoder reconstructs its own training rows better than new ones,
        so that threshold flags more than ``contamination`` of new normal
        data. See :meth:`calibrate` to recalibrate on other normal rows.""",
    "fitted_attributes": """\
    device_ : str
        The device the net was trained on.
    n_features_in_ : int
        Number of features seen at fit.
    input_shape_ : tuple of int
        Shape of one sample: ``(C, H, W)`` for images, else ``(n_features,)``.
    offset_ : float
        The threshold on ``score_samples`` (below: outlier): the split-conformal
        threshold of ``calibration_scores_`` at ``contamination``, recomputed
        when ``contamination`` changes (``-inf``, flagging nothing, when there
        are fewer than ``1 / contamination - 1`` calibration rows).
    calibration_scores_ : ndarray of shape (n_calibration,)
        Sorted ``score_samples`` of the calibration rows.
    calibration_source_ : {"held-out", "training", "calibrate"}
        Where they come from: training rows held out at fit, the training rows
        themselves (``calibration="training"``, or too few rows to hold any
        out), or the rows given to :meth:`calibrate`.
    history_ : list of dict
        One dict per epoch, over every training stage (``epoch``, ``stage``,
        ``train_loss``, ``dur`` and the method's own losses).
    n_epochs_ : int
        Number of epochs trained, all stages together.
    batch_size_ : int
        The batch size used for training and scoring (``batch_size`` with
        ``"auto"`` resolved).
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
        # the budget's numbers are the class's own (``_auto_min_steps``,
        # ``_auto_batch_divisor``)
        min_steps = int(getattr(obj, "_auto_min_steps", 600))
        doc = doc.replace("{min_steps}", str(min_steps))
        # 50 rows at the automatic batch of 8 take 7 steps an epoch
        doc = doc.replace("{min_steps_epochs}", str(-(-min_steps // 7)))
        divisor = int(getattr(obj, "_auto_batch_divisor", 8))
        doc = doc.replace("{batch_divisor}", str(divisor))
        obj.__doc__ = doc
    return obj
