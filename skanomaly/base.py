"""The base class of every skanomaly detector: the scikit-learn outlier contract."""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from skanomaly.training import DetectorNet, EpochProgressBar, NonFiniteLossGuard
from skanomaly.utils._docstring import fill_shared_docs
from skanomaly.utils._torch import (
    derive_seed,
    flush_denormal_context,
    resolve_device,
    seed_context,
)
from skanomaly.utils._validation import (
    UnitIntervalScaler,
    check_input_shape,
    split_spatial_input,
)


class BaseDeepDetector(OutlierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the torch-backed novelty detectors.

    It owns the scikit-learn contract so that a method only brings its network
    (:meth:`_build_module`), its training step (a :class:`DetectorNet` subclass in
    ``_net_class`` with its parameters from :meth:`_net_params`) and its anomaly
    score (:meth:`_anomaly_score_batch`).

    What the base does:

    - validates parameters (``_parameter_constraints``) and input (NaN, inf,
      feature count, too few samples, non-numeric data) with ``ValueError``;
    - accepts flat rows with ``input_shape=(C, H, W)``, or 3-D ``(n, H, W)`` and
      4-D ``(n, C, H, W)`` arrays, and sets ``input_shape_``;
    - maps inputs to [0, 1] with a scaling learned at fit (``scaling``);
    - seeds torch from ``random_state`` inside a forked RNG, so no global random
      state changes and the same seed gives the same scores on CPU;
    - resolves ``device="auto"`` into ``device_``;
    - scores in eval mode, in batches of ``batch_size``, as float64, with
      ``score_samples`` = minus the paper's anomaly score (higher = more normal);
    - sets ``offset_`` to the ``100 * contamination`` percentile of the training
      ``score_samples``; ``decision_function = score_samples - offset_``;
    - records ``history_`` (one dict per epoch) and ``n_epochs_``;
    - shows a progress bar over epochs (``verbose=1``) or one line per epoch
      (``verbose=2``), and stops with :class:`~skanomaly.exceptions.TrainingDivergedError`
      when the loss becomes NaN or inf;
    - warns (:class:`~sklearn.exceptions.ConvergenceWarning`) when training
      ended on the plateau where the network reconstructs every input alike.
    """

    #: rows of the training data the plateau check reconstructs
    _plateau_check_rows = 256
    #: the check warns below this ratio of reconstruction to input spread
    _plateau_spread_ratio = 1e-3

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "scaling": [StrOptions({"auto", "feature", "global", "none"})],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "input_shape": [tuple, list, None],
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # docstring lines ``{{fitted_attributes}}`` etc. get the shared text
        fill_shared_docs(cls)

    #: image-only methods set this; their net receives (n, C, H, W) batches
    _requires_image = False
    #: the skorch net class that trains the method
    _net_class = DetectorNet

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build_module(self) -> nn.Module:
        """Return the (untrained) torch module; ``n_features_in_`` and
        ``input_shape_`` are set."""

    @abstractmethod
    def _anomaly_score_batch(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Per-sample anomaly scores of one batch (larger = more anomalous), as
        defined in the method's paper. ``module`` is in eval mode, gradients off."""

    def _build_criterion(self) -> nn.Module:
        return nn.MSELoss()

    def _net_params(self) -> dict:
        """Extra keyword arguments of ``_net_class`` (the method's training knobs)."""
        return {}

    def _check_method_params(self) -> None:
        """Checks beyond ``_parameter_constraints`` (raise ``ValueError``)."""

    def _fit_net(self, X_net: np.ndarray, *, seed: int, **fit_params) -> None:
        """Build ``self.net_`` and train it; runs inside the seeded context."""
        if fit_params:
            raise ValueError(
                f"{type(self).__name__}.fit got unexpected fit parameters "
                f"{sorted(fit_params)}."
            )
        self.net_ = self._make_net(seed=seed)
        self.net_.fit(X_net, None)

    # -------------------------------------------------------------- plumbing
    def _make_net(self, *, seed: int, **overrides) -> DetectorNet:
        name = type(self).__name__
        callbacks = [("nonfinite_guard", NonFiniteLossGuard(owner=name))]
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar(desc=name)))
        params = {
            "module": self._build_module(),
            "criterion": self._build_criterion(),
            "optimizer": torch.optim.Adam,
            "lr": self.lr,
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "train_split": None,
            "iterator_train__shuffle": True,
            "device": self.device_,
            "callbacks": callbacks,
            "verbose": 1 if self.verbose >= 2 else 0,
            "seed": seed,
        }
        params.update(self._net_params())
        params.update(overrides)
        return self._net_class(**params)

    def _prepare_fit_input(self, X) -> np.ndarray:
        X, sample_shape = split_spatial_input(X)
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        if sample_shape is not None:
            # a 3-D/4-D array always yields a spatial (C, H, W) sample shape
            if (
                self.input_shape is not None
                and check_input_shape(self.input_shape, X.shape[1]) != sample_shape
            ):
                raise ValueError(
                    f"input_shape={self.input_shape!r} disagrees with the shape "
                    f"{sample_shape} of the {len(sample_shape) + 1}-D input."
                )
            self.input_shape_ = sample_shape
        else:
            self.input_shape_ = check_input_shape(
                self.input_shape,
                X.shape[1],
                requires_image=self._requires_image,
                name=type(self).__name__,
            )
        self.scaler_ = UnitIntervalScaler(self.scaling).fit(X)
        return self._to_net_input(self.scaler_.transform(X))

    def _prepare_input(self, X) -> np.ndarray:
        check_is_fitted(self)
        X, sample_shape = split_spatial_input(X)
        if sample_shape is not None and sample_shape != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {sample_shape}, but "
                f"{type(self).__name__} was fitted on samples of shape "
                f"{self.input_shape_}."
            )
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self._to_net_input(self.scaler_.transform(X))

    def _to_net_input(self, X: np.ndarray) -> np.ndarray:
        if not X.flags.writeable or not X.flags.c_contiguous:
            X = np.ascontiguousarray(X).copy()
        if self._requires_image:
            return X.reshape(X.shape[0], *self.input_shape_)
        return X

    def _batches(self, X_net: np.ndarray):
        """Yield ``(rows, batch)``; every batch is padded to ``batch_size`` rows.

        A fixed batch shape makes the kernels torch picks independent of how many
        rows are scored, so a sample gets bit-identical results whatever else is
        in its batch (checked by the batch-split tests).
        """
        device = self.net_.device
        for start in range(0, X_net.shape[0], self.batch_size):
            chunk = X_net[start : start + self.batch_size]
            n_valid = chunk.shape[0]
            if n_valid < self.batch_size:
                padding = np.zeros(
                    (self.batch_size - n_valid, *chunk.shape[1:]), chunk.dtype
                )
                chunk = np.concatenate([chunk, padding])
            yield slice(start, start + n_valid), torch.as_tensor(chunk, device=device)

    def _map_batches(self, X_net: np.ndarray, fn, out_dtype) -> np.ndarray:
        """Apply ``fn(module, batch)`` batch by batch in eval mode, without grads.

        The output array is allocated from the first batch's result, so memory
        stays bounded by ``batch_size`` plus the output itself.
        """
        module = self.net_.module_
        was_training = module.training
        module.eval()
        out = None
        try:
            with torch.no_grad(), flush_denormal_context():
                for rows, xb in self._batches(X_net):
                    result = fn(module, xb).detach().cpu().numpy()
                    if out is None:
                        out = np.empty((X_net.shape[0], *result.shape[1:]), out_dtype)
                    out[rows] = result[: rows.stop - rows.start]
        finally:
            module.train(was_training)
        return out

    def _warn_if_input_independent(self, X_net: np.ndarray) -> None:
        """Warn when the reconstructions of training rows barely vary.

        Sigmoid autoencoders first learn to output the mean sample and leave that
        plateau only after enough optimiser steps (an attack term that pulls
        codes together, as ARAE's, delays it). A detector stopped there scores
        the distance to the mean, whatever ``max_epochs`` suggested. The spread
        is the per-feature standard deviation across samples, averaged over
        features, of the reconstructions against that of the inputs.
        """
        rows = X_net[: self._plateau_check_rows]
        input_spread = float(rows.reshape(len(rows), -1).std(axis=0).mean())
        if not input_spread > 0:
            return
        spread = float(self._reconstructions(rows).std(axis=0).mean())
        if spread < self._plateau_spread_ratio * input_spread:
            warnings.warn(
                f"{type(self).__name__} reconstructs every training sample "
                f"(nearly) alike: spread {spread:.2g} across samples against "
                f"{input_spread:.2g} in the data after {self.n_epochs_} epochs. "
                "Training stopped on the plateau where the network outputs the "
                "mean sample, so the scores are only distances to that mean. "
                "Train for more optimiser steps (raise max_epochs, lower "
                "batch_size) or raise lr.",
                ConvergenceWarning,
                stacklevel=4,  # the caller of fit, past scikit-learn's wrapper
            )

    def _anomaly_scores(self, X_net: np.ndarray) -> np.ndarray:
        return self._map_batches(
            X_net,
            lambda module, xb: self._anomaly_score_batch(module, xb).double(),
            np.float64,
        )

    # ---------------------------------------------------------------- public
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, **fit_params):
        """Train the detector on normal data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, C, H, W)
            Training data, assumed normal (novelty detection). Images may come
            as flattened rows with ``input_shape=(C, H, W)``.
        y : Ignored
            Not used, present for API consistency.
        **fit_params : dict
            Method-specific fit data; see the method's documentation.

        Returns
        -------
        self : object
            The fitted detector.
        """
        self._check_method_params()
        X_net = self._prepare_fit_input(X)
        seed = derive_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        with seed_context(seed, self.device_), flush_denormal_context():
            self._fit_net(X_net, seed=seed, **fit_params)
        self.history_ = [
            {key: value for key, value in epoch.items() if key != "batches"}
            for epoch in self.net_.history
        ]
        self.n_epochs_ = len(self.history_)
        self._warn_if_input_independent(X_net)
        training_scores = -self._anomaly_scores(X_net)
        self.offset_ = float(np.percentile(training_scores, 100.0 * self.contamination))
        return self

    def score_samples(self, X):
        """Normality of each sample: minus the method's anomaly score.

        Higher means more normal, as in scikit-learn; PyOD's sign is the opposite
        (see :func:`skanomaly.adapters.to_pyod`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            The opposite of the anomaly score; lower is more abnormal.
        """
        return -self._anomaly_scores(self._prepare_input(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,), dtype float64
            Shifted normality scores; below 0 means outlier.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int
            +1 for inliers, -1 for outliers.
        """
        return np.where(self.decision_function(X) < 0, -1, 1).astype(int)

    def encode(self, X):
        """Latent codes of the samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, latent_dim), dtype float32
            The encoder's output.
        """
        return self._map_batches(
            self._prepare_input(X),
            lambda m, xb: self._encode_batch(m, xb).flatten(1),
            np.float32,
        )

    def _encode_batch(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return module.encode(x)

    def reconstruct(self, X):
        """The network's reconstructions, in the scale of the input.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to reconstruct.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features), dtype float32
            Reconstructions as flattened rows (reshape with ``input_shape_``).
        """
        return self.scaler_.inverse_transform(
            self._reconstructions(self._prepare_input(X))
        )

    def _reconstructions(self, X_net: np.ndarray) -> np.ndarray:
        """Flat float32 reconstructions of net-scale input, batch by batch."""
        return self._map_batches(
            X_net,
            lambda m, xb: self._reconstruct_batch(m, xb).flatten(1),
            np.float32,
        )

    def _reconstruct_batch(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return module(x)

    def __setstate__(self, state):
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if net is not None and "device_" in self.__dict__:
            # skorch maps a CUDA-fitted net to the CPU when CUDA is absent
            self.device_ = str(net.device)
