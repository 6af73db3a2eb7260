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

from skanomaly.nets.scores import AnomalyScoreModule, InputScaling
from skanomaly.training import (
    DetectorNet,
    EpochProgressBar,
    FitContext,
    NonFiniteLossGuard,
)
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

    It owns the scikit-learn contract, so that a method brings only its network
    (:meth:`_build_module`), its training (a :class:`DetectorNet` subclass in
    ``_net_class``, its settings from :meth:`_net_kwargs`, and, for several
    stages, :meth:`_fit_stages`) and its anomaly score as a torch module
    (:meth:`_build_score_module`). ``docs/extending.md`` lists every hook with
    its contract and walks through a complete two-stage detector.

    What the base does:

    - validates parameters (``_parameter_constraints``) and input (NaN, inf,
      feature count, too few samples, non-numeric data) with ``ValueError``,
      and so the extra fit arrays a method declares in ``_fit_arrays``;
    - accepts flat rows with ``input_shape=(C, H, W)``, or 3-D ``(n, H, W)`` and
      4-D ``(n, C, H, W)`` arrays, and sets ``input_shape_``;
    - maps inputs to [0, 1] with a scaling learned at fit (``scaling``);
    - seeds torch from ``random_state`` inside a forked RNG, so no global random
      state changes and the same seed gives the same scores on CPU;
    - resolves ``device="auto"`` into ``device_``;
    - trains in one or more named stages, each with the divergence guard and the
      progress display, into one ``history_`` whose rows carry their ``stage``;
    - scores with every registered module in eval mode, in batches of
      ``batch_size``, as float64, with ``score_samples`` = minus the paper's
      anomaly score (higher = more normal), and exposes that score as a
      differentiable module (:meth:`anomaly_score_module`);
    - sets ``offset_`` to the ``100 * contamination`` percentile of the training
      ``score_samples``; ``decision_function = score_samples - offset_``;
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
    #: names of the extra arrays ``fit`` accepts (e.g. ``("X_negative",)``)
    _fit_arrays: tuple[str, ...] = ()

    # ------------------------------------------------------------------ hooks
    def _check_method_params(self) -> None:
        """Checks beyond ``_parameter_constraints`` (raise ``ValueError``).

        Called first in ``fit``, before the data is looked at."""

    @abstractmethod
    def _build_module(self, ctx: FitContext) -> nn.Module:
        """Return the untrained main torch module (skorch's ``module_``)."""

    @abstractmethod
    def _build_score_module(self) -> nn.Module:
        """The method's anomaly score of net-ready batches, as a torch module.

        Called on a fitted detector. The module maps a batch shaped as the net
        sees it (``(n, *input_shape_)`` for image methods, else ``(n,
        n_features)``, scaled) to ``(n,)`` scores, larger = more anomalous, as
        the paper defines them; it may share the fitted modules. Scoring wraps
        it in eval mode and ``torch.no_grad``; :meth:`anomaly_score_module`
        wraps it with the input scaling and keeps gradients.
        """

    def _build_criterion(self):
        """The skorch criterion, or None when the training step computes its own
        loss (the default)."""
        return None

    def _net_kwargs(self, ctx: FitContext) -> dict:
        """Keyword arguments of ``_net_class`` beyond the base's, e.g.
        ``{"settings": ...}`` or ``optimizer__weight_decay``."""
        return {}

    def _callbacks(self, ctx: FitContext) -> list:
        """The method's skorch callbacks, ``[(name, callback), ...]``; they run
        after the base's divergence guard and progress bar."""
        return []

    def _fit_stages(self, ctx: FitContext) -> None:
        """Build ``net_`` and train it; the default is one stage, ``"train"``.

        Runs inside the seeded context. Override to train several stages
        (:meth:`_train_stage` for each) or to set fitted attributes that scoring
        needs; everything scoring reads must be set before this returns,
        because the plateau check and ``offset_`` score the training data next.
        """
        self.net_ = self._make_net(ctx)
        self._train_stage(ctx, "train", ctx.X)

    # -------------------------------------------------------------- plumbing
    def _make_net(self, ctx: FitContext, **overrides) -> DetectorNet:
        """A new, untrained ``_net_class`` with the base's settings, the
        method's ``_net_kwargs`` and callbacks, and ``overrides`` last."""
        name = type(self).__name__
        callbacks = [("nonfinite_guard", NonFiniteLossGuard(owner=name))]
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar(desc=name)))
        callbacks += list(self._callbacks(ctx))
        params = {
            "module": self._build_module(ctx),
            "criterion": self._build_criterion(),
            "optimizer": torch.optim.Adam,
            "lr": self.lr,
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "train_split": None,
            "iterator_train__shuffle": True,
            "device": ctx.device,
            "callbacks": callbacks,
            "verbose": 1 if self.verbose >= 2 else 0,
            "seed": ctx.seed,
        }
        params.update(self._net_kwargs(ctx))
        params.update(overrides)
        return self._net_class(**params)

    def _train_stage(
        self, ctx: FitContext, stage: str, X, y=None, *, net=None, max_epochs=None
    ) -> None:
        """Train ``net`` (default ``net_``) on ``(X, y)`` as the named stage.

        The net keeps its weights, optimizers and history between stages (a
        skorch ``partial_fit``; the first call initialises it), so a later
        stage continues where the earlier one stopped; a new net for a stage
        works too. Each epoch's history row gets ``stage``; the rows are added
        to ``ctx.history`` (which becomes ``history_``) and counted in
        ``ctx.stage_epochs``.

        Parameters
        ----------
        ctx : FitContext
            The fit's context.
        stage : str
            Name of the stage (shown in ``history_`` and the progress bar).
        X, y : array-like
            What the net's ``partial_fit`` takes; ``y=None`` for reconstruction.
        net : DetectorNet, default=None
            The net to train; ``net_`` when None.
        max_epochs : int, default=None
            Epochs of this stage; the net's ``max_epochs`` when None.
        """
        net = self.net_ if net is None else net
        params = {"stage": stage}
        if max_epochs is not None:
            params["max_epochs"] = int(max_epochs)
        net.set_params(**params)
        start = len(net.history) if net.initialized_ else 0
        net.partial_fit(X, y)
        rows = [
            {key: value for key, value in epoch.items() if key != "batches"}
            for epoch in net.history[start:]
        ]
        ctx.history.extend(rows)
        ctx.stage_epochs[stage] = ctx.stage_epochs.get(stage, 0) + len(rows)

    def _registered_modules(self) -> list[nn.Module]:
        """Every module registered with skorch on ``net_`` (``module_`` first)."""
        net = self.net_
        return [getattr(net, name + "_") for name in net._modules]

    def _validated_rows(self, X, *, name: str, reset: bool) -> np.ndarray:
        """Flat float32 rows of ``X`` after scikit-learn's checks.

        ``reset=True`` (the training ``X``) learns ``n_features_in_`` and
        ``input_shape_``; otherwise ``X`` must match them.
        """
        X, sample_shape = split_spatial_input(X)
        if reset:
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
            return X
        try:
            if sample_shape is not None and sample_shape != self.input_shape_:
                raise ValueError(
                    f"X has samples of shape {sample_shape}, but "
                    f"{type(self).__name__} was fitted on samples of shape "
                    f"{self.input_shape_}."
                )
            return validate_data(self, X, dtype=np.float32, reset=False)
        except ValueError as exc:
            if name == "X":
                raise
            raise ValueError(f"{name}: {exc}") from exc

    def _prepare_fit_input(self, X, fit_params: dict):
        """Validate, learn the scaling and shape ``X`` and the extra fit arrays."""
        unknown = sorted(set(fit_params) - set(self._fit_arrays))
        if unknown:
            accepted = list(self._fit_arrays) or "none"
            raise ValueError(
                f"{type(self).__name__}.fit got unexpected fit parameters "
                f"{unknown}; it accepts: {accepted}."
            )
        X = self._validated_rows(X, name="X", reset=True)
        self.scaler_ = UnitIntervalScaler(self.scaling).fit(X)
        arrays = {}
        for name, value in fit_params.items():
            if value is None:
                continue
            rows = self._validated_rows(value, name=name, reset=False)
            arrays[name] = self._to_net_input(self.scaler_.transform(rows))
        return self._to_net_input(self.scaler_.transform(X)), arrays

    def _prepare_input(self, X) -> np.ndarray:
        check_is_fitted(self)
        rows = self._validated_rows(X, name="X", reset=False)
        return self._to_net_input(self.scaler_.transform(rows))

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
        """Apply ``fn(batch)`` batch by batch, every module in eval mode, no grads.

        Every module registered with ``net_`` is put in eval mode and restored
        afterwards. The output array is allocated from the first batch's result,
        so memory stays bounded by ``batch_size`` plus the output itself.
        """
        modules = self._registered_modules()
        modes = [module.training for module in modules]
        for module in modules:
            module.eval()
        out = None
        try:
            with torch.no_grad(), flush_denormal_context():
                for rows, xb in self._batches(X_net):
                    result = fn(xb).detach().cpu().numpy()
                    if out is None:
                        out = np.empty((X_net.shape[0], *result.shape[1:]), out_dtype)
                    out[rows] = result[: rows.stop - rows.start]
        finally:
            for module, mode in zip(modules, modes, strict=True):
                module.train(mode)
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
        scorer = self._build_score_module()
        return self._map_batches(X_net, lambda xb: scorer(xb).double(), np.float64)

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
            Extra arrays the method declares (for example ``X_negative``),
            validated and scaled like ``X``; see the method's documentation.
            Any other name raises ``ValueError``.

        Returns
        -------
        self : object
            The fitted detector.
        """
        self._check_method_params()
        X_net, arrays = self._prepare_fit_input(X, fit_params)
        seed = derive_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        ctx = FitContext(
            X=X_net,
            arrays=arrays,
            seed=seed,
            device=self.device_,
            input_shape=self.input_shape_,
        )
        with seed_context(seed, self.device_), flush_denormal_context():
            self._fit_stages(ctx)
        self.history_ = ctx.history
        self.n_epochs_per_stage_ = dict(ctx.stage_epochs)
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
        module = self.net_.module_
        return self._map_batches(
            self._prepare_input(X),
            lambda xb: self._encode_batch(module, xb).flatten(1),
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
        module = self.net_.module_
        return self._map_batches(
            X_net,
            lambda xb: self._reconstruct_batch(module, xb).flatten(1),
            np.float32,
        )

    def _reconstruct_batch(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return module(x)

    def anomaly_score_module(self) -> nn.Module:
        """The fitted anomaly score as a differentiable torch module.

        The module takes a float tensor in the units and layout of ``fit``'s
        ``X`` (flat rows, or images ``(n, C, H, W)`` / ``(n, H, W)``), applies
        the fitted scaling and returns the paper's per-sample anomaly score
        (larger = more anomalous), equal to ``-score_samples`` to float
        tolerance, with gradients flowing to the input. It is in eval mode on
        ``device_`` and shares the detector's weights (it is a view, not a
        copy): attacks, saliency maps and robustness evaluations use it.

        Returns
        -------
        module : torch.nn.Module
            An :class:`~skanomaly.nets.AnomalyScoreModule`.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from skanomaly import DenoisingAE
        >>> X = np.random.RandomState(0).uniform(size=(32, 6))
        >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
        ...                   random_state=0).fit(X)
        >>> x = torch.tensor(X[:4], dtype=torch.float32, requires_grad=True)
        >>> score = det.anomaly_score_module()(x)
        >>> bool(np.allclose(score.detach().numpy(), -det.score_samples(X[:4]),
        ...                  rtol=1e-6))
        True
        >>> score.sum().backward()
        >>> x.grad.shape
        torch.Size([4, 6])
        """
        check_is_fitted(self)
        scaler = self.scaler_
        compute_dtype = (
            torch.float32 if torch.device(self.device_).type == "mps" else torch.float64
        )
        scaling = InputScaling(
            None if scaler.is_identity else scaler.min_,
            None if scaler.is_identity else scaler.scale_,
            compute_dtype=compute_dtype,
        )
        module = AnomalyScoreModule(
            self._build_score_module(),
            scaling,
            self.input_shape_,
            image_input=self._requires_image,
        )
        return module.to(self.device_).eval()

    def __setstate__(self, state):
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if net is not None and "device_" in self.__dict__:
            # skorch maps a CUDA-fitted net to the CPU when CUDA is absent
            self.device_ = str(net.device)
