"""What ``fit`` learned about the data, handed to the hooks that build and train."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FitContext:
    """The facts of one ``fit`` call, passed to every hook that builds or trains.

    :meth:`~skanomaly.base.BaseDeepDetector.fit` validates and scales the input,
    then creates one context and hands it to ``_fit_stages`` and, through
    ``_make_net``, to ``_build_module``, ``_net_kwargs`` and ``_callbacks``.
    Hooks read what fit learned from here instead of from temporary estimator
    attributes; ``_train_stage`` appends each stage's epochs to ``history``.

    Attributes
    ----------
    X : ndarray or StreamedNetInput
        The training data as the network sees it: scaled to the net's units and
        shaped ``(n, *input_shape)`` for image methods, ``(n, n_features)``
        otherwise. Never the caller's array. When ``fit`` got a memmap or a
        torch Dataset, a :class:`~skanomaly.utils._streaming.StreamedNetInput`
        that reads, scales and shapes rows when indexed (a slice or row
        numbers give an array; ``len``, ``shape`` and ``take`` work; it is
        never converted to one array).
    arrays : dict of str to ndarray
        The extra fit arrays the method declared (``_fit_arrays``) and the caller
        passed, validated, scaled and shaped like ``X``.
    seed : int
        The seed of this fit (from ``random_state``); the whole fit runs inside a
        forked torch RNG seeded with it.
    device : str
        The resolved torch device (``device_``).
    input_shape : tuple of int
        Shape of one sample (``input_shape_``).
    batch_size : int
        The training batch size, ``"auto"`` resolved (``batch_size_``).
    max_epochs : int
        Epochs of a stage unless it says otherwise, ``"auto"`` resolved.
    facts : dict of str to object
        What the method derives from the data and its parameters before any
        network is built (``_derive_facts``: a resolved architecture, loss
        weights, a permutation set). The hooks that build the networks read
        them here; each ``name`` becomes the fitted attribute ``name_``, and a
        saved detector stores them to rebuild its networks
        (:func:`skanomaly.load`).
    n_samples : int or None
        Training rows (None: ``len(X)``).
    X_calibration : ndarray, StreamedNetInput or None
        The held-out rows that will calibrate the threshold, as the network
        sees them (None with ``calibration="training"``). Stages never train
        on them; a method may fit score statistics that must not be measured
        on rows the network learned (the term scales of
        ``anomaly_score="...+knn"``).
    history : list of dict
        Every trained epoch so far, across stages, each with a ``stage`` key.
    stage_epochs : dict of str to int
        Epochs trained per stage, in stage order.
    """

    X: np.ndarray
    seed: int
    device: str
    input_shape: tuple[int, ...]
    batch_size: int
    max_epochs: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)
    n_samples: int | None = None
    X_calibration: np.ndarray | None = None
    history: list[dict] = field(default_factory=list)
    stage_epochs: dict[str, int] = field(default_factory=dict)
    #: the answer of :meth:`in_unit_interval`, once asked (a saved detector
    #: stores it: its networks are rebuilt without the data)
    unit_interval: bool | None = None

    def __post_init__(self) -> None:
        if self.n_samples is None:
            self.n_samples = int(len(self.X))

    @property
    def n_features(self) -> int:
        """Values per sample."""
        return int(np.prod(self.input_shape))

    def in_unit_interval(self) -> bool:
        """Whether every training value lies in [0, 1] (images, scaled data).

        The data is read once for this (then remembered)."""
        if self.unit_interval is None:
            if hasattr(self.X, "value_range"):
                low, high = self.X.value_range()
            else:
                low, high = self.X.min(), self.X.max()
            self.unit_interval = bool(low >= 0.0 and high <= 1.0)
        return self.unit_interval
