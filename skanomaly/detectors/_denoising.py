"""DenoisingAE: the baseline of the ARAE paper."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from skanomaly.base import BaseDeepDetector
from skanomaly.detectors._pathway import PathwayScoreMixin
from skanomaly.nets import MLPAutoencoder
from skanomaly.nets.mlp import ACTIVATIONS
from skanomaly.training import DetectorNet, settings_from
from skanomaly.utils._params import check_hidden_dims


@dataclass(frozen=True)
class DenoisingSettings:
    """Training settings of :class:`DenoisingNet`; see :class:`DenoisingAE`."""

    noise_scale: float


class DenoisingNet(DetectorNet):
    """Trains an autoencoder to reconstruct ``x`` from ``x + U(0, noise_scale)``.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`~skanomaly.training.DetectorNet`, including
        ``settings``, a :class:`DenoisingSettings`.
    """

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        x = self.batch_input(batch)
        noisy = x + self.settings.noise_scale * torch.rand_like(x)
        reconstruction = self.infer(noisy, **fit_params)
        loss = self.get_loss(reconstruction, None, X=x, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": reconstruction}


class DenoisingAE(PathwayScoreMixin, BaseDeepDetector):
    """Denoising autoencoder novelty detector (the ARAE paper's DAE baseline).

    An MLP autoencoder (encoder ``hidden_dims``, mirrored decoder, sigmoid
    latent code and output; LeakyReLU hidden layers by default, sigmoids in the
    paper) is trained to reconstruct ``x`` from
    ``x + u`` with ``u ~ U(0, noise_scale)`` per pixel, minimising the mean squared
    error with Adam. The paper's anomaly score of a sample is the sum of
    squared reconstruction errors of the clean input; on images the default
    (``anomaly_score="auto"``) is RaPP's NAP, the same reconstruction error
    measured along the encoder too. ``score_samples`` returns its opposite.

    Read more in the :ref:`user guide <denoising_ae>` and in Salehi et al. (2021),
    section 4 ("DAE").

    Parameters
    ----------
    {{mlp}}
    noise_scale : float, default=0.1
        Training inputs get ``U(0, noise_scale)`` noise added (the paper's 0.1).
    {{pathway_score}}
    {{budget_long}}
    lr : float, default=1e-3
        Adam learning rate (Keras' default, as in the authors' code).
    scaling : {"auto", "feature", "global", "none"}, default="auto"
        How inputs are mapped to [0, 1] for the sigmoid output, learned at fit.
        ``"auto"`` leaves data already in [0, 1] (images) unchanged and scales
        anything else per feature by its training min and max; ``"global"`` uses
        one min and max; ``"none"`` never scales. Test values outside the training
        range are not clipped.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and noise. The global random
        state is never changed.
    {{verbose_contamination}}
    input_shape : tuple of int, default=None
        ``(C, H, W)`` of one image when ``X`` holds flattened images (informs
        plotting; the MLP itself is shape-agnostic).

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained skorch net; its ``module_`` is an :class:`~skanomaly.nets.MLPAutoencoder`.
    {{latent_neighbour_attributes}}
    {{fitted_attributes}}

    See Also
    --------
    ARAE : the same network trained on adversarial examples.

    References
    ----------
    .. [1] M. Salehi, A. Arya, B. Pajoum, M. Otoofi, A. Shaeiri, M. H. Rohban and
       H. R. Rabiee, "ARAE: Adversarially robust training of autoencoders improves
       novelty detection", Neural Networks 144, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(0.4, 0.6, size=(64, 8))
    >>> det = DenoisingAE(hidden_dims=(16, 4), max_epochs=2, random_state=0,
    ...                   device="cpu").fit(X)
    >>> det.predict(np.array([[0.5] * 8, [5.0] * 8]))
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseDeepDetector._parameter_constraints,
        **PathwayScoreMixin._pathway_constraints,
        "amp": ["boolean"],
        "hidden_dims": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "noise_scale": [Interval(Real, 0, None, closed="left")],
    }
    _net_class = DenoisingNet
    #: larger data trains up to 5,000 steps within 50 epochs (chosen on
    #: validation tasks: docs/conventions.md, "Training budget")
    _auto_target_steps = 5000
    # one stage, one optimizer, the step calls only the forward: DDP-safe
    _supports_accelerate = True
    _paper_params = {
        # the ARAE paper's DAE baseline: its MLP, Adam 1e-3, batch 256, as many
        # epochs as ARAE ("num_steps" of the authors' train.py)
        dataset: {
            "hidden_dims": (512, 256, 128),
            "activation": "sigmoid",
            "noise_scale": 0.1,
            "anomaly_score": "reconstruction",
            "max_epochs": epochs,
            "batch_size": 256,
            "lr": 1e-3,
        }
        for dataset, epochs in (("mnist", 1600), ("fashion-mnist", 8000))
    }

    def __init__(
        self,
        *,
        hidden_dims=(512, 256, 128),
        activation="leaky_relu",
        noise_scale=0.1,
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
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.noise_scale = noise_scale
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

    def _check_method_params(self):
        check_hidden_dims(self.hidden_dims)

    def _build_module(self, ctx):
        return MLPAutoencoder(
            ctx.n_features, self.hidden_dims, act_layer=ACTIVATIONS[self.activation]
        )

    def _build_criterion(self):
        return nn.MSELoss()

    def _net_kwargs(self, ctx):
        return {"settings": settings_from(self, DenoisingSettings)}
