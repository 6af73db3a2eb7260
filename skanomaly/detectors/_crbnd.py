"""CRBND: connective reconstruction-based novelty detection (Hashemi et al., 2022)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import Tensor

from skanomaly.augment import coarse_dropout, gaussian_noise, random_motion_blur
from skanomaly.base import BaseDeepDetector, epochs_for_steps
from skanomaly.detectors._neighbours import KNN_SUFFIX, LatentNeighbourMixin
from skanomaly.losses import charbonnier_mean
from skanomaly.nets import ConnectiveClassifier, ResidualAutoencoder
from skanomaly.scores import ConnectiveScore, ReconstructionErrorScore, connective
from skanomaly.training import DetectorNet, settings_from
from skanomaly.utils._streaming import StreamedNetInput, StreamedRows

#: the names of the two stages in ``history_``
RECONSTRUCT = "reconstruct"
CLASSIFY = "classify"

#: ``classifier_epochs="auto"``: at least this many optimiser steps...
_AUTO_CLASSIFIER_MIN_STEPS = 100
#: ...and at least this many passes over the connective samples
_AUTO_CLASSIFIER_MIN_EPOCHS = 3
#: the Charbonnier loss's epsilon (the authors' code)
_CHARBONNIER_EPSILON = 1e-3


def _unchanged(rows: np.ndarray) -> np.ndarray:
    """The connective samples on disk are net-ready already: no scaling."""
    return rows


@dataclass(frozen=True)
class CRBNDSettings:
    """Training settings of :class:`CRBNDNet`.

    Each field is the :class:`CRBND` parameter of the same name, except
    ``input_shape``, ``(C, H, W)`` of one image (derived by ``fit``).
    """

    input_shape: tuple[int, int, int]
    classifier_width: int
    augmentation_copies: int
    motion_blur_length: int
    noise_std: float
    coarse_dropout: tuple


class CRBNDNet(DetectorNet):
    """Trains CRBND's reconstructor (``module_``), then its classifier (``classifier_``).

    - ``stage="reconstruct"``: each positive batch ``x`` is repeated
      ``augmentation_copies`` times; every copy of every image gets one of the
      corruptions below, and ``module_`` minimises the mean Charbonnier error
      between its reconstruction of the corrupted copies and the clean ``x``.
      The corruptions are clean (none), motion blur (``motion_blur_length``,
      random angle and direction), Gaussian noise (a standard deviation drawn
      uniformly in ``[0, noise_std]`` per image), and one coarse dropout per
      ``(p, size_fraction)`` pair of ``coarse_dropout``. Image ``i`` starts at a
      random corruption ``r_i`` and its copy ``j`` gets corruption ``(r_i + j)
      mod K``: with as many copies as corruptions (the authors' 5) every image
      gets each one once, with one copy a corruption at random.
    - ``stage="classify"``: ``classifier_`` (its own Adam, ``classifier_lr``)
      learns the connective samples' labels (0 positive, 1 negative) by binary
      cross-entropy; the reconstructor is not used (the samples were built
      from it beforehand).

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`~skanomaly.training.DetectorNet`, including
        ``settings``, a :class:`CRBNDSettings`.
    """

    def initialize_module(self):
        super().initialize_module()
        settings = self.settings
        self.classifier_ = ConnectiveClassifier(
            settings.input_shape, settings.classifier_width
        )
        return self

    def initialize_optimizer(self, *args, **kwargs):
        named = self.module_.named_parameters()
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*opt_args, **opt_kwargs)
        # skorch's routing: optimizer_classifier__lr and the like
        opt_args, opt_kwargs = self.get_params_for_optimizer(
            "optimizer_classifier", self.classifier_.named_parameters()
        )
        self.optimizer_classifier_ = self.optimizer_classifier(*opt_args, **opt_kwargs)
        return self

    @property
    def n_corruptions(self) -> int:
        """Number of corruption kinds: clean, blur, noise and each coarse dropout."""
        return 3 + len(self.settings.coarse_dropout)

    def corrupt(self, x: Tensor, kinds: Tensor) -> Tensor:
        """Images ``x`` with corruption ``kinds[i]`` applied to image ``i``.

        Kind 0 leaves the image, 1 is motion blur, 2 Gaussian noise, ``3 + k``
        the ``k``-th coarse dropout of the settings.
        """
        settings = self.settings
        out = x.clone()
        for kind in range(1, self.n_corruptions):
            rows = (kinds == kind).nonzero().squeeze(1).to(x.device)
            if len(rows) == 0:
                continue
            images = x[rows]
            if kind == 1:
                images = random_motion_blur(images, settings.motion_blur_length)
            elif kind == 2:
                std = torch.rand(len(rows)) * settings.noise_std
                images = gaussian_noise(images, std)
            else:
                p, size_fraction = settings.coarse_dropout[kind - 3]
                images = coarse_dropout(images, p, size_fraction)
            out[rows] = images
        return out

    def corrupted_views(self, x: Tensor) -> Tensor:
        """``augmentation_copies`` corrupted copies of the batch, copy after copy."""
        copies = self.settings.augmentation_copies
        start = torch.randint(self.n_corruptions, (len(x),))
        kinds = torch.cat([(start + j) % self.n_corruptions for j in range(copies)])
        return self.corrupt(x.repeat(copies, 1, 1, 1), kinds)

    def train_step(self, batch, **fit_params):
        """One step of the current stage (see the class docstring)."""
        self._set_training(True)
        x = self.batch_input(batch)
        if self.stage == CLASSIFY:
            optimizer = self.optimizer_classifier_
            output = self.classifier_(x)
            target = torch.as_tensor(batch[1], device=self.device, dtype=output.dtype)
            loss = F.binary_cross_entropy_with_logits(output, target)
        else:
            optimizer = self.optimizer_
            views = self.corrupted_views(x)
            output = self.module_(views)
            copies = self.settings.augmentation_copies
            targets = x.repeat(copies, 1, 1, 1)
            loss = charbonnier_mean(output, targets, _CHARBONNIER_EPSILON).mean()
        self.step_optimizers(loss, [optimizer], batch)
        return {"loss": loss.detach(), "y_pred": output.detach()}


class CRBND(LatentNeighbourMixin, BaseDeepDetector):
    """Connective reconstruction-based novelty detection (CRBND), for images.

    Two networks, trained one after the other (both stages in ``history_``):

    1. *reconstruct* (``max_epochs``): an encoder-decoder ``A`` with short
       residual skips and no long U-Net skips
       (:class:`~skanomaly.nets.ResidualAutoencoder`) learns to give back the
       clean images from corrupted copies (motion blur, Gaussian noise, coarse
       dropout, or none), with the Charbonnier loss;
    2. *classify* (``classifier_epochs``): a small CNN
       (:class:`~skanomaly.nets.ConnectiveClassifier`) learns to tell
       *connective positives* ``lambda_ * x + (1 - lambda_) * A(x)`` (label 0)
       from *connective negatives* ``lambda_ * x + (1 - lambda_) * d`` (label
       1), where ``d`` is a distorted image: ``A(x)`` or ``x`` (``distortion_source``)
       with motion blur or Gaussian noise (``negative_distortion``). One of
       each per training image, so the classes are balanced.

    The paper's anomaly score of ``x`` is the classifier's log-odds that
    ``lambda_ * x + (1 - lambda_) * A(x)`` is a negative
    (``anomaly_score="classifier"``); the reconstructor's own squared error
    (``anomaly_score="reconstruction"``) is its ablation. The default adds to
    the classifier's log-odds the distance of the reconstructor's code to its
    fifth nearest training code (``"classifier+knn"``). ``score_samples``
    returns the opposite of the score. ``anomaly_score`` is read when
    scoring, so one fit gives every score.

    Read more in the :ref:`user guide <crbnd>`, in docs/crbnd.md and in
    Hashemi et al. (2022).

    Parameters
    ----------
    lambda_ : float, default=0.5
        Weight of the input image in a connective sample (the paper's 0.5).
    width : int, default=16
        Channels of the reconstructor's first convolution; its blocks have 2,
        4 and 8 times as many (the paper: 32).
    latent_dim : int, default=256
        Size of the reconstructor's code (the paper's 256).
    classifier_width : int, default=32
        Channels of the classifier's first convolution (the paper's 32: then
        64 channels and dense layers of 256 and 128 units).
    augmentation_copies : int, default=1
        Corrupted copies of each image per reconstruction step (the authors'
        code: 5, one per corruption). An epoch then costs as many passes.
    motion_blur_length : int, default=9
        Length in pixels (odd) of the motion blur that corrupts training
        copies (the authors' 10; kornia's kernels have odd lengths).
    noise_std : float, default=0.2
        Gaussian noise in [0, 1] pixel units: training copies draw their
        standard deviation uniformly in ``[0, noise_std]`` (the authors' code
        meant U(0, 0.2) but added it in 0-255 units to [0, 1] images, which made
        that copy pure noise); noisy negatives use ``noise_std`` itself.
    coarse_dropout : tuple of (float, float) pairs, default=((0.5, 0.4), (0.7, 0.6))
        One corruption per pair ``(p, size_fraction)``: cells of a grid with
        ``ceil(size_fraction * side)`` cells per side are zeroed with
        probability ``p`` (the authors' two imgaug ``CoarseDropout``).
    negative_distortion : {"blur_or_noise", "blur", "noise"}, default="blur_or_noise"
        How a connective negative's image is distorted: motion blur of length
        ``negative_blur_length`` or Gaussian noise, one of the two at random
        per image (the paper's text: "one of the two operations, motion blur
        and Gaussian noise"), or always the one named (the authors' code:
        blur). Blur alone scores higher on image validation tasks, but its
        classifier learns that sharp images are normal and ranks noise-like
        anomalies as the most normal of all (see the :ref:`user guide <crbnd>`).
    negative_blur_length : int, default=5
        Length in pixels (odd) of the negatives' motion blur (the authors' 5).
    distortion_source : {"reconstruction", "input"}, default="reconstruction"
        What is distorted for a negative: the reconstruction ``A(x)`` (the
        paper's Fig. 2-c and its text) or the input ``x`` (the authors' code).
    classifier_epochs : int or "auto", default="auto"
        Passes of the classifier over the connective samples (the paper: 100).
        ``"auto"``: enough for 100 optimiser steps, and at least 3.
    classifier_lr : float, default=1e-3
        Adam learning rate of the classifier (the paper's 1e-3).
    anomaly_score : {"auto", "classifier", "reconstruction", "classifier+knn", \
"reconstruction+knn"}, default="auto"
        The anomaly score (see above); read when scoring. ``"...+knn"`` adds
        the distance of the reconstructor's code to its fifth nearest
        training code, each term divided by its median absolute deviation on
        the held-out calibration rows. ``"auto"``: ``"classifier+knn"``
        (chosen on image validation tasks: docs/crbnd.md, "Scoring").
        ``paper_params`` use ``"classifier"``. (Not named ``score``:
        scikit-learn's searches call an estimator's ``score``.)
    {{budget}}
    lr : float, default=1e-3
        Adam learning rate of the reconstructor (the paper: 1e-4).
    scaling : {"auto", "feature", "global", "none"}, default="auto"
        How inputs are mapped to [0, 1] for the sigmoid output and the
        distortions, learned at fit. ``"auto"`` leaves data already in [0, 1]
        unchanged and scales anything else per feature by its training min and
        max; ``"global"`` uses one min and max; ``"none"`` never scales.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and every corruption
        and distortion. The global random state is never changed.
    {{verbose_contamination}}
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of one image when ``X`` holds flattened images (needed
        then: CRBND works on images).

    Attributes
    ----------
    net_ : CRBNDNet
        The trained skorch net: ``module_`` is the reconstructor (a
        :class:`~skanomaly.nets.ResidualAutoencoder`), ``classifier_`` the
        classifier (a :class:`~skanomaly.nets.ConnectiveClassifier`).
    classifier_train_accuracy_ : float
        The classifier's accuracy on its own training samples after the last
        epoch (near 1: the distortions are easy to see; much lower: it did
        not learn them).
    {{latent_neighbour_attributes}}
    {{fitted_attributes}}

    See Also
    --------
    DenoisingAE : the reconstruction-error baseline.
    PuzzleAE : another image-only detector with a second network.

    Notes
    -----
    Cost: a reconstruction step runs the reconstructor on ``batch_size *
    augmentation_copies`` images (about 10 MMAC an image forward at
    ``width=16`` on 28 px images, 40 at 32); the connective samples take one
    pass of the reconstructor over the training set; the classifier is cheap.
    Scoring runs both networks; the default score also compares each code
    with the training codes (one matrix product).

    Streamed training data (a memmap or a torch ``Dataset``) is read a batch at
    a time in both stages. The classifier's training set, twice the training
    data as float32, is then written batch by batch to a temporary ``.npy``
    file in Python's temporary directory (``tempfile.gettempdir()``, set by
    ``TMPDIR``) and read back a batch at a time; the file is removed when
    ``fit`` ends, whether it succeeds or raises. The same data in memory
    trains on the same samples in memory, with the same results bit for bit.

    Deviations from the authors' code (see docs/crbnd.md): no checkpoint is
    chosen on test data (their autoencoder was picked by AUC on a test
    subset): the last epoch is kept; the noise copy in [0, 1] units; images
    padded to sides that are multiples of 16 instead of resized to 32 px;
    "same" convolutions in the classifier; the default negatives follow the
    paper's text (distorted reconstructions, blur or noise; the code blurs the
    input).

    References
    ----------
    .. [1] S. Hashemi, Z. Aliniya and P. Razzaghi, "Connective reconstruction-
       based novelty detection", arXiv:2210.13917, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import CRBND
    >>> rng = np.random.RandomState(0)
    >>> ramp = np.linspace(0, 1, 64).reshape(1, 8, 8)
    >>> X = rng.uniform(0.2, 1, size=(64, 1, 1, 1)) * ramp  # 64 images 8x8
    >>> det = CRBND(width=2, latent_dim=8, classifier_width=4, max_epochs=10,
    ...             classifier_epochs=2, batch_size=16, lr=1e-2, random_state=0,
    ...             device="cpu")
    >>> det.fit(X).n_epochs_per_stage_
    {'reconstruct': 10, 'classify': 2}
    >>> normal, reversed_ramp = det.score_samples(np.stack([X[0], 1 - X[0]]))
    >>> bool(reversed_ramp < normal)  # the reversed ramp is less normal
    True
    """

    _parameter_constraints: dict = {
        **BaseDeepDetector._parameter_constraints,
        "amp": ["boolean"],
        "lambda_": [Interval(Real, 0, 1, closed="neither")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "classifier_width": [Interval(Integral, 1, None, closed="left")],
        "augmentation_copies": [Interval(Integral, 1, None, closed="left")],
        "motion_blur_length": [Interval(Integral, 3, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "coarse_dropout": [tuple, list],
        "negative_distortion": [StrOptions({"blur_or_noise", "blur", "noise"})],
        "negative_blur_length": [Interval(Integral, 3, None, closed="left")],
        "distortion_source": [StrOptions({"reconstruction", "input"})],
        "classifier_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "classifier_lr": [Interval(Real, 0, None, closed="neither")],
        "anomaly_score": [
            StrOptions(
                {
                    "auto",
                    "classifier",
                    "reconstruction",
                    "classifier" + KNN_SUFFIX,
                    "reconstruction" + KNN_SUFFIX,
                }
            )
        ],
    }
    _requires_image = True
    #: small data trains 100 steps, not 600 (the small-images-validation
    #: benchmark: a higher mean AUC on 500 images in a fifth of the time of
    #: 600 + 300 steps)
    _auto_min_steps = 100
    _net_class = CRBNDNet
    _paper_params = {
        # the authors' code (model.py, train.py; methods.md, 4): width 32,
        # latent 256, Adam 1e-4 and 100 epochs of batch 128 for the
        # autoencoder on its five copies, the classifier Adam 1e-3 for 100
        # epochs; the negatives' source as the paper's text says
        "mnist": {
            "width": 32,
            "latent_dim": 256,
            "classifier_width": 32,
            "augmentation_copies": 5,
            "motion_blur_length": 9,
            "noise_std": 0.2,
            "coarse_dropout": ((0.5, 0.4), (0.7, 0.6)),
            "negative_distortion": "blur_or_noise",
            "negative_blur_length": 5,
            "distortion_source": "reconstruction",
            "lambda_": 0.5,
            "max_epochs": 100,
            "classifier_epochs": 100,
            "batch_size": 128,
            "lr": 1e-4,
            "classifier_lr": 1e-3,
            "anomaly_score": "classifier",
        },
    }

    def __init__(
        self,
        *,
        lambda_=0.5,
        width=16,
        latent_dim=256,
        classifier_width=32,
        augmentation_copies=1,
        motion_blur_length=9,
        noise_std=0.2,
        coarse_dropout=((0.5, 0.4), (0.7, 0.6)),
        negative_distortion="blur_or_noise",
        negative_blur_length=5,
        distortion_source="reconstruction",
        classifier_epochs="auto",
        classifier_lr=1e-3,
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
        self.lambda_ = lambda_
        self.width = width
        self.latent_dim = latent_dim
        self.classifier_width = classifier_width
        self.augmentation_copies = augmentation_copies
        self.motion_blur_length = motion_blur_length
        self.noise_std = noise_std
        self.coarse_dropout = coarse_dropout
        self.negative_distortion = negative_distortion
        self.negative_blur_length = negative_blur_length
        self.distortion_source = distortion_source
        self.classifier_epochs = classifier_epochs
        self.classifier_lr = classifier_lr
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

    # ----------------------------------------------------------- checking
    def _check_method_params(self):
        for name in ("motion_blur_length", "negative_blur_length"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(
                    f"{name} must be odd (a motion-blur kernel has a centre pixel); "
                    f"got {getattr(self, name)}."
                )
        pairs = self.coarse_dropout
        valid = all(
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(v, Real) and not isinstance(v, bool) for v in pair)
            and 0 <= pair[0] <= 1
            and 0 < pair[1] <= 1
            for pair in pairs
        )
        if not valid:
            raise ValueError(
                "coarse_dropout must be a tuple of (p, size_fraction) pairs with p "
                f"in [0, 1] and size_fraction in (0, 1]; got {pairs!r}."
            )

    # ------------------------------------------------------------ building
    def _build_module(self, ctx):
        return ResidualAutoencoder(ctx.input_shape, self.width, self.latent_dim)

    def _net_kwargs(self, ctx):
        settings = settings_from(
            self,
            CRBNDSettings,
            input_shape=tuple(int(s) for s in ctx.input_shape),
            coarse_dropout=tuple(
                tuple(float(v) for v in p) for p in self.coarse_dropout
            ),
        )
        return {
            "settings": settings,
            "optimizer_classifier": torch.optim.Adam,
            "optimizer_classifier__lr": self.classifier_lr,
        }

    # ----------------------------------------------------------------- fit
    def _fit_stages(self, ctx):
        self.net_ = self._make_net(ctx)
        self._train_stage(ctx, RECONSTRUCT, ctx.X)
        if not isinstance(ctx.X, StreamedNetInput):
            X_connective, y_connective = self._connective_samples(ctx.X)
            self._train_classifier(ctx, X_connective, y_connective)
            return
        # streamed data: the connective samples (twice the data) go to a
        # temporary file, removed however the fit ends
        with tempfile.TemporaryDirectory(prefix="skanomaly-crbnd-") as folder:
            X_connective, y_connective = self._connective_samples_on_disk(ctx.X, folder)
            try:
                self._train_classifier(ctx, X_connective, y_connective)
            finally:
                # no reference to the file outlives the fit
                del X_connective

    def _train_classifier(self, ctx, X_connective, y_connective):
        """Stage 2: train the classifier on the connective samples and measure
        its training accuracy."""
        epochs = self.classifier_epochs
        if epochs == "auto":
            epochs = epochs_for_steps(
                len(X_connective),
                ctx.batch_size,
                _AUTO_CLASSIFIER_MIN_STEPS,
                _AUTO_CLASSIFIER_MIN_EPOCHS,
            )
        self._train_stage(ctx, CLASSIFY, X_connective, y_connective, max_epochs=epochs)
        self.classifier_train_accuracy_ = self._classifier_accuracy(
            X_connective, y_connective
        )

    def distort(self, images: Tensor) -> Tensor:
        """The negatives' distortion of ``images`` (blur or noise, per the parameters).

        Draws from torch's default generator (inside ``fit``, the fit's seeded
        one).
        """
        if self.negative_distortion == "blur":
            use_blur = torch.ones(len(images), dtype=torch.bool)
        elif self.negative_distortion == "noise":
            use_blur = torch.zeros(len(images), dtype=torch.bool)
        else:
            use_blur = torch.rand(len(images)) < 0.5
        blurred = random_motion_blur(images, self.negative_blur_length)
        noisy = gaussian_noise(images, self.noise_std)
        mask = use_blur.to(images.device).reshape(-1, 1, 1, 1)
        return torch.where(mask, blurred, noisy)

    def _connective_samples(self, X_net: np.ndarray):
        """The classifier's training set: a positive and a negative per image.

        Returns ``(X, y)``: the connective positives of every image, then its
        connective negatives, labelled 0 and 1 (float32).
        """
        pairs = self._map_batches(X_net, self._connective_pair, np.float32)
        X = np.concatenate([pairs[:, 0], pairs[:, 1]])
        y = np.repeat(np.float32([0, 1]), len(X_net))
        return X, y

    def _connective_pair(self, xb: Tensor) -> Tensor:
        """The connective positive and negative of each image of the batch,
        ``(k, 2, C, H, W)``."""
        reconstruction = self.net_.module_(xb)
        source = reconstruction if self.distortion_source == "reconstruction" else xb
        lambda_ = float(self.lambda_)
        positive = connective(xb, reconstruction, lambda_)
        negative = connective(xb, self.distort(source), lambda_)
        return torch.stack([positive, negative], dim=1)

    def _connective_samples_on_disk(self, X_net: StreamedNetInput, folder: str):
        """:meth:`_connective_samples` of streamed input, through a file.

        The samples are written batch by batch to ``connective.npy`` in
        ``folder`` (positives in rows ``[0, n)``, negatives in ``[n, 2n)``),
        from the same batches and the same draws as in memory, and returned
        as streamed input read from that file a batch at a time. The labels
        stay in memory (4 bytes a sample).
        """
        n, shape = len(X_net), tuple(X_net.shape[1:])
        path = os.path.join(folder, "connective.npy")
        samples = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float32, shape=(2 * n, *shape)
        )
        # a view: pairs[i] is (samples[i], samples[n + i]), the positive and
        # the negative of image i
        pairs = np.moveaxis(samples.reshape(2, n, *shape), 0, 1)
        self._map_batches(X_net, self._connective_pair, np.float32, out=pairs)
        samples.flush()
        del samples, pairs
        rows = StreamedRows(np.load(path, mmap_mode="r"), name="connective samples")
        X = StreamedNetInput(rows, _unchanged, shape, X_net.batch_rows)
        y = np.repeat(np.float32([0, 1]), n)
        return X, y

    def _classifier_accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        classifier = self.net_.classifier_
        logits = self._map_batches(X, classifier, np.float64)
        return float(np.mean((logits > 0) == (y > 0.5)))

    # ------------------------------------------------------------- scoring
    _knn_base_scores = ("classifier", "reconstruction")

    def _auto_base_score(self) -> str:
        return "classifier"

    def _base_score(self, name: str):
        net = self.net_
        if name == "reconstruction":
            return ReconstructionErrorScore(net.module_)
        return ConnectiveScore(net.module_, net.classifier_, self.lambda_)
