"""PuzzleAE: a U-Net that solves jigsaw puzzles (Salehi, Eftekhar, Sadjadi et al.)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import LRScheduler, PassthroughScoring
from torch.optim.lr_scheduler import ReduceLROnPlateau

from skanomaly.attacks import fgsm
from skanomaly.augment import RandomPuzzle, puzzle_permutations
from skanomaly.base import BaseDeepDetector
from skanomaly.calibration import seeded_split
from skanomaly.detectors._neighbours import term_scale
from skanomaly.detectors._pathway import fit_whitening
from skanomaly.nets import DCGANDiscriminator, PaddedNet, UNet
from skanomaly.scores import FeatureDistanceScore, PuzzleErrorScore, ScaledSumScore
from skanomaly.training import DetectorNet, settings_from
from skanomaly.utils._streaming import take_rows

#: upper bound on the puzzles in one scoring pass (batch rows x permutations)
#: on accelerators
_MAX_IMAGES_PER_PASS = 2048
#: on CPU, the padded pixels of the puzzles in one scoring pass (83 images of
#: 28 x 28): the U-Net's activations then stay in the caches, and a pass runs
#: about twice as fast per image as one of 1,400 images
_CPU_PIXELS_PER_PASS = 2**16
#: with no held-out images, the training images (at most this many, seeded)
#: whose spreads scale the two terms of ``anomaly_score="puzzle+features"``
_MAX_REFERENCE_ROWS = 1024


@dataclass(frozen=True)
class PuzzleAESettings:
    """Training settings of :class:`PuzzleAENet`.

    Each field is the :class:`PuzzleAE` parameter of the same name, except
    ``permutations`` (the fitted ``permutations_`` table) and ``input_shape``
    (``(C, H, W)`` of the unpadded images).
    """

    permutations: np.ndarray
    input_shape: tuple[int, int, int]
    masking: bool
    epsilon: float
    legacy_fgsm: bool
    feature_matching_weight: float
    discriminator_width: int


class PuzzleAENet(DetectorNet):
    """Trains a U-Net to solve puzzles, against an FGSM attacker and a discriminator.

    ``module_`` is a :class:`~skanomaly.nets.PaddedNet` around the U-Net: the
    images are padded to the tile grid before puzzling. One training step, for
    a mini-batch ``x``:

    1. one permutation (and, with ``masking``, one tile to mask) is drawn for the
       whole batch and applied to the padded images: the puzzle ``p``;
    2. FGSM on ``p``: ``delta = clip(delta0 + epsilon * sign(grad), -epsilon,
       epsilon)`` with ``delta0 ~ U(-epsilon, epsilon)``, maximising
       ``||U(p + delta) - p||^2`` (the paper's Eq. 1); the result is clipped to
       [0, 1];
    3. the U-Net loss ``MSE(U(p_adv), x) + feature_matching_weight *
       mean((f_D(x) - f_D(U(p_adv)))**2)`` (paired per sample, as the authors'
       code) is back-propagated;
    4. the discriminator takes one step on ``(BCE(D(x), 1) + BCE(D(U(p_adv)), 0))
       / 2`` with the reconstruction detached; then the U-Net takes its step.

    The discriminator ``discriminator_`` and its optimizer
    ``optimizer_discriminator_`` are registered with skorch, so they move to the
    net's device, are pickled with it and are put in eval mode when scoring.
    With ``feature_matching_weight=0`` no discriminator is built.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`~skanomaly.training.DetectorNet`, including
        ``settings``, a :class:`PuzzleAESettings`.
    """

    @property
    def _default_callbacks(self):
        extra = [
            (
                "reconstruction_loss",
                PassthroughScoring(name="reconstruction_loss", on_train=True),
            ),
        ]
        if self.settings.feature_matching_weight > 0:
            extra += [
                (
                    "feature_matching_loss",
                    PassthroughScoring(name="feature_matching_loss", on_train=True),
                ),
                (
                    "discriminator_loss",
                    PassthroughScoring(name="discriminator_loss", on_train=True),
                ),
            ]
        return [*super()._default_callbacks, *extra]

    def initialize_module(self):
        super().initialize_module()
        settings = self.settings
        if settings.feature_matching_weight > 0:
            channels = settings.input_shape[0]
            padded = self.module_.padded_shape(settings.input_shape)
            self.discriminator_ = DCGANDiscriminator(
                (channels, *padded), settings.discriminator_width
            )
        return self

    def initialize_optimizer(self, *args, **kwargs):
        # the U-Net's optimizer sees only the U-Net (skorch would add every module)
        named = self.module_.named_parameters()
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*opt_args, **opt_kwargs)
        if self.settings.feature_matching_weight > 0:
            # skorch's routing: optimizer_discriminator__lr and the like
            opt_args, opt_kwargs = self.get_params_for_optimizer(
                "optimizer_discriminator", self.discriminator_.named_parameters()
            )
            self.optimizer_discriminator_ = self.optimizer_discriminator(
                *opt_args, **opt_kwargs
            )
        return self

    def _adversarial_puzzle(self, puzzled: torch.Tensor) -> torch.Tensor:
        epsilon = self.settings.epsilon
        if epsilon <= 0:
            return puzzled
        unet = self.module_.net
        if self.settings.legacy_fgsm:
            start = (puzzled + (2 * torch.rand_like(puzzled) - 1) * epsilon).clamp(0, 1)
            target = start
        else:
            start, target = puzzled, puzzled

        def objective(z: torch.Tensor) -> torch.Tensor:
            return (unet(z) - target).pow(2).sum(dim=(1, 2, 3))

        return fgsm(
            objective,
            start,
            epsilon=epsilon,
            step_size=epsilon,
            random_start=not self.settings.legacy_fgsm,
            clip=(0.0, 1.0),
            module=unet,
        )

    def train_step(self, batch, **fit_params):
        """One alternating step of the U-Net and the discriminator."""
        self._set_training(True)
        settings = self.settings
        solver = self.module_
        x = self.batch_input(batch)
        height, width = x.shape[-2:]
        x_pad = solver.pad(x)
        permutations = torch.as_tensor(settings.permutations)
        puzzled, _ = RandomPuzzle(permutations, masking=settings.masking)(x_pad)
        puzzled = self._adversarial_puzzle(puzzled)

        reconstruction = solver.crop(solver.net(puzzled), height, width)
        loss_rec = F.mse_loss(reconstruction, x)
        loss = loss_rec
        disc = getattr(self, "discriminator_", None)
        if disc is not None:
            # the discriminator sees the same zero padding on real and fake images
            fake = solver.pad(reconstruction)
            real_prob, real_features = disc.forward_with_features(x_pad)
            fake_features = disc.features(fake)
            loss_fm = (real_features.detach() - fake_features).pow(2).mean()
            loss = loss_rec + settings.feature_matching_weight * loss_fm
        self.step_optimizers(loss, [self.optimizer_], batch)

        if disc is not None:
            # the U-Net has stepped; the discriminator learns on the images
            # it was shown (``fake`` is detached, its weights are unchanged)
            fake_prob = disc(fake.detach())
            with self.autocast(False):  # CUDA autocast refuses this loss
                real_prob, fake_prob = real_prob.float(), fake_prob.float()
                loss_disc = 0.5 * (
                    F.binary_cross_entropy(real_prob, torch.ones_like(real_prob))
                    + F.binary_cross_entropy(fake_prob, torch.zeros_like(fake_prob))
                )
            self.step_optimizers(loss_disc, [self.optimizer_discriminator_], batch)
            self.history.record_batch("feature_matching_loss", loss_fm.item())
            self.history.record_batch("discriminator_loss", loss_disc.item())

        self.history.record_batch("reconstruction_loss", loss_rec.item())
        return {"loss": loss.detach(), "y_pred": reconstruction.detach()}


class PuzzleAE(BaseDeepDetector):
    """Puzzle-solving U-Net autoencoder for image novelty detection (Puzzle-AE).

    A U-Net is trained to restore normal images from jigsaw puzzles of them: the
    image is cut into ``grid x grid`` tiles that are shuffled by a permutation of
    the set (``permutations``), one tile is blanked (grey images: inpainting) or
    turned grey (colour images: colourisation) when ``masking``, and an FGSM
    perturbation of budget ``epsilon`` removes low-level shortcuts such as tile
    edges. A DCGAN discriminator adds a feature-matching loss of weight
    ``feature_matching_weight``; the U-Net and the discriminator are trained in
    alternation.

    The paper's anomaly score of an image ``x`` applies every permutation
    ``P_i`` of the set (no masking, no attack), measures ``S_i = mean((U(P_i x)
    - x)**2)``, divides it by the mean ``c_i`` of the same error over held-out
    normal training images, and aggregates ``S_i / c_i`` over ``i`` with
    ``aggregation``. By default (``anomaly_score="puzzle+features"``) the
    Mahalanobis distance of the U-Net's pooled encoder features of ``x`` to
    those of the training images is added, each term divided by its median
    absolute deviation over the held-out images.
    ``score_samples`` returns the opposite of the score.

    Read more in the :ref:`user guide <puzzle_ae>`, in docs/puzzle_ae.md and in
    Salehi, Eftekhar, Sadjadi et al. (2020).

    Parameters
    ----------
    base_width : int, default=16
        Width of the U-Net's first level (even). The paper uses 64 (17.3 M
        parameters); the cost grows about as ``base_width**2``, and 16 (1.1 M
        parameters) is a CPU-friendly default.
    grid : {2, 3}, default=2
        Tiles per side: the paper's 4-tile puzzle, or its 9-tile Fashion-MNIST
        variant.
    permutations : {"all", "swaps"}, default="all"
        The permutation set, used for training and scoring. ``"all"``: with
        ``grid=2`` the 23 non-identity permutations of 4 tiles (each moves at
        least two tiles); with ``grid=3`` a fixed set of ``n_permutations``
        permutations that move exactly 6 of the 9 tiles (the paper's "6 of 9
        tiles permuted"), drawn once with a constant seed. ``"swaps"``: the
        two-tile swaps (6 for 4 tiles, 36 for 9), the paper's choice for
        texture-like images.
    n_permutations : int, default=None
        Use a fixed subset of this many permutations of the set (drawn with a
        constant seed, the same for every fit). None: the whole set, or 23 for
        ``grid=3, permutations="all"`` (22,260 permutations exist).
    masking : bool, default=True
        Mask one tile per training puzzle: set to 0 for one-channel images, the
        mean of the channels for colour images.
    epsilon : float, default=0.07
        FGSM budget on [0, 1] pixels (the authors: 0.1 for MNIST, 0.07 for
        Fashion-MNIST, 10/255 for CIFAR-10); 0 turns the attack off.
    legacy_fgsm : bool, default=False
        Reproduce the authors' code, whose perturbation reaches ``2 * epsilon``,
        instead of the paper's Eq. 1.
    feature_matching_weight : float, default=0.02
        Weight of the discriminator's feature-matching loss (the code's
        ``adv_coeff``); 0 trains no discriminator.
    discriminator_width : int, default=16
        Channels of the discriminator's first convolution (the paper: 64).
    discriminator_lr : float, default=2e-4
        Adam learning rate of the discriminator (betas 0.5, 0.999).
    aggregation : {"max", "mean", "min"}, default="max"
        How the normalised errors of the permutations are combined. The paper
        uses the maximum for MNIST-like data and the mean for real-world data.
    anomaly_score : {"puzzle+features", "puzzle"}, default="puzzle+features"
        ``"puzzle"``: the paper's aggregated normalised puzzle errors.
        ``"puzzle+features"``: their sum with the Mahalanobis distance of the
        spatial means of the U-Net's encoder levels (the puzzle solver's own
        features of the unshuffled image) to the training images' (OAS-shrunk
        covariance), each divided by its median absolute deviation over the
        held-out images. It was chosen over ``"puzzle"`` on Fashion-MNIST
        validation tasks (the figures are in docs/puzzle_ae.md). Can be
        changed after ``fit`` (then call :meth:`calibrate` before
        ``predict``).
    validation_fraction : float, default=0.15
        Share of the training images held out (with ``random_state``, not
        trained on) to compute the per-permutation normalisers ``c_i``. 0 trains
        on everything and does not normalise (``c_i = 1``).
    weight_decay : float, default=1e-5
        Adam weight decay of the U-Net (the authors' value).
    lr_decay_patience : int, default=None
        If set, the U-Net's learning rate is multiplied by ``lr_decay_factor``
        after this many epochs without a lower training loss (the authors use
        ReduceLROnPlateau with patience 30-50). None keeps it constant.
    lr_decay_factor : float, default=0.8
        Factor of that learning-rate decay.
    callbacks : list of (str, skorch.callbacks.Callback), default=None
        Extra skorch callbacks for the training net (e.g. to record progress).
    {{budget}}
    lr : float, default=1e-3
        Adam learning rate of the U-Net.
    scaling : {"auto", "feature", "global", "none"}, default="auto"
        How inputs are mapped to [0, 1] (the pixel range the attack budget and
        masking assume), learned at fit. ``"auto"`` leaves images already in
        [0, 1] unchanged; ``"global"`` maps e.g. 0..255 pixels with one min and
        max. Test values outside the training range are not clipped.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split, weight initialisation, shuffling, puzzles and
        attacks. The global random state is never changed.
    {{verbose_contamination}}
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of one image when ``X`` holds flattened rows; 3-D
        ``(n, H, W)`` and 4-D ``(n, C, H, W)`` arrays set it themselves.

    Attributes
    ----------
    net_ : PuzzleAENet
        The trained skorch net: ``module_`` is the :class:`~skanomaly.nets.UNet`,
        ``discriminator_`` the :class:`~skanomaly.nets.DCGANDiscriminator`.
    permutations_ : ndarray of shape (n_permutations, grid * grid)
        The permutation set; output tile ``i`` is input tile ``perm[i]``.
    permutation_errors_ : ndarray of shape (n_permutations,)
        ``c_i``: the mean error of each permutation on the held-out images.
    reference_errors_ : ndarray of shape (n_reference, n_permutations)
        Every permutation's error on the held-out images (with
        ``validation_fraction=0``, on up to 1,024 seeded training images): the
        reference whose spreads scale the terms of ``"puzzle+features"``.
    reference_feature_distances_ : ndarray of shape (n_reference,)
        The feature distance of the same images.
    feature_whitening_ : tuple of (Tensor, Tensor)
        Mean and whitening matrix of the pooled encoder features of the
        training images (``skanomaly.nets.pathway.PathwayMoments.whitening``).
    validation_indices_ : ndarray of int
        Rows of the training ``X`` held out for ``permutation_errors_``.
    padded_shape_ : tuple of int
        ``(H, W)`` the networks see after padding.
    {{fitted_attributes}}

    See Also
    --------
    DenoisingAE : a plain MLP autoencoder baseline.

    Notes
    -----
    Images whose sides are not multiples of ``grid`` (or smaller than 16 pixels,
    the U-Net's four halvings) are zero-padded around the centre, as the paper
    pads 28 px images to 30 for nine tiles. The tiles include the padding; the
    losses and the scores compare only the original region of the output.

    As the authors' code, one permutation and one masked tile are drawn per
    mini-batch, not per image.

    References
    ----------
    .. [1] M. Salehi, A. Eftekhar, N. Sadjadi, M. H. Rohban and H. R. Rabiee,
       "Puzzle-AE: Novelty detection in images through solving puzzles",
       arXiv:2008.12959, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import PuzzleAE
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0.4, 0.6, size=(60, 1, 16, 16))
    >>> det = PuzzleAE(base_width=2, discriminator_width=2, max_epochs=2,
    ...                batch_size=8, random_state=0, device="cpu").fit(X)
    >>> det.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseDeepDetector._parameter_constraints,
        "amp": ["boolean"],
        "base_width": [Interval(Integral, 2, None, closed="left")],
        "grid": [Interval(Integral, 2, 3, closed="both")],
        "permutations": [StrOptions({"all", "swaps"})],
        "n_permutations": [Interval(Integral, 1, None, closed="left"), None],
        "masking": ["boolean"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "legacy_fgsm": ["boolean"],
        "feature_matching_weight": [Interval(Real, 0, None, closed="left")],
        "discriminator_width": [Interval(Integral, 1, None, closed="left")],
        "discriminator_lr": [Interval(Real, 0, None, closed="neither")],
        "aggregation": [StrOptions({"max", "mean", "min"})],
        "anomaly_score": [StrOptions({"puzzle+features", "puzzle"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_decay_patience": [Interval(Integral, 0, None, closed="left"), None],
        "lr_decay_factor": [Interval(Real, 0, 1, closed="neither")],
        "callbacks": [list, None],
    }
    _requires_image = True
    #: small data trains 300 steps, not 600 (the small-images-validation
    #: benchmark: the same mean AUC on 500 images in half the time)
    _auto_min_steps = 300
    #: ``batch_size="auto"`` is a 32nd of the rows (at least 8, at most 64):
    #: 500 images train batches of 15 instead of 62, at half the fit time for
    #: the same mean AUC on the small-images validation tasks
    #: (small-images-puzzle-cost); from 2,048 images on it is 64, as before
    _auto_batch_divisor = 32
    _net_class = PuzzleAENet
    _paper_params = {
        # the authors' configs/config_train.yaml and test.py: U-Net and
        # discriminator width 64, batch 64, ReduceLROnPlateau on the U-Net,
        # the maximum over permutations for (Fashion-)MNIST, the mean elsewhere
        dataset: {
            "base_width": 64,
            "discriminator_width": 64,
            "epsilon": epsilon,
            "lr_decay_factor": factor,
            "lr_decay_patience": patience,
            "aggregation": aggregation,
            "max_epochs": epochs,
            "batch_size": batch_size,
            "lr": 1e-3,
            "weight_decay": 1e-5,
            "anomaly_score": "puzzle",
        }
        for dataset, epsilon, factor, patience, aggregation, epochs, batch_size in (
            ("mnist", 0.1, 0.5, 30, "max", 600, 64),
            ("fashion-mnist", 0.07, 0.8, 50, "max", 600, 64),
            ("cifar-10", 10 / 255, 0.8, 50, "mean", 2000, 64),
            ("mvtec-ad", 0.01, 0.8, 50, "mean", 3000, 8),
        )
    }

    def __init__(
        self,
        *,
        base_width=16,
        grid=2,
        permutations="all",
        n_permutations=None,
        masking=True,
        epsilon=0.07,
        legacy_fgsm=False,
        feature_matching_weight=0.02,
        discriminator_width=16,
        discriminator_lr=2e-4,
        aggregation="max",
        anomaly_score="puzzle+features",
        validation_fraction=0.15,
        weight_decay=1e-5,
        lr_decay_patience=None,
        lr_decay_factor=0.8,
        callbacks=None,
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
        self.base_width = base_width
        self.grid = grid
        self.permutations = permutations
        self.n_permutations = n_permutations
        self.masking = masking
        self.epsilon = epsilon
        self.legacy_fgsm = legacy_fgsm
        self.feature_matching_weight = feature_matching_weight
        self.discriminator_width = discriminator_width
        self.discriminator_lr = discriminator_lr
        self.aggregation = aggregation
        self.anomaly_score = anomaly_score
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.lr_decay_patience = lr_decay_patience
        self.lr_decay_factor = lr_decay_factor
        self.callbacks = callbacks
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

    # ------------------------------------------------------------- building
    def _build_module(self, ctx):
        unet = UNet(ctx.input_shape[0], base_width=self.base_width)
        return PaddedNet(unet, multiple=self.grid, min_size=UNet.min_size)

    def _net_kwargs(self, ctx):
        settings = settings_from(
            self,
            PuzzleAESettings,
            permutations=ctx.facts["permutations"],
            input_shape=ctx.input_shape,
        )
        kwargs = {"settings": settings, "optimizer__weight_decay": self.weight_decay}
        if self.feature_matching_weight > 0:
            # registered only with a discriminator (skorch refuses the
            # parameters of an optimizer that does not exist)
            kwargs.update(
                optimizer_discriminator=torch.optim.Adam,
                optimizer_discriminator__lr=self.discriminator_lr,
                optimizer_discriminator__betas=(0.5, 0.999),
            )
        return kwargs

    def _callbacks(self, ctx):
        callbacks = []
        if self.lr_decay_patience is not None:
            scheduler = LRScheduler(
                ReduceLROnPlateau,
                monitor="train_loss",
                factor=self.lr_decay_factor,
                patience=self.lr_decay_patience,
            )
            callbacks.append(("lr_decay", scheduler))
        return callbacks + list(self.callbacks or [])

    def _split_validation(self, n_samples: int, seed: int):
        """Indices of the training and held-out rows, drawn with ``seed``."""
        if self.validation_fraction == 0:
            return np.arange(n_samples), np.arange(0)
        n_val = int(round(self.validation_fraction * n_samples))
        n_val = min(max(n_val, 1), n_samples - 1)
        return seeded_split(n_samples, n_val, seed)

    def _derive_facts(self, ctx):
        permutations = puzzle_permutations(
            self.grid, self.permutations, n_permutations=self.n_permutations
        )
        return {"permutations": permutations.numpy()}

    def _fit_stages(self, ctx):
        # the held-out split comes first: scoring reads permutation_errors_
        train_idx, val_idx = self._split_validation(ctx.X.shape[0], ctx.seed)
        self.validation_indices_ = val_idx
        self.net_ = self._make_net(ctx)
        self.padded_shape_ = self.net_.module.padded_shape(ctx.input_shape)
        # views on the rows when the data is streamed (take_rows reads nothing)
        X_train = take_rows(ctx.X, train_idx)
        self._train_stage(ctx, "train", X_train)
        self._fit_score_statistics(ctx, X_train)

    def _fit_score_statistics(self, ctx, X_train) -> None:
        """What scoring reads of the trained U-Net: the feature whitening from
        ``X_train`` and the errors and feature distances of the held-out rows
        (``validation_indices_`` of ``ctx.X``; without any, up to 1,024 seeded
        training rows)."""
        self._fit_feature_whitening(X_train)
        val_idx = self.validation_indices_
        if len(val_idx):
            reference = take_rows(ctx.X, val_idx)
        else:
            n_reference = min(len(X_train), _MAX_REFERENCE_ROWS)
            rows = np.random.RandomState(ctx.seed).permutation(len(X_train))
            reference = take_rows(X_train, np.sort(rows[:n_reference]))
        self.reference_errors_ = self._permutation_errors(reference)
        self.permutation_errors_ = self._mean_permutation_errors()
        feature_score = self._feature_score()
        self.reference_feature_distances_ = self._map_batches(
            reference, feature_score, np.float64, modules=[feature_score]
        )

    def _mean_permutation_errors(self) -> np.ndarray:
        """``c_i``: each permutation's mean error on held-out normal images."""
        if len(self.validation_indices_) == 0:
            return np.ones(len(self.permutations_))
        # a perfect reconstruction of every held-out image leaves the error as is
        means = self.reference_errors_.mean(axis=0)
        return np.where(means > 0, means, 1.0)

    def _fit_feature_whitening(self, X_train) -> None:
        """One pass over the training images: the mean and whitening of the
        U-Net's pooled encoder features, as ``feature_whitening_``."""
        solver = self.net_.module_
        [(mean, projection)] = fit_whitening(
            self, X_train, lambda batch: [solver.pooled_features(batch)]
        )
        self.feature_whitening_ = (mean.cpu(), projection.cpu())

    # -------------------------------------------------------------- scoring
    def _on_cpu(self) -> bool:
        return torch.device(self.net_.device).type == "cpu"

    def _feature_score(self) -> FeatureDistanceScore:
        """The Mahalanobis distance of the fitted U-Net's pooled features."""
        mean, projection = self.feature_whitening_
        return FeatureDistanceScore(self.net_.module_, mean, projection).to(
            self.net_.device
        )

    def _score(self, solver=None):
        """The score ``anomaly_score`` names, on the fitted solver or ``solver``."""
        puzzle = self._puzzle_score(self.permutation_errors_, solver)
        if self.anomaly_score == "puzzle":
            return puzzle
        # each term in its spread over the held-out normal images, as the
        # latent-neighbour sums scale theirs (term_scale: the median absolute
        # deviation)
        errors = torch.as_tensor(
            self.reference_errors_, device=puzzle.normalisers.device
        )
        reference_puzzle = puzzle.aggregate(errors)
        reference = np.column_stack(
            [reference_puzzle.cpu().numpy(), self.reference_feature_distances_]
        )
        spreads = [term_scale(column) for column in reference.T]
        # the features on the fitted U-Net, not on a channels-last copy: the
        # whitening can magnify a layout's float32 rounding beyond 1e-5
        return ScaledSumScore([puzzle, self._feature_score()], spreads).to(
            self.net_.device
        )

    def _puzzle_score(self, normalisers, solver=None) -> PuzzleErrorScore:
        """The puzzle errors with ``normalisers``, aggregated, on the fitted
        solver or on ``solver``."""
        if self._on_cpu():
            height, width = self.padded_shape_
            per_pass = max(1, _CPU_PIXELS_PER_PASS // (height * width))
        else:
            per_pass = _MAX_IMAGES_PER_PASS
        return PuzzleErrorScore(
            self.net_.module_ if solver is None else solver,
            torch.as_tensor(self.permutations_),
            torch.as_tensor(normalisers),
            aggregation=self.aggregation,
            max_images_per_pass=per_pass,
        ).to(self.net_.device)

    def _inference_solver(self):
        """The fitted solver for scoring without gradients.

        On CPU, a copy with its weights in channels-last memory format: oneDNN's
        convolutions then run on channels-last activations without reordering
        the weights at every call (about 20 % faster), made once after
        training and held by the fitted scoring module. ``net_.module_`` is
        left as it is (the feature distance, whose whitening can magnify a
        layout's float32 rounding, runs on it).
        """
        solver = self.net_.module_
        if not self._on_cpu():
            return solver
        cached = self.__dict__.get("_cached_inference_solver")
        if cached is None:
            # made once (training is over): a derived cache, not pickled
            cached = copy.deepcopy(solver).requires_grad_(False)
            cached = cached.to(memory_format=torch.channels_last)
            self._cached_inference_solver = cached
        return cached

    def _permutation_errors(self, X_net: np.ndarray) -> np.ndarray:
        """``(n, K)`` unnormalised errors of every permutation, batch by batch."""
        scorer = self._puzzle_score(
            np.ones(len(self.permutations_)), self._inference_solver()
        )
        return self._map_batches(
            X_net,
            lambda xb: scorer.permutation_errors(xb).double(),
            np.float64,
            modules=[scorer],
        )

    def _build_score_module(self):
        return self._score(self._inference_solver())

    def permutation_scores(self, X):
        """Normalised anomaly score of every permutation, before aggregation.

        ``score_samples(X)`` is minus the ``aggregation`` (max, mean or min) of
        these along axis 1, so other aggregations can be compared from one pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Images to score.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_permutations), dtype float64
            ``S_i(x) / c_i`` for each permutation ``i`` of ``permutations_``
            (larger = more anomalous).
        """
        errors = self._permutation_errors(self._prepare_input(X))
        return errors / self.permutation_errors_
