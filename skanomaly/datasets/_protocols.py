"""The one-class protocols of the novelty detection papers."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_consistent_length, column_or_1d

from skanomaly.utils._torch import derive_seed


def _as_normal_classes(normal_classes, labels) -> np.ndarray:
    if isinstance(normal_classes, (Integral, str, np.integer)):
        normal = np.asarray([normal_classes])
    else:
        normal = np.asarray(list(normal_classes))
    if normal.size == 0:
        raise ValueError("normal_classes is empty; name at least one class.")
    present = np.unique(labels)
    missing = [value for value in normal.tolist() if value not in present.tolist()]
    if missing:
        raise ValueError(
            f"normal class(es) {missing} not found in the labels "
            f"(classes present: {present.tolist()})."
        )
    if np.isin(present, normal).all():
        raise ValueError(
            f"normal_classes={normal.tolist()} covers every class; no anomalies "
            "would be left."
        )
    return normal


def _check_xy(X, y, name_x, name_y):
    X = np.asarray(X)
    y = column_or_1d(y, warn=False)
    if X.ndim < 2:
        raise ValueError(f"{name_x} must have one sample per row; got shape {X.shape}.")
    if len(X) != len(y):
        raise ValueError(
            f"{name_x} has {len(X)} samples but {name_y} has {len(y)} labels."
        )
    return X, y


def one_class_split(
    X,
    y,
    normal_classes,
    *,
    protocol=2,
    X_test=None,
    y_test=None,
    train_fraction=0.8,
    anomaly_fraction=None,
    random_state=None,
):
    """Turn a labelled data set into a one-class novelty detection task.

    The normal class(es) are the inliers; every other class is an anomaly. The
    returned ``y_test`` marks anomalies with 1 and normal samples with 0
    (anomaly = positive, as in the papers), ready for :mod:`skanomaly.metrics`
    with the default ``outlier_label=1``.

    - **Protocol 2** (official splits; ARAE Tables 1-2, Puzzle-AE): train on the
      normal class(es) of the training split ``(X, y)``; test on the whole
      test split ``(X_test, y_test)``. Deterministic: ``random_state`` is not
      used.
    - **Protocol 1** (merged data; ARAE's MNIST F1 and COIL experiments, GPND):
      ``(X, y)`` and, when given, ``(X_test, y_test)`` are merged; a seeded
      random ``train_fraction`` of the normal samples is used for training; the
      test set is the remaining normal samples plus anomalies drawn at random so
      that they make up ``anomaly_fraction`` of it (all anomalies when
      ``anomaly_fraction=None``).

    Training data never contains an anomaly, and no sample is in both sets.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Samples of the training split (protocol 2) or of the whole data set.
    y : array-like of shape (n_samples,)
        Class labels of ``X``.
    normal_classes : label or sequence of labels
        The class or classes that count as normal.
    protocol : {1, 2}, default=2
        Which protocol to follow (see above).
    X_test : array-like of shape (n_test, ...), default=None
        The official test split; required by protocol 2, merged with ``X`` by
        protocol 1.
    y_test : array-like of shape (n_test,), default=None
        Class labels of ``X_test``.
    train_fraction : float, default=0.8
        Protocol 1: share of the normal samples used for training, in (0, 1).
        (The papers say 80 %; ARAE's code trains on 60 % and validates on the
        next 20 %.)
    anomaly_fraction : float, default=None
        Protocol 1: share of anomalies in the test set, in (0, 1); ``None`` keeps
        every anomaly. Not used by protocol 2, which tests on the whole test
        split.
    random_state : int, RandomState instance or None, default=None
        Protocol 1: seeds the choice of training normals and of the anomalies.
        ``None`` gives a fresh split each call without touching numpy's global
        generator.

    Returns
    -------
    X_train : ndarray of shape (n_train, ...)
        Normal samples to fit a detector on.
    X_test : ndarray of shape (n_eval, ...)
        Test samples, normal and anomalous.
    y_test : ndarray of shape (n_eval,), dtype int64
        1 for anomalies, 0 for normal samples.

    Raises
    ------
    ValueError
        For an unknown protocol, a missing test split in protocol 2, normal
        classes absent from the labels or covering them all, fractions outside
        (0, 1), or too few anomalies for ``anomaly_fraction``.

    Examples
    --------
    >>> from skanomaly.datasets import load_digits_unit, one_class_split
    >>> X, y = load_digits_unit(return_X_y=True)
    >>> X_train, X_test, y_test = one_class_split(
    ...     X, y, normal_classes=0, protocol=1, anomaly_fraction=0.5, random_state=0)
    >>> X_train.shape, X_test.shape, float(y_test.mean())
    ((142, 64), (72, 64), 0.5)
    """
    if protocol not in (1, 2):
        raise ValueError(f"protocol must be 1 or 2, got {protocol!r}.")
    X, y = _check_xy(X, y, "X", "y")
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test and y_test must be given together.")
    if X_test is not None:
        X_test, y_test = _check_xy(X_test, y_test, "X_test", "y_test")
        if X_test.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]} but X_test has samples of "
                f"shape {X_test.shape[1:]}."
            )

    if protocol == 2:
        if X_test is None:
            raise ValueError(
                "protocol 2 tests on the official test split: pass X_test and "
                "y_test (or use protocol=1 for data without an official split)."
            )
        if anomaly_fraction is not None:
            raise ValueError(
                "anomaly_fraction applies to protocol 1 only; protocol 2 tests on "
                "the whole test split."
            )
        normal = _as_normal_classes(normal_classes, np.concatenate([y, y_test]))
        train_mask = np.isin(y, normal)
        if not train_mask.any():
            raise ValueError(
                f"the training split holds no sample of the normal class(es) "
                f"{normal.tolist()}."
            )
        y_out = (~np.isin(y_test, normal)).astype(np.int64)
        return X[train_mask], X_test.copy(), y_out

    if not isinstance(train_fraction, Real) or not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}.")
    if anomaly_fraction is not None and (
        not isinstance(anomaly_fraction, Real) or not 0 < anomaly_fraction < 1
    ):
        raise ValueError(
            f"anomaly_fraction must be None or in (0, 1), got {anomaly_fraction!r}."
        )
    if X_test is not None:
        X = np.concatenate([X, X_test])
        y = np.concatenate([y, y_test])
    check_consistent_length(X, y)
    normal = _as_normal_classes(normal_classes, y)
    # None draws fresh OS entropy, never numpy's global generator
    rng = np.random.RandomState(derive_seed(random_state))

    normal_idx = rng.permutation(np.flatnonzero(np.isin(y, normal)))
    n_train = int(round(train_fraction * len(normal_idx)))
    if n_train < 1 or n_train >= len(normal_idx):
        raise ValueError(
            f"train_fraction={train_fraction} of {len(normal_idx)} normal samples "
            "leaves an empty training or test part."
        )
    train_idx, test_normal_idx = normal_idx[:n_train], normal_idx[n_train:]
    anomaly_idx = np.flatnonzero(~np.isin(y, normal))
    if anomaly_fraction is None:
        chosen = anomaly_idx
    else:
        n_anomalies = int(
            round(anomaly_fraction / (1 - anomaly_fraction) * len(test_normal_idx))
        )
        n_anomalies = max(n_anomalies, 1)
        if n_anomalies > len(anomaly_idx):
            raise ValueError(
                f"anomaly_fraction={anomaly_fraction} needs {n_anomalies} anomalies "
                f"next to {len(test_normal_idx)} normal test samples, but only "
                f"{len(anomaly_idx)} exist."
            )
        chosen = rng.choice(anomaly_idx, size=n_anomalies, replace=False)
    test_idx = np.sort(np.concatenate([test_normal_idx, chosen]))
    y_out = (~np.isin(y[test_idx], normal)).astype(np.int64)
    return X[np.sort(train_idx)], X[test_idx], y_out
