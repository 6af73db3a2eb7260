"""LISAE: latent-insensitive autoencoders and LinSep-LIS-AE (Battikh and Lenskiy, 2022)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import PassthroughScoring
from torch import Tensor, nn

from skanomaly.augment import RandomNegatives
from skanomaly.base import BaseDeepDetector, epochs_for_steps
from skanomaly.detectors._neighbours import KNN_SUFFIX, LatentNeighbourMixin
from skanomaly.losses import latent_shaping_loss, reconstruction_norm
from skanomaly.nets import ConvLISAutoencoder, MLPLISAutoencoder
from skanomaly.scores import LISAEScore
from skanomaly.training import DetectorNet, settings_from

#: the names of the two phases in ``history_`` (the paper's names)
FEATURE_EXTRACTION = "feature_extraction"
LATENT_SHAPING = "latent_shaping"

#: ``phase2_epochs="auto"``: at least this many optimiser steps...
_AUTO_PHASE2_MIN_STEPS = 300
#: ...and at least this many epochs
_AUTO_PHASE2_MIN_EPOCHS = 5
#: ``architecture="auto"`` uses the convolutional network from this image side
_AUTO_CONV_MIN_SIZE = 16
#: rows of negatives (given or generated) whose phase-1 error sets a relative gamma
_GAMMA_REFERENCE_ROWS = 4096


@dataclass(frozen=True)
class LISAESettings:
    """Training settings of :class:`LISAENet`.

    ``beta`` and ``variant`` are the :class:`LISAE` parameters of the same
    name. Derived by ``fit``: ``gamma_target``, the negatives' target error of
    the latent-shaping phase (``gamma_``; None during the first phase), and
    ``image_shape``, ``(C, H, W)`` of the samples for the built-in negatives
    (None for flat rows).
    """

    beta: float
    variant: str
    gamma_target: float | None
    image_shape: tuple[int, int, int] | None


class LISAENet(DetectorNet):
    """Trains LIS-AE's two phases on ``module_`` (E, Z, D).

    - ``stage="feature_extraction"``: the whole autoencoder minimises the mean
      ``||x_hat - x||_2`` of the positive batch. With ``variant="linsep"``, a
      logistic head on ``s = E(x)`` (the input of the latent layer) also
      learns to tell positives (1) from a batch of negatives (0), by binary
      cross-entropy of weight 1; the head lives only during this phase (it is
      created in ``on_train_begin`` and dropped in ``on_train_end``, so it is
      neither registered nor pickled).
    - ``stage="latent_shaping"``: only the latent layer ``module_.latent``
      trains (``optimizer_`` holds only its weight and bias, and the rest of
      the network has ``requires_grad`` off during the phase); each positive
      batch is paired with as many negatives, and the step minimises
      :func:`~skanomaly.losses.latent_shaping_loss`.

    The negatives of a step are drawn at random (with replacement) from the
    pool the estimator lends the net for the fit (``X_negative``), or made
    from the positive batch by :class:`~skanomaly.augment.RandomNegatives`
    when there is no pool. Every batch records ``positive_error`` and, when
    negatives are used, ``negative_error`` (mean norms) and, for LinSep,
    ``separation_loss``; ``history_`` holds their epoch means.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`~skanomaly.training.DetectorNet`, including
        ``settings``, a :class:`LISAESettings`.
    """

    _separation: list | None = None

    @property
    def _default_callbacks(self):
        names = ("positive_error", "negative_error", "separation_loss")
        extra = [(name, PassthroughScoring(name=name, on_train=True)) for name in names]
        return [*super()._default_callbacks, *extra]

    # -------------------------------------------------------------- set-up
    def initialize_optimizer(self, *args, **kwargs):
        """``optimizer_`` over the whole autoencoder, or over Z only when shaping."""
        module = self.module_
        latent_only = self.stage == LATENT_SHAPING
        named = (module.latent if latent_only else module).named_parameters()
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*opt_args, **opt_kwargs)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        module = self.module_
        if self.stage == LATENT_SHAPING:
            for name, param in module.named_parameters():
                param.requires_grad_(name.startswith("latent."))
        elif self.settings.variant == "linsep":
            head = nn.Linear(module.feature_dim, 1).to(self.device)
            optimizer = torch.optim.Adam(head.parameters(), lr=self.lr)
            # a plain list, so that skorch does not register (or pickle) the
            # head and its optimizer
            self._separation = [head, optimizer]

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        for param in self.module_.parameters():
            param.requires_grad_(True)
        self._separation = None

    # ---------------------------------------------------------- negatives
    def negatives_for(self, x: Tensor, pool: Tensor | None = None) -> Tensor:
        """A batch of negatives as large as ``x``: drawn from ``pool``, or made."""
        if pool is None:
            return RandomNegatives(self.settings.image_shape)(x)
        index = torch.randint(len(pool), (len(x),)).to(pool.device)
        return pool[index].to(x.device)

    # --------------------------------------------------------------- step
    def train_step(self, batch, negative_pool=None, **fit_params):
        """One step of the current phase (see the class docstring).

        ``negative_pool`` is the stage's data beside its batches (the fit
        parameter of ``_train_stage``): a tensor of negatives to draw from,
        or None to make them from the batch.
        """
        self._set_training(True)
        x = self.batch_input(batch)
        if self.stage == LATENT_SHAPING:
            loss, output = self._shaping_loss(x, negative_pool)
            optimizers = [self.optimizer_]
        else:
            loss, output = self._feature_loss(x, negative_pool)
            optimizers = [self.optimizer_]
            if self._separation is not None:
                optimizers.append(self._separation[1])
        self.step_optimizers(loss, optimizers, batch)
        return {"loss": loss.detach(), "y_pred": output.detach()}

    def _feature_loss(self, x: Tensor, pool: Tensor | None):
        module = self.module_
        if self._separation is None:
            output = module(x)
            positive_error = reconstruction_norm(output, x)
            loss = positive_error.mean()
        else:
            head = self._separation[0]
            negatives = self.negatives_for(x, pool)
            s_pos, s_neg = module.features(x), module.features(negatives)
            output = module.decode(torch.tanh(module.latent(s_pos))).reshape(x.shape)
            positive_error = reconstruction_norm(output, x)
            logits = head(torch.cat([s_pos, s_neg])).squeeze(1)
            target = torch.cat([torch.ones(len(x)), torch.zeros(len(negatives))])
            separation = F.binary_cross_entropy_with_logits(
                logits, target.to(logits.device)
            )
            loss = positive_error.mean() + separation
            self.history.record_batch("separation_loss", separation.item())
        self.history.record_batch("positive_error", positive_error.mean().item())
        return loss, output

    def _shaping_loss(self, x: Tensor, pool: Tensor | None):
        module = self.module_
        negatives = self.negatives_for(x, pool)
        with torch.no_grad():  # E is frozen
            s_pos, s_neg = module.features(x), module.features(negatives)
        output = module.decode(torch.tanh(module.latent(s_pos))).reshape(x.shape)
        rec_neg = module.decode(torch.tanh(module.latent(s_neg))).reshape(
            negatives.shape
        )
        positive_error = reconstruction_norm(output, x)
        negative_error = reconstruction_norm(rec_neg, negatives)
        settings = self.settings
        loss = latent_shaping_loss(
            positive_error, negative_error, settings.beta, settings.gamma_target
        )
        self.history.record_batch("positive_error", positive_error.mean().item())
        self.history.record_batch("negative_error", negative_error.mean().item())
        return loss, output


class LISAE(LatentNeighbourMixin, BaseDeepDetector):
    """Latent-insensitive autoencoder novelty detector (LIS-AE), with LinSep-LIS-AE.

    An autoencoder ``x -> s = E(x) -> z = tanh(Z s) -> D(z)`` whose latent
    layer ``Z`` (one fully connected layer followed by tanh) is shaped with
    negative examples so that the network reconstructs the normal data only.
    Training has two phases, both in ``history_``:

    1. *feature extraction* (``max_epochs``): the whole autoencoder minimises
       ``||x_hat - x||_2`` on the normal samples (positives);
    2. *latent shaping* (``phase2_epochs``): everything but ``Z`` is frozen,
       and ``Z`` minimises ``||x_hat+ - x+||_2 + beta * |gamma - ||x_hat- -
       x-||_2|`` on paired batches of positives and negatives: the positives'
       error stays low while the negatives' rises to ``gamma``.

    ``variant="linsep"`` (LinSep-LIS-AE) adds, in phase 1, a logistic head on
    ``s`` (before the latent non-linearity) that separates positives from
    negatives by binary cross-entropy, so that phase 2 finds them linearly
    separable; the head is dropped after phase 1. The anomaly score is the
    reconstruction error ``||x_hat - x||_2``; ``score_samples`` returns its
    opposite.

    Negatives come from ``fit(X, X_negative=...)``: any number of rows with
    ``X``'s features, validated and scaled like ``X``. Wrap them in
    :class:`~skanomaly.Negatives` for searches and cross-validation, which
    would otherwise slice an ``X_negative`` as long as ``X`` fold by fold.
    Without them (``X_negative`` absent or None), pseudo-anomalies are made
    from each training batch by :class:`~skanomaly.augment.RandomNegatives`:
    each positive with its parts rearranged (the 2x2 tiles of an image, the
    features of a row), like the normal data in its parts, not in its whole.

    Read more in the :ref:`user guide <lis_ae>`, in docs/lis_ae.md and in
    Battikh and Lenskiy (2022).

    Parameters
    ----------
    latent_dim : int, default=32
        Size of the code ``z`` (the paper tunes it per data set and does not
        report it; 32 is the design notes' choice for 28 px images).
    width : int, default=32
        Width of the network. Convolutional: channels of the two convolutions
        ``width`` and ``2 * width`` (the design notes: 32 for MNIST-like
        images, 64 for 32x32 colour images). Fully connected: hidden layers
        of ``4 * width`` and ``2 * width`` units.
    architecture : {"auto", "conv", "mlp"}, default="auto"
        ``"conv"``: the paper's convolutional network, for images with both
        sides of at least 8 px (:class:`~skanomaly.nets.ConvLISAutoencoder`);
        ``"mlp"``: fully connected (:class:`~skanomaly.nets.MLPLISAutoencoder`).
        ``"auto"``: convolutional for images with both sides of at least 16
        px (``input_shape``, or 3-D/4-D input: MNIST, CIFAR-10), fully
        connected for rows and smaller images (on 8x8 digits the MLP takes a
        fifth of the time per step and scores as well).
    variant : {"lis", "linsep"}, default="lis"
        ``"lis"``: LIS-AE; ``"linsep"``: LinSep-LIS-AE, with the separating
        head in phase 1 (which then needs negatives too).
    beta : float, default=1.0
        Weight of the negatives' term in phase 2 (not reported by the paper).
    gamma : float, default=1.25
        The negatives' target error in phase 2 (not reported by the paper).
        With ``gamma_mode="relative"``, a multiple of the negatives' mean
        error ``||x_hat- - x-||_2`` after phase 1 (1.25: a quarter above what
        the plain autoencoder gives them; chosen on validation tasks, see
        docs/lis_ae.md); with ``"absolute"``, the target itself, in the units
        of the scaled input. The target used is ``gamma_``.
    gamma_mode : {"relative", "absolute"}, default="relative"
        How ``gamma`` is read. Relative makes one value fit any image size,
        number of features and scaling.
    phase2_epochs : int or "auto", default="auto"
        Epochs of the latent-shaping phase (``max_epochs`` are those of phase
        1); an epoch is one pass over the positives. 0 skips the phase and
        leaves the plain phase-1 autoencoder. ``"auto"``: enough epochs for
        300 optimiser steps, and at least 5.
    anomaly_score : {"auto", "reconstruction", "reconstruction+knn"}, \
default="auto"
        The anomaly score. ``"reconstruction"`` is the paper's,
        ``||x_hat - x||_2``. ``"reconstruction+knn"`` adds the distance of the
        latent code to its fifth nearest training code, each term divided by
        its median absolute deviation on the held-out calibration rows.
        ``"auto"``: ``"reconstruction+knn"`` (chosen on the tabular
        development panel and on image validation tasks: docs/conventions.md,
        "Anomaly score"). Both are fitted at once; see :class:`DenoisingAE`
        for what a change after ``fit`` needs.
    {{budget}}
    lr : float, default=1e-3
        Adam learning rate of both phases (a fresh Adam for phase 2).
    scaling : {"auto", "feature", "global", "none"}, default="auto"
        How inputs (and negatives) are mapped to [0, 1] for the sigmoid
        output, learned on ``X`` at fit. ``"auto"`` leaves data already in [0,
        1] (images) unchanged and scales anything else per feature by its
        training min and max; ``"global"`` uses one min and max; ``"none"``
        never scales. Values outside the training range are not clipped.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the draws of negatives and
        the built-in negatives. The global random state is never changed.
    {{verbose_contamination}}
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of one image when ``X`` holds flattened images: it lets
        ``architecture="auto"`` pick the convolutional network.

    Attributes
    ----------
    net_ : LISAENet
        The trained skorch net; its ``module_`` is a
        :class:`~skanomaly.nets.ConvLISAutoencoder` or
        :class:`~skanomaly.nets.MLPLISAutoencoder` (``module_.latent`` is Z).
    architecture_ : str
        ``"conv"`` or ``"mlp"``, the network used.
    n_negatives_ : int
        Number of negative examples ``fit`` received (0: built-in negatives
        were made from the training batches).
    gamma_ : float or None
        The negatives' target error of phase 2 (None when phase 2 did not
        run).
    latent_phase1_ : dict of str to Tensor
        ``Z``'s weight and bias after phase 1 (on the CPU): loaded into
        ``net_.module_.latent`` of a copy they give back the plain
        autoencoder, the paper's "AE" baseline, from the same fit.
    {{latent_neighbour_attributes}}
    {{fitted_attributes}}

    See Also
    --------
    Negatives : carries negatives whole through searches and cross-validation.
    DenoisingAE : a plain MLP autoencoder baseline.

    Notes
    -----
    A phase-2 step costs about twice a phase-1 step's forward pass (positives
    and negatives) but trains only ``Z``. With ``variant="linsep"`` every
    phase-1 step encodes a batch of negatives too.

    Deviations and choices (the paper leaves them open; see docs/lis_ae.md):
    the losses are per-sample Euclidean norms averaged over the batch; He
    initialisation (torch's default leaves the network on the mean-image
    plateau for hundreds of steps); built-in negatives when none are given;
    ``gamma`` relative, 1.25, by default; phase 2 uses a fresh Adam over
    ``Z``; a phase-2 epoch is a pass over the positives, each batch paired
    with as many negatives drawn at random (with replacement) from
    ``X_negative``.

    References
    ----------
    .. [1] M. S. Battikh and A. A. Lenskiy, "Latent-insensitive autoencoders
       for anomaly detection", Mathematics 10(1), 112, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import LISAE, Negatives
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0.4, 0.6, size=(64, 8))
    >>> X_neg = rng.uniform(0, 1, size=(32, 8))
    >>> det = LISAE(latent_dim=4, width=8, max_epochs=4, phase2_epochs=2,
    ...             random_state=0, device="cpu")
    >>> det.fit(X, X_negative=Negatives(X_neg)).n_epochs_per_stage_
    {'feature_extraction': 4, 'latent_shaping': 2}
    >>> det.predict(np.array([[0.5] * 8, [5.0] * 8]))
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseDeepDetector._parameter_constraints,
        "amp": ["boolean"],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions({"auto", "conv", "mlp"})],
        "variant": [StrOptions({"lis", "linsep"})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "gamma_mode": [StrOptions({"relative", "absolute"})],
        "phase2_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "anomaly_score": [
            StrOptions({"auto", "reconstruction", "reconstruction" + KNN_SUFFIX})
        ],
    }
    _net_class = LISAENet
    _fit_arrays = ("X_negative",)
    _paper_params = {
        # the paper reports none of these; the design notes (methods.md, 3)
        # fix them: its MNIST network, latent 32, Adam 1e-3, 30 + 20 epochs of
        # batch 128, beta 1, gamma twice the phase-1 error on negatives; wider
        # networks and a larger latent for 32x32 colour images
        dataset: {
            "architecture": "conv",
            "latent_dim": latent_dim,
            "width": width,
            "beta": 1.0,
            "gamma": 2.0,
            "gamma_mode": "relative",
            "max_epochs": 30,
            "phase2_epochs": 20,
            "anomaly_score": "reconstruction",
            "batch_size": 128,
            "lr": 1e-3,
        }
        for dataset, latent_dim, width in (
            ("mnist", 32, 32),
            ("fashion-mnist", 32, 32),
            ("cifar-10", 128, 64),
            ("svhn", 128, 64),
        )
    }

    def __init__(
        self,
        *,
        latent_dim=32,
        width=32,
        architecture="auto",
        variant="lis",
        beta=1.0,
        gamma=1.25,
        gamma_mode="relative",
        phase2_epochs="auto",
        anomaly_score="auto",
        max_epochs="auto",
        batch_size="auto",
        lr=1e-3,
        scaling="auto",
        device="auto",
        amp=False,
        random_state=None,
        verbose=0,
        contamination=0.1,
        calibration=0.2,
        input_shape=None,
    ):
        self.latent_dim = latent_dim
        self.width = width
        self.architecture = architecture
        self.variant = variant
        self.beta = beta
        self.gamma = gamma
        self.gamma_mode = gamma_mode
        self.phase2_epochs = phase2_epochs
        self.anomaly_score = anomaly_score
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.scaling = scaling
        self.device = device
        self.amp = amp
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination
        self.calibration = calibration
        self.input_shape = input_shape

    # ------------------------------------------------------------------ fit
    def _resolve_architecture(self, input_shape) -> str:
        is_image = (
            len(input_shape) == 3
            and min(input_shape[1:]) >= ConvLISAutoencoder.min_size
        )
        if self.architecture == "auto":
            large = is_image and min(input_shape[1:]) >= _AUTO_CONV_MIN_SIZE
            return "conv" if large else "mlp"
        if self.architecture == "conv" and not is_image:
            raise ValueError(
                f"architecture='conv' needs images (C, H, W) with sides of at least "
                f"{ConvLISAutoencoder.min_size} px; the samples have shape "
                f"{tuple(input_shape)}. Pass input_shape=(C, H, W) or 3-D/4-D input, "
                "or use architecture='mlp'."
            )
        return self.architecture

    def _phase2_epochs(self, ctx) -> int:
        if self.phase2_epochs != "auto":
            return int(self.phase2_epochs)
        return epochs_for_steps(
            len(ctx.X), ctx.batch_size, _AUTO_PHASE2_MIN_STEPS, _AUTO_PHASE2_MIN_EPOCHS
        )

    def _derive_facts(self, ctx):
        return {"architecture": self._resolve_architecture(ctx.input_shape)}

    def _build_module(self, ctx):
        if ctx.facts["architecture"] == "conv":
            return ConvLISAutoencoder(ctx.input_shape, self.latent_dim, self.width)
        return MLPLISAutoencoder(ctx.n_features, self.latent_dim, self.width)

    def _net_kwargs(self, ctx):
        shape = tuple(ctx.input_shape)
        image_shape = shape if len(shape) == 3 and min(shape[1:]) >= 2 else None
        settings = settings_from(
            self, LISAESettings, gamma_target=None, image_shape=image_shape
        )
        return {"settings": settings}

    def _fit_stages(self, ctx):
        negatives = ctx.arrays.get("X_negative")
        self.n_negatives_ = 0 if negatives is None else int(len(negatives))
        phase2_epochs = self._phase2_epochs(ctx)
        self.net_ = net = self._make_net(ctx)
        pool = None
        if negatives is not None and (phase2_epochs > 0 or self.variant == "linsep"):
            pool = torch.as_tensor(negatives, device=ctx.device)
        self._train_stage(ctx, FEATURE_EXTRACTION, ctx.X, negative_pool=pool)
        latent = net.module_.latent
        self.latent_phase1_ = {
            key: value.detach().cpu().clone()
            for key, value in latent.state_dict().items()
        }
        self.gamma_ = None
        if phase2_epochs == 0:
            return
        self.gamma_ = self._gamma_target(ctx, pool)
        net.set_params(
            stage=LATENT_SHAPING,
            settings=dataclasses.replace(net.settings, gamma_target=self.gamma_),
        )
        net.initialize_optimizer()
        self._train_stage(
            ctx,
            LATENT_SHAPING,
            ctx.X,
            max_epochs=phase2_epochs,
            negative_pool=pool,
        )

    def _gamma_target(self, ctx, pool) -> float:
        """``gamma_``: ``gamma``, or ``gamma`` times the negatives' phase-1 error."""
        if self.gamma_mode == "absolute":
            return float(self.gamma)
        net = self.net_
        n_rows = min(len(ctx.X) if pool is None else len(pool), _GAMMA_REFERENCE_ROWS)
        # the first rows of the pool, or negatives made from the first positives
        if pool is None:
            source = torch.as_tensor(ctx.X[:n_rows], device=ctx.device)
            negatives = torch.cat(
                [
                    net.negatives_for(chunk, pool)
                    for chunk in source.split(ctx.batch_size)
                ]
            )
        else:
            negatives = pool[:n_rows]
        module = net.module_
        with self._evaluating():
            errors = torch.cat(
                [
                    reconstruction_norm(module(chunk), chunk)
                    for chunk in negatives.split(256)
                ]
            )
        mean_error = float(errors.double().mean())
        if not math.isfinite(mean_error):
            raise ValueError("the negatives' reconstruction error is not finite.")
        return float(self.gamma) * mean_error

    # -------------------------------------------------------------- scoring
    def _base_score(self, name: str):
        # the paper's score, ``||x_hat - x||_2`` (the only one of its own)
        return LISAEScore(self.net_.module_)
