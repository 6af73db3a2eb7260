"""PuzzleAE: a U-Net that solves jigsaw puzzles (Salehi, Eftekhar, Sadjadi et al.)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import LRScheduler, PassthroughScoring
from skorch.utils import TeeGenerator
from torch.optim.lr_scheduler import ReduceLROnPlateau

from skanomaly.attacks import fgsm
from skanomaly.augment import (
    RandomPuzzle,
    crop_to_shape,
    pad_to_grid,
    permute_tiles,
    puzzle_permutations,
)
from skanomaly.base import BaseDeepDetector
from skanomaly.nets import DCGANDiscriminator, UNet
from skanomaly.training import DetectorNet

#: U-Nets halve four times, so images are padded to at least this size
_MIN_SIZE = UNet.min_size

#: upper bound on the images in one scoring pass (batch rows x permutations)
_MAX_IMAGES_PER_PASS = 2048


class PuzzleAENet(DetectorNet):
    """Trains a U-Net to solve puzzles, against an FGSM attacker and a discriminator.

    One training step, for a mini-batch ``x`` (padded to the tile grid):

    1. one permutation (and, with ``masking``, one tile to mask) is drawn for the
       whole batch and applied: the puzzle ``p``;
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
    net's device and are pickled with it. With ``feature_matching_weight=0`` no
    discriminator is built.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`~skanomaly.training.DetectorNet`.
    permutations : Tensor of shape (K, grid * grid)
        The permutation set drawn from during training.
    image_size : tuple of int
        ``(H, W)`` of the padded images the networks see.
    masking : bool, default=True
        Mask one tile of each puzzle (inpainting / colourisation).
    epsilon : float, default=0.07
        FGSM budget (L-inf); 0 turns the attack off.
    legacy_fgsm : bool, default=False
        Reproduce the authors' code instead of Eq. 1: the attack target is
        ``p + delta0`` and the step is added on top of the random start, so the
        perturbation reaches ``2 * epsilon``.
    feature_matching_weight : float, default=0.02
        Weight of the feature-matching loss; 0 trains no discriminator.
    discriminator_width : int, default=16
        Channels of the discriminator's first convolution.
    discriminator_lr : float, default=2e-4
        Adam learning rate of the discriminator (betas 0.5, 0.999).
    """

    def __init__(
        self,
        *args,
        permutations,
        image_size,
        masking=True,
        epsilon=0.07,
        legacy_fgsm=False,
        feature_matching_weight=0.02,
        discriminator_width=16,
        discriminator_lr=2e-4,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.permutations = permutations
        self.image_size = image_size
        self.masking = masking
        self.epsilon = epsilon
        self.legacy_fgsm = legacy_fgsm
        self.feature_matching_weight = feature_matching_weight
        self.discriminator_width = discriminator_width
        self.discriminator_lr = discriminator_lr

    @property
    def _default_callbacks(self):
        extra = [
            (
                "reconstruction_loss",
                PassthroughScoring(name="reconstruction_loss", on_train=True),
            ),
        ]
        if self.feature_matching_weight > 0:
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
        if self.feature_matching_weight > 0:
            self.discriminator_ = DCGANDiscriminator(
                self.module_.in_channels, self.image_size, self.discriminator_width
            )
        return self

    def initialize_optimizer(self, *args, **kwargs):
        # the U-Net's optimizer sees only the U-Net (skorch would add every module)
        named = self.module_.named_parameters()
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*opt_args, **opt_kwargs)
        if self.feature_matching_weight > 0:
            self.optimizer_discriminator_ = torch.optim.Adam(
                self.discriminator_.parameters(),
                lr=self.discriminator_lr,
                betas=(0.5, 0.999),
            )
        return self

    def _adversarial_puzzle(self, puzzled: torch.Tensor) -> torch.Tensor:
        if self.epsilon <= 0:
            return puzzled
        unet = self.module_
        if self.legacy_fgsm:
            start = (puzzled + (2 * torch.rand_like(puzzled) - 1) * self.epsilon).clamp(
                0, 1
            )
            target = start
        else:
            start, target = puzzled, puzzled

        def objective(z: torch.Tensor) -> torch.Tensor:
            return (unet(z) - target).pow(2).sum(dim=(1, 2, 3))

        return fgsm(
            objective,
            start,
            epsilon=self.epsilon,
            step_size=self.epsilon,
            random_start=not self.legacy_fgsm,
            clip=(0.0, 1.0),
            module=unet,
        )

    def train_step(self, batch, **fit_params):
        """One alternating step of the U-Net and the discriminator."""
        self._set_training(True)
        x = self.batch_input(batch)
        height, width = x.shape[-2:]
        grid = int(round(self.permutations.shape[1] ** 0.5))
        x_pad = pad_to_grid(x, grid, _MIN_SIZE)
        puzzled, _ = RandomPuzzle(self.permutations, masking=self.masking)(x_pad)
        puzzled = self._adversarial_puzzle(puzzled)

        self.optimizer_.zero_grad()
        output = self.module_(puzzled)
        reconstruction = crop_to_shape(output, height, width)
        loss_rec = F.mse_loss(reconstruction, x)
        loss = loss_rec
        disc = getattr(self, "discriminator_", None)
        if disc is not None:
            # the discriminator sees the same zero padding on real and fake images
            fake = pad_to_grid(reconstruction, grid, _MIN_SIZE)
            real_prob, real_features = disc.forward_with_features(x_pad)
            fake_features = disc.features(fake)
            loss_fm = (real_features.detach() - fake_features).pow(2).mean()
            loss = loss_rec + self.feature_matching_weight * loss_fm
        loss.backward()

        if disc is not None:
            self.optimizer_discriminator_.zero_grad()
            fake_prob = disc(fake.detach())
            loss_disc = 0.5 * (
                F.binary_cross_entropy(real_prob, torch.ones_like(real_prob))
                + F.binary_cross_entropy(fake_prob, torch.zeros_like(fake_prob))
            )
            loss_disc.backward()
            self.optimizer_discriminator_.step()
            self.history.record_batch("feature_matching_loss", loss_fm.item())
            self.history.record_batch("discriminator_loss", loss_disc.item())

        self.history.record_batch("reconstruction_loss", loss_rec.item())
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.module_.named_parameters()),
            batch=batch,
        )
        self.optimizer_.step()
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

    The anomaly score of an image ``x`` applies every permutation ``P_i`` of the
    set (no masking, no attack), measures ``S_i = mean((U(P_i x) - x)**2)``,
    divides it by the mean ``c_i`` of the same error over held-out normal
    training images, and aggregates ``S_i / c_i`` over ``i`` with
    ``aggregation``. ``score_samples`` returns its opposite.

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
    validation_fraction : float, default=0.15
        Share of the training images held out (with ``random_state``, not
        trained on) to compute the per-permutation normalisers ``c_i``. 0 trains
        on everything and does not normalise (``c_i = 1``).
    weight_decay : float, default=1e-5
        Adam weight decay of the U-Net (the authors' value).
    plateau_patience : int, default=None
        If set, the U-Net's learning rate is multiplied by ``plateau_factor``
        after this many epochs without a lower training loss (the authors use
        ReduceLROnPlateau with patience 30-50). None keeps it constant.
    plateau_factor : float, default=0.8
        Factor of the plateau schedule.
    callbacks : list of (str, skorch.callbacks.Callback), default=None
        Extra skorch callbacks for the training net (e.g. to record progress).
    max_epochs : int, default=30
        Training epochs (the paper: 600 on a GPU).
    batch_size : int, default=64
        Mini-batch size for training and scoring (the authors' code: 64).
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
    >>> X = rng.uniform(0.4, 0.6, size=(20, 1, 16, 16))
    >>> det = PuzzleAE(base_width=2, discriminator_width=2, max_epochs=2,
    ...                batch_size=8, random_state=0, device="cpu").fit(X)
    >>> det.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseDeepDetector._parameter_constraints,
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
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "plateau_patience": [Interval(Integral, 0, None, closed="left"), None],
        "plateau_factor": [Interval(Real, 0, 1, closed="neither")],
        "callbacks": [list, None],
    }
    _requires_image = True
    _net_class = PuzzleAENet

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
        validation_fraction=0.15,
        weight_decay=1e-5,
        plateau_patience=None,
        plateau_factor=0.8,
        callbacks=None,
        max_epochs=30,
        batch_size=64,
        lr=1e-3,
        scaling="auto",
        device="auto",
        random_state=None,
        verbose=0,
        contamination=0.1,
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
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.plateau_patience = plateau_patience
        self.plateau_factor = plateau_factor
        self.callbacks = callbacks
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.scaling = scaling
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination
        self.input_shape = input_shape

    # ------------------------------------------------------------- building
    def _check_method_params(self):
        if self.base_width % 2:
            raise ValueError(
                f"base_width must be even (the U-Net halves it); got {self.base_width}."
            )
        # raises ValueError for an n_permutations larger than the set
        self._permutation_table()

    def _permutation_table(self) -> torch.Tensor:
        return puzzle_permutations(
            self.grid, self.permutations, n_permutations=self.n_permutations
        )

    def _build_module(self):
        return UNet(self.input_shape_[0], base_width=self.base_width)

    def _net_params(self):
        return {
            "permutations": torch.as_tensor(self.permutations_),
            "image_size": self.padded_shape_,
            "masking": self.masking,
            "epsilon": self.epsilon,
            "legacy_fgsm": self.legacy_fgsm,
            "feature_matching_weight": self.feature_matching_weight,
            "discriminator_width": self.discriminator_width,
            "discriminator_lr": self.discriminator_lr,
            "optimizer__weight_decay": self.weight_decay,
        }

    def _split_validation(self, n_samples: int, seed: int):
        """Indices of the training and held-out rows, drawn with ``seed``."""
        if self.validation_fraction == 0:
            return np.arange(n_samples), np.arange(0)
        n_val = int(round(self.validation_fraction * n_samples))
        n_val = min(max(n_val, 1), n_samples - 1)
        order = np.random.RandomState(seed).permutation(n_samples)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _fit_net(self, X_net, *, seed, **fit_params):
        if fit_params:
            raise ValueError(
                f"PuzzleAE.fit got unexpected fit parameters {sorted(fit_params)}."
            )
        self.permutations_ = self._permutation_table().numpy()
        probe = pad_to_grid(torch.zeros(1, *self.input_shape_), self.grid, _MIN_SIZE)
        self.padded_shape_ = tuple(int(s) for s in probe.shape[-2:])
        train_idx, val_idx = self._split_validation(X_net.shape[0], seed)
        self.validation_indices_ = val_idx
        self.net_ = self._make_net(seed=seed)
        if self.plateau_patience is not None:
            self.net_.callbacks.append(
                (
                    "lr_plateau",
                    LRScheduler(
                        ReduceLROnPlateau,
                        monitor="train_loss",
                        factor=self.plateau_factor,
                        patience=self.plateau_patience,
                    ),
                )
            )
        for name, callback in self.callbacks or []:
            self.net_.callbacks.append((name, callback))
        self.net_.fit(X_net[train_idx], None)
        self._calibrate(X_net[val_idx])

    def _calibrate(self, X_val: np.ndarray) -> None:
        """Set ``permutation_errors_`` from held-out normal images (net input)."""
        n_perms = len(self.permutations_)
        if len(X_val) == 0:
            self.permutation_errors_ = np.ones(n_perms)
            return
        errors = self._map_batches(
            X_val, lambda m, xb: self._permutation_errors(m, xb).double(), np.float64
        )
        # a perfect reconstruction of every held-out image leaves the error as is
        means = errors.mean(axis=0)
        self.permutation_errors_ = np.where(means > 0, means, 1.0)

    # -------------------------------------------------------------- scoring
    def _permutation_errors(self, module, x: torch.Tensor) -> torch.Tensor:
        """``(n, K)`` mean squared errors of every permutation, batched passes."""
        n, _, height, width = x.shape
        x_pad = pad_to_grid(x, self.grid, _MIN_SIZE)
        perms = torch.as_tensor(self.permutations_, device=x.device)
        per_pass = max(1, _MAX_IMAGES_PER_PASS // max(n, 1))
        errors = []
        for start in range(0, len(perms), per_pass):
            chunk = perms[start : start + per_pass]
            puzzled = torch.cat([permute_tiles(x_pad, p, self.grid) for p in chunk])
            output = crop_to_shape(module(puzzled), height, width)
            diff = output.reshape(len(chunk), n, -1) - x.reshape(1, n, -1)
            errors.append(diff.pow(2).mean(dim=2))
        return torch.cat(errors).T

    def _anomaly_score_batch(self, module, x):
        errors = self._permutation_errors(module, x).double()
        normalised = errors / torch.as_tensor(
            self.permutation_errors_, dtype=errors.dtype, device=errors.device
        )
        if self.aggregation == "max":
            return normalised.max(dim=1).values
        if self.aggregation == "min":
            return normalised.min(dim=1).values
        return normalised.mean(dim=1)

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
        errors = self._map_batches(
            self._prepare_input(X),
            lambda m, xb: self._permutation_errors(m, xb).double(),
            np.float64,
        )
        return errors / self.permutation_errors_

    def _reconstruct_batch(self, module, x):
        height, width = x.shape[-2:]
        return crop_to_shape(
            module(pad_to_grid(x, self.grid, _MIN_SIZE)), height, width
        )

    def _encode_batch(self, module, x):
        # the bottleneck map of the padded image (``8 * base_width`` channels)
        return module.encode(pad_to_grid(x, self.grid, _MIN_SIZE))
