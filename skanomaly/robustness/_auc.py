"""ROC AUC of a detector whose test samples are attacked within an epsilon ball."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from skanomaly.attacks import pgd
from skanomaly.robustness._common import (
    UNIT_BOX,
    ScaledDetector,
    check_box,
    check_budget,
    check_positive_int,
    seeds,
)

_NORMS = ("linf", "l2")


@dataclass(frozen=True)
class AUCUnderAttack:
    """The ROC AUC of a detector at each attack budget (:func:`auc_under_attack`).

    Attributes
    ----------
    epsilons : ndarray of shape (n_epsilons,)
        The budgets, in the order given.
    aucs : ndarray of shape (n_epsilons,)
        ROC AUC (anomaly = positive) on the attacked test set at each budget.
    anomaly_scores : ndarray of shape (n_epsilons, n_samples)
        The detector's anomaly scores (``-score_samples``) of the attacked
        samples.
    norm : {"linf", "l2"}
        The perturbation ball.
    steps : int
        PGD steps.
    """

    epsilons: np.ndarray
    aucs: np.ndarray
    anomaly_scores: np.ndarray
    norm: str
    steps: int


def _check_labels(y, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D; got an array of shape {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(
            f"X and y have different lengths: {n_samples} samples, {len(y)} labels."
        )
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        raise ValueError(
            "y must be binary: 0 for normal samples and 1 for anomalies; got "
            f"values {np.unique(y)[:5].tolist()}."
        )
    y = y.astype(int)
    if len(np.unique(y)) != 2:
        raise ValueError(
            "y must hold both normal samples (0) and anomalies (1): the AUC is "
            "undefined otherwise."
        )
    return y


def _check_epsilons(epsilons) -> np.ndarray:
    try:
        eps = np.array(epsilons, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(
            f"epsilons must be a sequence of numbers; got {epsilons!r}."
        ) from None
    if eps.size == 0:
        raise ValueError("epsilons must hold at least one budget.")
    if not np.isfinite(eps).all() or (eps < 0).any():
        raise ValueError(f"epsilons must be finite and >= 0; got {eps.tolist()}.")
    return eps


def auc_under_attack(
    detector,
    X,
    y,
    epsilons=(0.0, 0.01, 0.02, 0.05, 0.1),
    *,
    norm="linf",
    steps=10,
    step_size=None,
    clip=UNIT_BOX,
    batch_size=256,
    random_state=None,
):
    """ROC AUC when every test sample is attacked toward the wrong side.

    For each budget ``epsilon``, projected gradient ascent
    (:func:`skanomaly.attacks.pgd`, random start) on the detector's
    :meth:`~skanomaly.base.BaseDeepDetector.anomaly_score_module` pushes the
    normal samples (``y == 0``) to look anomalous (maximises their score) and
    the anomalies (``y == 1``) to look normal (minimises theirs) within the ``norm`` ball of radius
    ``epsilon``; the attacked samples are then scored with ``score_samples``
    and the AUC computed with the anomalies as positives. At ``epsilon = 0``
    the samples are not touched, so the AUC is exactly the clean
    ``roc_auc_score(y, -detector.score_samples(X))``. This is the worst case of
    both error kinds at once, beyond the attack on normal samples alone of the
    Puzzle-AE paper's Fig. 10 (FGSM is ``steps=1``).

    Budgets are measured in the detector's scaled space, where the training
    data spans [0, 1] (per feature, or globally, after the detector's
    ``scaling``): for images in [0, 1] fitted with the default scaling, pixel
    units. Works for every skanomaly detector.

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    X : array-like of shape (n_samples, n_features) or image array
        Test samples, as fitted. Not modified.
    y : array-like of shape (n_samples,)
        0 for normal samples, 1 for anomalies; both must occur.
    epsilons : sequence of float, default=(0.0, 0.01, 0.02, 0.05, 0.1)
        Radii of the perturbation ball, >= 0.
    norm : {"linf", "l2"}, default="linf"
        The ball.
    steps : int, default=10
        PGD steps per budget.
    step_size : float, default=None
        PGD step; ``None`` means ``2.5 * epsilon / steps``.
    clip : tuple of float or None, default=(0.0, 1.0)
        Box of the attacked samples in the scaled space, widened to hold ``X``
        itself; the default is the range of the training data. ``None``: no
        box.
    batch_size : int, default=256
        Samples attacked at once.
    random_state : int, RandomState instance or None, default=None
        Seeds PGD's random starts; the global generators are not used.

    Returns
    -------
    result : AUCUnderAttack
        ``epsilons``, ``aucs`` and the attacked anomaly scores.

    See Also
    --------
    skanomaly.plotting.plot_auc_under_attack : draws the curves.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.robustness import auc_under_attack
    >>> rng = np.random.RandomState(0)
    >>> X_train = rng.uniform(0.4, 0.6, size=(64, 8))
    >>> X = np.r_[rng.uniform(0.4, 0.6, size=(8, 8)), rng.uniform(size=(8, 8))]
    >>> y = np.r_[np.zeros(8), np.ones(8)]
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X_train)
    >>> res = auc_under_attack(det, X, y, epsilons=[0, 0.05, 0.2], random_state=0)
    >>> res.aucs.shape, bool(res.aucs[0] >= res.aucs[-1])
    ((3,), True)
    """
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}; got {norm!r}.")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    if step_size is not None:
        step_size = check_budget(step_size, "step_size")
    eps_all = _check_epsilons(epsilons)
    view = ScaledDetector(detector)
    X_copy = np.array(X, copy=True)
    X_s = view.scaled_rows(X_copy)
    y = _check_labels(y, len(X_s))
    box = check_box(clip, X_s)
    _, generator = seeds(random_state)
    # +1: raise the score of normal samples; -1: lower that of anomalies
    sign = torch.as_tensor(np.where(y == 0, 1.0, -1.0), dtype=torch.float64)
    sign = sign.to(view.device)
    module = view.score_module()
    x_all = view.tensor(X_s)

    aucs, all_scores = [], []
    for epsilon in eps_all:
        if epsilon == 0:
            X_attacked = X_copy
        else:
            X_adv_s = np.empty_like(X_s)
            for start in range(0, len(X_s), batch_size):
                rows = slice(start, start + batch_size)
                X_adv_s[rows] = (
                    pgd(
                        lambda x, rows=rows: sign[rows] * view.score(module, x),
                        x_all[rows],
                        epsilon=float(epsilon),
                        steps=steps,
                        step_size=step_size,
                        norm=norm,
                        clip=box,
                        generator=generator,
                        module=module,
                    )
                    .cpu()
                    .numpy()
                )
            X_attacked = view.to_user(X_adv_s, like=X_copy)
        scores = -detector.score_samples(X_attacked)
        all_scores.append(scores)
        aucs.append(roc_auc_score(y, scores))
    return AUCUnderAttack(
        epsilons=eps_all,
        aucs=np.asarray(aucs, dtype=np.float64),
        anomaly_scores=np.asarray(all_scores),
        norm=norm,
        steps=steps,
    )
