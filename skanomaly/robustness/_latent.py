"""The robust GMM-DAE paper's attacks: latent-space and maximum-damage, in L2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import Bounds, minimize
from torch import Tensor

from skanomaly.attacks import attack_mode, pgd
from skanomaly.robustness._common import (
    UNIT_BOX,
    ScaledDetector,
    check_box,
    check_budget,
    check_positive_int,
    seeds,
)
from skanomaly.robustness._msssim import ms_ssim

_METHODS = ("lbfgsb", "pgd")
#: scipy L-BFGS-B settings of the authors' code (methods.md 5.5): history size
#: m, and factr (ftol = factr * machine epsilon) / pgtol
_LBFGSB_OPTIONS = {
    "latent": {"maxcor": 25, "ftol": 10 * np.finfo(float).eps},
    "max_damage": {"maxcor": 100, "ftol": 10 * np.finfo(float).eps, "gtol": 1e-20},
}
_CHUNK = 256


@dataclass(frozen=True)
class AttackResult:
    """The outcome of :func:`latent_space_attack` or :func:`maximum_damage_attack`.

    Inputs and reconstructions are in the units and layout of ``X``; distances
    and MS-SSIM are measured in the detector's scaled space (where the training
    data spans [0, 1]; the pixel space for images in [0, 1]).

    Attributes
    ----------
    attack : {"latent", "max_damage"}
        Which attack.
    method : {"lbfgsb", "pgd"}
        The optimiser.
    budget : float
        The L2 radius lambda.
    X_adv : ndarray
        Adversarial inputs ``x_a = x + delta``, float32.
    reconstructions : ndarray
        Clean reconstructions ``f(z(x))``.
    reconstructions_adv : ndarray
        Adversarial reconstructions ``f(z(x_a))``.
    X_target : ndarray or None
        The targets ``x_t`` (latent attack), else ``None``.
    l2_input : ndarray of shape (n_samples,)
        ``||x_a - x||_2``, at most ``budget``.
    l2_reference : ndarray of shape (n_samples,)
        ``||x_r - f(z(x_a))||_2`` with the reference ``x_r = x_t`` (latent
        attack) or ``x_r = f(z(x))`` (maximum damage).
    ms_ssim_input : ndarray of shape (n_samples,)
        ``MS-SSIM(x, x_a)`` (the paper's ``MSSSIM(x_r, x_a)``); NaN when the
        samples are not images.
    ms_ssim_reference : ndarray of shape (n_samples,)
        ``MS-SSIM(x_t, f(z(x_a)))`` (latent attack; lower = attack failed more)
        or ``MS-SSIM(f(z(x)), f(z(x_a)))`` (maximum damage; higher = more
        robust), the paper's Table 1 quantities; NaN when not images.
    attack_loss : ndarray of shape (n_samples,)
        The attack objective at ``x_a``: ``||z(x_a) - z(x_t)||_2`` (eq. 12) or
        ``||f(z(x_a)) - f(z(x))||_2`` (eq. 13).
    clean_loss : ndarray of shape (n_samples,)
        The same objective at ``x`` (``||z(x) - z(x_t)||_2``, or 0).
    """

    attack: str
    method: str
    budget: float
    X_adv: np.ndarray
    reconstructions: np.ndarray
    reconstructions_adv: np.ndarray
    X_target: np.ndarray | None
    l2_input: np.ndarray
    l2_reference: np.ndarray
    ms_ssim_input: np.ndarray
    ms_ssim_reference: np.ndarray
    attack_loss: np.ndarray
    clean_loss: np.ndarray


def _norm(t: Tensor) -> Tensor:
    # the small constant keeps the gradient finite where the difference vanishes
    return (t.pow(2).sum(dim=1) + 1e-30).sqrt()


def _project(delta: Tensor, budget: float) -> Tensor:
    """Rescale rows of ``delta`` longer than ``budget`` onto the L2 sphere."""
    norms = delta.norm(dim=1, keepdim=True)
    return delta * (budget / norms.clamp_min(1e-300)).clamp(max=1.0)


def _lbfgsb(objective, x: np.ndarray, *, budget, box, options, max_iter, rng):
    """One sample: minimise ``objective(x + delta)`` over the ball and the box.

    As in the authors' code: scipy's L-BFGS-B over the flat ``delta`` with the
    bounds ``low - x <= delta <= high - x``, the L2 ball enforced by rescaling
    ``delta`` to ``budget`` inside the objective and once more at the end, from
    a random point of the ball.
    """
    d = x.size
    x_t = torch.as_tensor(x)
    direction = rng.normal(size=d)
    direction /= max(np.linalg.norm(direction), 1e-300)
    delta0 = direction * budget * rng.uniform(1e-8, 1.0) ** (1.0 / d)
    bounds = None
    if box is not None:
        low, high = box[0] - x, box[1] - x
        delta0 = np.clip(delta0, low, high)
        bounds = Bounds(low, high)

    def fun(delta_np):
        delta = torch.as_tensor(delta_np).requires_grad_(True)
        with torch.enable_grad():
            loss = objective(x_t + _project(delta[None], budget))[0]
            (grad,) = torch.autograd.grad(loss, delta)
        return float(loss.detach()), grad.numpy().astype(np.float64)

    res = minimize(
        fun,
        delta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={**options, "maxiter": max_iter},
    )
    delta = _project(torch.as_tensor(res.x)[None], budget)[0].numpy()
    if box is not None:
        delta = np.clip(delta, box[0] - x, box[1] - x)
    return x + delta


def _attack(
    detector,
    X,
    X_target,
    *,
    kind,
    budget,
    method,
    max_iter,
    steps,
    clip,
    image_shape,
    win_size,
    random_state,
):
    budget = check_budget(budget, "budget", allow_zero=False)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}.")
    max_iter = check_positive_int(max_iter, "max_iter")
    steps = check_positive_int(steps, "steps")
    view = ScaledDetector(detector)
    module = view.autoencoder()
    X_s = view.scaled_rows(X)
    if len(X_s) == 0:
        raise ValueError("X holds no samples.")
    T_s = None
    if X_target is not None:
        T_s = view.scaled_rows(X_target, name="X_target")
        if len(T_s) != len(X_s):
            raise ValueError(
                f"X_target must hold one target per sample of X; got {len(T_s)} "
                f"targets for {len(X_s)} samples."
            )
    box = check_box(clip, X_s if T_s is None else np.concatenate([X_s, T_s]))
    if image_shape is None:
        shape = view.input_shape
        image_shape = shape if len(shape) == 3 else None
    rng, generator = seeds(random_state)
    device = view.device

    with attack_mode(module), torch.no_grad():
        x_clean = view.tensor(X_s)
        rec_clean = view.decode(module, view.encode(module, x_clean))
        # the fixed point the objective measures from: z(x_t), or f(z(x))
        anchor = (
            view.encode(module, view.tensor(T_s)).to(torch.float64)
            if kind == "latent"
            else rec_clean
        )

    def objective(x_adv: Tensor, anchor_rows: Tensor) -> Tensor:
        """Per-sample loss to minimise."""
        if kind == "latent":
            return _norm(view.encode(module, x_adv).to(torch.float64) - anchor_rows)
        return -_norm(view.decode(module, view.encode(module, x_adv)) - anchor_rows)

    X_adv_s = np.empty_like(X_s)
    with attack_mode(module):
        if method == "lbfgsb":
            for i in range(len(X_s)):
                X_adv_s[i] = _lbfgsb(
                    lambda x, i=i: objective(x.to(device), anchor[i : i + 1]).cpu(),
                    X_s[i],
                    budget=budget,
                    box=box,
                    options=_LBFGSB_OPTIONS[kind],
                    max_iter=max_iter,
                    rng=rng,
                )
        else:
            for start in range(0, len(X_s), _CHUNK):
                rows = slice(start, start + _CHUNK)
                X_adv_s[rows] = (
                    pgd(
                        lambda x, rows=rows: -objective(x, anchor[rows]),
                        x_clean[rows],
                        epsilon=budget,
                        steps=steps,
                        norm="l2",
                        clip=box,
                        generator=generator,
                    )
                    .cpu()
                    .numpy()
                )
        with torch.no_grad():
            x_adv = view.tensor(X_adv_s)
            z_adv = view.encode(module, x_adv).to(torch.float64)
            rec_adv = view.decode(module, z_adv)
            if kind == "latent":
                z_clean = view.encode(module, x_clean).to(torch.float64)
                attack_loss = (z_adv - anchor).norm(dim=1)
                clean_loss = (z_clean - anchor).norm(dim=1)
            else:
                attack_loss = (rec_adv - rec_clean).norm(dim=1)
                clean_loss = torch.zeros(len(X_s), dtype=torch.float64)

    rec_clean = rec_clean.cpu().numpy()
    rec_adv = rec_adv.cpu().numpy()
    reference = T_s if kind == "latent" else rec_clean
    if image_shape is not None:
        ms_input = ms_ssim(X_s, X_adv_s, image_shape=image_shape, win_size=win_size)
        ms_reference = ms_ssim(
            reference, rec_adv, image_shape=image_shape, win_size=win_size
        )
    else:
        ms_input = ms_reference = np.full(len(X_s), np.nan)
    return AttackResult(
        attack=kind,
        method=method,
        budget=budget,
        X_adv=view.to_user(X_adv_s, like=X),
        reconstructions=view.to_user(rec_clean, like=X),
        reconstructions_adv=view.to_user(rec_adv, like=X),
        X_target=None if T_s is None else view.to_user(T_s, like=X),
        l2_input=np.linalg.norm(X_adv_s - X_s, axis=1),
        l2_reference=np.linalg.norm(reference - rec_adv, axis=1),
        ms_ssim_input=ms_input,
        ms_ssim_reference=ms_reference,
        attack_loss=attack_loss.cpu().numpy(),
        clean_loss=clean_loss.cpu().numpy(),
    )


_SHARED_PARAMS = """
    budget : float, default=1.0
        The L2 radius lambda of the perturbation (the paper uses 1, 3 and 5 on
        28x28 images in [0, 1]), in the detector's scaled space.
    method : {"lbfgsb", "pgd"}, default="lbfgsb"
        ``"lbfgsb"``: as the authors, scipy's L-BFGS-B on each sample alone
        over the flat ``delta`` with the box bounds, the ball enforced by
        rescaling ``delta`` onto it inside the objective and at the end, from a
        random point of the ball, gradients from torch. ``"pgd"``: projected
        gradient descent in L2 (:func:`skanomaly.attacks.pgd`), batched, much
        faster.
    max_iter : int, default=100
        L-BFGS-B iterations per sample. The authors' code ran to scipy's
        convergence tests (``factr=10``) with its 15,000-iteration cap.
    steps : int, default=50
        PGD steps (step ``2.5 * budget / steps``).
    clip : tuple of float or None, default=(0.0, 1.0)
        The box of ``x + delta`` in the scaled space, widened to hold the given
        samples; the default is the range of the training data (the paper's
        ``-x <= delta <= 1 - x``). ``None``: no box.
    image_shape : tuple of int, default=None
        ``(C, H, W)`` of one image for MS-SSIM; ``None`` takes the detector's
        ``input_shape_`` when it is an image shape, else MS-SSIM is NaN.
    win_size : int, default=5
        MS-SSIM window, see :func:`ms_ssim` (three scales on 28 px images).
    random_state : int, RandomState instance or None, default=None
        Seeds the random starting points; the global generators are not used.
"""


def latent_space_attack(
    detector,
    X,
    X_target,
    *,
    budget=1.0,
    method="lbfgsb",
    max_iter=100,
    steps=50,
    clip=UNIT_BOX,
    image_shape=None,
    win_size=5,
    random_state=None,
):
    """Move the code of ``x + delta`` toward the code of a target, ``||delta||_2 <= lambda``.

    The robust GMM-DAE paper's latent-space (supervised) attack, eq. (12):
    ``min_{||delta||_2 <= lambda} ||z(x + delta) - z(x_t)||_2`` with ``z`` the
    detector's encoder, ``x_t`` a target image (the paper: an image of
    another class). A robust model keeps the reconstruction ``f(z(x + delta))``
    far from ``x_t``: low ``ms_ssim_reference``, the paper's
    ``MSSSIM(x_r, x~_a)`` with ``x_r = x_t``.

    Works for every detector whose network has ``encode`` and ``decode``
    (DenoisingAE, ARAE, LISAE, RobustGMMDAE, CRBND); a PuzzleAE's U-Net has no
    decoder of the code alone (``TypeError``).

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    X : array-like of shape (n_samples, n_features) or image array
        The samples to perturb, as fitted. Not modified.
    X_target : array-like, same shape as X
        One target per sample.
    {params}
    Returns
    -------
    result : AttackResult
        Adversarial inputs, reconstructions, L2 distances and MS-SSIM per
        sample.

    See Also
    --------
    maximum_damage_attack : the untargeted attack on the reconstruction.
    auc_under_attack : attacks on the anomaly score itself.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.robustness import latent_space_attack
    >>> X = np.random.RandomState(0).uniform(size=(32, 1, 8, 8)).astype("float32")
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> res = latent_space_attack(det, X[:2], X[2:4], budget=1.0, max_iter=10,
    ...                           random_state=0)
    >>> bool((res.l2_input <= 1.0 + 1e-9).all()), res.ms_ssim_reference.shape
    (True, (2,))
    >>> bool((res.attack_loss <= res.clean_loss).all())
    True
    """
    if X_target is None:
        raise ValueError("latent_space_attack needs X_target, one target per sample.")
    return _attack(
        detector,
        X,
        X_target,
        kind="latent",
        budget=budget,
        method=method,
        max_iter=max_iter,
        steps=steps,
        clip=clip,
        image_shape=image_shape,
        win_size=win_size,
        random_state=random_state,
    )


def maximum_damage_attack(
    detector,
    X,
    *,
    budget=1.0,
    method="lbfgsb",
    max_iter=100,
    steps=50,
    clip=UNIT_BOX,
    image_shape=None,
    win_size=5,
    random_state=None,
):
    """Push the reconstruction of ``x + delta`` away from that of ``x``, ``||delta||_2 <= lambda``.

    The robust GMM-DAE paper's maximum-damage (output-space) attack, eq. (13):
    ``max_{||delta||_2 <= lambda} ||f(z(x + delta)) - f(z(x))||_2`` with ``z``
    the encoder and ``f`` the decoder. A robust model keeps the adversarial
    reconstruction close to the clean one: high ``ms_ssim_reference``, the
    paper's ``MSSSIM(x~_r, x~_a)``.

    Works for every detector whose network has ``encode`` and ``decode``
    (DenoisingAE, ARAE, LISAE, RobustGMMDAE, CRBND); a PuzzleAE's U-Net has no
    decoder of the code alone (``TypeError``).

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    X : array-like of shape (n_samples, n_features) or image array
        The samples to perturb, as fitted. Not modified.
    {params}
    Returns
    -------
    result : AttackResult
        Adversarial inputs, reconstructions, L2 distances and MS-SSIM per
        sample (``X_target`` is ``None``).

    See Also
    --------
    latent_space_attack : the targeted attack on the code.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.robustness import maximum_damage_attack
    >>> X = np.random.RandomState(0).uniform(size=(32, 1, 8, 8)).astype("float32")
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> res = maximum_damage_attack(det, X[:3], budget=1.0, method="pgd",
    ...                             steps=10, random_state=0)
    >>> res.X_adv.shape, bool((res.l2_input <= 1.0 + 1e-9).all())
    ((3, 1, 8, 8), True)
    """
    return _attack(
        detector,
        X,
        None,
        kind="max_damage",
        budget=budget,
        method=method,
        max_iter=max_iter,
        steps=steps,
        clip=clip,
        image_shape=image_shape,
        win_size=win_size,
        random_state=random_state,
    )


latent_space_attack.__doc__ = latent_space_attack.__doc__.replace(
    "    {params}\n", _SHARED_PARAMS.lstrip("\n")
)
maximum_damage_attack.__doc__ = maximum_damage_attack.__doc__.replace(
    "    {params}\n", _SHARED_PARAMS.lstrip("\n")
)
