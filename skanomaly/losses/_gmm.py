"""Losses that regularise latent codes toward a Gaussian mixture prior (GMM-DAE).

Saseendran et al. (NeurIPS 2021, 2022) shape the codes of a deterministic
autoencoder toward a mixture of ``K`` equal-weight isotropic Gaussians with
means ``means[k]`` and standard deviation ``sigma``: a Kolmogorov-Smirnov term
on each marginal, a covariance term on the whole code (and, with adversarial
training, on the clean and adversarial codes side by side), and a two-sample KS
term that pairs the clean and adversarial codes. Every function here works on
one batch and returns a scalar (the losses) or one value per sample
(:func:`gmm_log_likelihood`); none draws random numbers except the samplers,
which take a generator.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _check_prior(means: Tensor, sigma: float) -> None:
    if means.dim() != 2 or means.shape[0] < 1 or means.shape[1] < 1:
        raise ValueError(
            "means must be a tensor of shape (n_components, latent_dim); got shape "
            f"{tuple(means.shape)}."
        )
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite float > 0; got {sigma!r}.")


def _check_codes(z: Tensor, means: Tensor, name: str = "z") -> None:
    if z.dim() != 2 or z.shape[1] != means.shape[1]:
        raise ValueError(
            f"{name} must be codes of shape (n, {means.shape[1]}); got shape "
            f"{tuple(z.shape)}."
        )
    if z.shape[0] < 1:
        raise ValueError(f"{name} holds no codes.")


def gmm_means(n_components: int, latent_dim: int, scale: float = 10.0) -> Tensor:
    """The papers' equidistant means: ``scale`` times the first ``K`` unit vectors.

    Parameters
    ----------
    n_components : int
        ``K``, at most ``latent_dim`` (the authors' code silently duplicated
        the means beyond it).
    latent_dim : int
        ``D``, the size of a code.
    scale : float, default=10.0
        Distance of each mean from the origin (the 2022 paper's 10; the 2021
        GMM-DAE used 1).

    Returns
    -------
    means : Tensor of shape (n_components, latent_dim), float32

    Examples
    --------
    >>> gmm_means(2, 3, scale=5.0)
    tensor([[5., 0., 0.],
            [0., 5., 0.]])
    """
    if int(n_components) < 1 or int(latent_dim) < int(n_components):
        raise ValueError(
            "the prior needs 1 <= n_components <= latent_dim; got "
            f"n_components={n_components!r}, latent_dim={latent_dim!r}."
        )
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite float > 0; got {scale!r}.")
    return float(scale) * torch.eye(int(n_components), int(latent_dim))


def gmm_marginal_cdf(z: Tensor, means: Tensor, sigma: float) -> Tensor:
    """Per-dimension CDF of the prior, ``F_d(z) = mean_k Phi((z_d - mu_kd) / sigma)``.

    Parameters
    ----------
    z : Tensor of shape (n, D)
        Codes.
    means : Tensor of shape (K, D)
        The modes' means.
    sigma : float
        The modes' standard deviation.

    Returns
    -------
    cdf : Tensor of shape (n, D)

    Examples
    --------
    >>> import torch
    >>> gmm_marginal_cdf(torch.zeros(1, 2), torch.zeros(1, 2), 1.0)
    tensor([[0.5000, 0.5000]])
    """
    _check_prior(means, sigma)
    standardised = (z.unsqueeze(1) - means.to(z)) / sigma  # (n, K, D)
    return (0.5 * (1.0 + torch.erf(standardised / math.sqrt(2.0)))).mean(dim=1)


def gmm_covariance(means: Tensor, sigma: float) -> Tensor:
    """Covariance of the prior: ``sigma^2 I + mean_k (mu_k - mu_bar)(mu_k - mu_bar)^T``.

    (The authors' code adds ``sigma`` where ``sigma^2`` is meant; the two agree
    at their ``sigma=1``.)

    Examples
    --------
    >>> gmm_covariance(gmm_means(2, 2, scale=2.0), 1.0)
    tensor([[ 2., -1.],
            [-1.,  2.]])
    """
    _check_prior(means, sigma)
    centred = means - means.mean(dim=0, keepdim=True)
    spread = centred.T @ centred / means.shape[0]
    eye = torch.eye(means.shape[1], dtype=means.dtype, device=means.device)
    return sigma**2 * eye + spread


def gmm_log_likelihood(z: Tensor, means: Tensor, sigma: float) -> Tensor:
    """Log-density of each code under the prior, ``Tensor of shape (n,)``.

    ``log mean_k N(z; mu_k, sigma^2 I)``, computed with a log-sum-exp.

    Examples
    --------
    >>> import torch
    >>> ll = gmm_log_likelihood(torch.zeros(1, 1), torch.zeros(1, 1), 1.0)
    >>> round(float(ll), 4)  # log of 1 / sqrt(2 pi)
    -0.9189
    """
    _check_prior(means, sigma)
    _check_codes(z, means)
    dim = means.shape[1]
    squared = (z.unsqueeze(1) - means.to(z)).pow(2).sum(dim=2)  # (n, K)
    log_norm = -0.5 * dim * math.log(2.0 * math.pi * sigma**2)
    log_components = log_norm - 0.5 * squared / sigma**2
    return torch.logsumexp(log_components, dim=1) - math.log(means.shape[0])


def ks_loss(z: Tensor, means: Tensor, sigma: float) -> Tensor:
    """Marginal Kolmogorov-Smirnov loss of a batch of codes against the prior.

    ``(1/D) sum_d (1/n) sum_i (F_d(z_(i),d) - i/n)^2``: on each dimension the
    prior CDF at the ``i``-th smallest code against the empirical CDF there
    (the papers' Eq. 4). Near its minimum (of order ``1/n``) for codes drawn
    from the prior, near its maximum for codes collapsed to one point.

    Parameters
    ----------
    z : Tensor of shape (n, D)
        Codes (the adversarial training pools clean and adversarial codes).
    means : Tensor of shape (K, D)
        The modes' means.
    sigma : float
        The modes' standard deviation.

    Returns
    -------
    loss : Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> means = torch.zeros(1, 1)
    >>> # F = 1/2 everywhere against 1/4, 2/4, 3/4, 1
    >>> float(ks_loss(torch.zeros(4, 1), means, 1.0))
    0.09375
    """
    _check_codes(z, means)
    ordered, _ = torch.sort(z, dim=0)
    n = z.shape[0]
    empirical = torch.arange(1, n + 1, device=z.device, dtype=z.dtype) / n
    cdf = gmm_marginal_cdf(ordered, means, sigma)
    return (cdf - empirical.unsqueeze(1)).pow(2).mean()


def paired_ks_loss(z: Tensor, z_adv: Tensor, means: Tensor, sigma: float) -> Tensor:
    """Two-sample KS loss pairing clean and adversarial codes (the coupling term).

    ``(1/D) sum_d (1/n) sum_i (F_d(z_(i),d) - F_d(z^adv_(i),d))^2``: on each
    dimension the prior CDFs of the two batches' ``i``-th smallest codes are
    matched, so the two batches share their marginal distributions (what the
    authors' code computes for the paper's garbled Eq. 9). Zero when the two
    batches hold the same codes.

    Parameters
    ----------
    z, z_adv : Tensor of shape (n, D)
        Clean codes and the codes of their adversarial inputs.
    means : Tensor of shape (K, D)
        The modes' means.
    sigma : float
        The modes' standard deviation.

    Returns
    -------
    loss : Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> z = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    >>> float(paired_ks_loss(z, z.flip(0), torch.zeros(1, 3), 1.0))
    0.0
    """
    _check_codes(z, means)
    _check_codes(z_adv, means, "z_adv")
    if z.shape != z_adv.shape:
        raise ValueError(
            f"z and z_adv must have the same shape; got {tuple(z.shape)} and "
            f"{tuple(z_adv.shape)}."
        )
    clean = gmm_marginal_cdf(torch.sort(z, dim=0)[0], means, sigma)
    adversarial = gmm_marginal_cdf(torch.sort(z_adv, dim=0)[0], means, sigma)
    return (clean - adversarial).pow(2).mean()


def covariance_loss(
    z: Tensor,
    means: Tensor,
    sigma: float,
    z_adv: Tensor | None = None,
    alpha: float = 0.0,
) -> Tensor:
    """Covariance loss of a batch of codes against the prior's covariance ``S``.

    Without ``z_adv``: the mean over the ``D x D`` entries of ``(C - S)^2``,
    ``C`` the (biased, ``/n``) covariance of ``z`` (the papers' Eq. 5). With
    ``z_adv``: ``C`` is the covariance of ``[z, z_adv]`` (``2D x 2D``) and the
    target ``[[S, alpha S], [alpha S, S]]`` (Eq. 10; ``alpha=0`` is the
    "augmented" Eq. 8), so the cross-covariance of clean and adversarial codes
    is pulled toward ``alpha S``.

    Parameters
    ----------
    z : Tensor of shape (n, D)
        Codes.
    means : Tensor of shape (K, D)
        The modes' means.
    sigma : float
        The modes' standard deviation.
    z_adv : Tensor of shape (n, D), default=None
        The codes of the adversarial inputs, row ``i`` paired with ``z[i]``.
    alpha : float, default=0.0
        Coupling of the paired codes, in [-1, 1].

    Returns
    -------
    loss : Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> means = gmm_means(2, 2, scale=1.0)
    >>> # collapsed codes: the mean of S's squared entries, S = [[1.25, -0.25], ...]
    >>> float(covariance_loss(torch.zeros(5, 2), means, 1.0))
    0.8125
    """
    _check_codes(z, means)
    if not -1.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [-1, 1]; got {alpha!r}.")
    target = gmm_covariance(means, sigma).to(z)
    codes = z
    if z_adv is not None:
        _check_codes(z_adv, means, "z_adv")
        if z.shape != z_adv.shape:
            raise ValueError(
                f"z and z_adv must have the same shape; got {tuple(z.shape)} and "
                f"{tuple(z_adv.shape)}."
            )
        codes = torch.cat([z, z_adv], dim=1)
        coupled = alpha * target
        target = torch.cat(
            [torch.cat([target, coupled], dim=1), torch.cat([coupled, target], dim=1)]
        )
    centred = codes - codes.mean(dim=0, keepdim=True)
    empirical = centred.T @ centred / codes.shape[0]
    return (empirical - target).pow(2).mean()


def sample_gmm(
    n: int, means: Tensor, sigma: float, *, generator: torch.Generator | None = None
) -> Tensor:
    """``n`` codes drawn from the prior (a mode uniformly, then its Gaussian).

    Parameters
    ----------
    n : int
        Number of codes.
    means : Tensor of shape (K, D)
        The modes' means (on the CPU when ``generator`` is a CPU generator).
    sigma : float
        The modes' standard deviation.
    generator : torch.Generator, default=None
        Source of the draws (torch's global generator when None).

    Returns
    -------
    z : Tensor of shape (n, D), dtype of ``means``

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> sample_gmm(3, gmm_means(2, 2), 1.0, generator=g).shape
    torch.Size([3, 2])
    """
    _check_prior(means, sigma)
    modes = torch.randint(means.shape[0], (int(n),), generator=generator)
    noise = torch.randn(
        (int(n), means.shape[1]), generator=generator, dtype=means.dtype
    )
    return means[modes.to(means.device)] + sigma * noise.to(means.device)


def sample_coupled_gmm(
    n: int,
    means: Tensor,
    sigma: float,
    alpha: float,
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """``n`` pairs ``(z, z_adv)`` from the prior with cross-covariance ``alpha S``.

    Each ``z_adv[i]`` is a copy of ``z[i]`` with probability ``alpha``, an
    independent prior draw otherwise: both marginals are the prior and the
    joint covariance is exactly the target of :func:`covariance_loss`.

    Parameters
    ----------
    n : int
        Number of pairs.
    means : Tensor of shape (K, D)
        The modes' means.
    sigma : float
        The modes' standard deviation.
    alpha : float
        Coupling, in [0, 1].
    generator : torch.Generator, default=None
        Source of the draws (torch's global generator when None).

    Returns
    -------
    z, z_adv : Tensor of shape (n, D)

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> z, z_adv = sample_coupled_gmm(4, gmm_means(2, 2), 1.0, 1.0, generator=g)
    >>> bool(torch.equal(z, z_adv))
    True
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha!r}.")
    z = sample_gmm(n, means, sigma, generator=generator)
    other = sample_gmm(n, means, sigma, generator=generator)
    copy = torch.rand(int(n), generator=generator) < alpha
    return z, torch.where(copy.to(z.device).unsqueeze(1), z, other)


def gmm_loss_weights(
    means: Tensor,
    sigma: float,
    batch_size: int,
    *,
    adversarial: str = "coupled",
    alpha: float = 0.5,
    n_draws: int = 100,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """The weights ``1 / mean(term)`` of the regularisers, from prior batches.

    Each term is evaluated on ``n_draws`` batches of ``batch_size`` prior codes
    shaped as the training step uses it, and its weight is one over its mean,
    so each weighted term is about 1 when the codes behave like the prior (the
    authors' ``estimate_loss_coefficients``). ``"none"``: single batches,
    :func:`ks_loss` and the ``D x D`` :func:`covariance_loss`. ``"augmented"``
    and ``"coupled"``: pairs from :func:`sample_coupled_gmm` (coupling
    ``alpha``, 0 for ``"augmented"``), the KS loss of the pooled pair and the
    ``2D x 2D`` covariance loss; ``"coupled"`` adds :func:`paired_ks_loss` of
    two independent batches (the size of the term when the two batches merely
    share the prior; on coupled pairs it would vanish as ``alpha`` nears 1).

    Parameters
    ----------
    means : Tensor of shape (K, D)
        The modes' means.
    sigma : float
        The modes' standard deviation.
    batch_size : int
        Rows of a training batch (at least 2).
    adversarial : {"coupled", "augmented", "none"}, default="coupled"
        The training variant.
    alpha : float, default=0.5
        Coupling of the ``"coupled"`` variant, in [0, 1].
    n_draws : int, default=100
        Prior batches (or pairs of batches) averaged.
    generator : torch.Generator, default=None
        Source of the draws (torch's global generator when None).

    Returns
    -------
    weights : dict of str to float
        ``"ks"``, ``"covariance"`` and, for ``"coupled"``, ``"pairing"``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> weights = gmm_loss_weights(gmm_means(3, 3), 1.0, 32, generator=g)
    >>> sorted(weights)
    ['covariance', 'ks', 'pairing']
    """
    if adversarial not in ("coupled", "augmented", "none"):
        raise ValueError(
            "adversarial must be 'coupled', 'augmented' or 'none'; got "
            f"{adversarial!r}."
        )
    if int(batch_size) < 2:
        raise ValueError(f"batch_size must be at least 2; got {batch_size!r}.")
    if int(n_draws) < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws!r}.")
    coupling = alpha if adversarial == "coupled" else 0.0
    totals = {"ks": 0.0, "covariance": 0.0}
    if adversarial == "coupled":
        totals["pairing"] = 0.0
    with torch.no_grad():
        for _ in range(int(n_draws)):
            if adversarial == "none":
                z = sample_gmm(batch_size, means, sigma, generator=generator)
                totals["ks"] += float(ks_loss(z, means, sigma))
                totals["covariance"] += float(covariance_loss(z, means, sigma))
                continue
            z = sample_gmm(batch_size, means, sigma, generator=generator)
            other = sample_gmm(batch_size, means, sigma, generator=generator)
            copy = torch.rand(int(batch_size), generator=generator) < coupling
            z_adv = torch.where(copy.to(z.device).unsqueeze(1), z, other)
            totals["ks"] += float(ks_loss(torch.cat([z, z_adv]), means, sigma))
            totals["covariance"] += float(
                covariance_loss(z, means, sigma, z_adv, coupling)
            )
            if adversarial == "coupled":
                totals["pairing"] += float(paired_ks_loss(z, other, means, sigma))
    return {name: int(n_draws) / max(total, 1e-12) for name, total in totals.items()}
