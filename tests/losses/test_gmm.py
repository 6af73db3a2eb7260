"""skanomaly.losses._gmm: the GMM prior's losses, weights and samplers."""

import math

import numpy as np
import pytest
import torch

from skanomaly.losses import (
    covariance_loss,
    gmm_covariance,
    gmm_log_likelihood,
    gmm_loss_weights,
    gmm_marginal_cdf,
    gmm_means,
    ks_loss,
    paired_ks_loss,
    sample_coupled_gmm,
    sample_gmm,
)
from skanomaly.nets import GMMPrior

MEANS = gmm_means(10, 10, scale=10.0)  # the paper's prior


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------- prior
def test_means_and_covariance_of_the_papers_prior():
    torch.testing.assert_close(MEANS, 10.0 * torch.eye(10))
    # methods.md 5.2: for 10 e_k, Sigma_GMM = 11 I - 1 1^T
    expected = 11.0 * torch.eye(10) - torch.ones(10, 10)
    torch.testing.assert_close(gmm_covariance(MEANS, 1.0), expected)
    # sigma enters squared
    torch.testing.assert_close(
        gmm_covariance(MEANS, 2.0) - gmm_covariance(MEANS, 1.0), 3.0 * torch.eye(10)
    )
    # fewer modes than dimensions: the last dimensions are plain N(0, sigma^2)
    assert gmm_means(2, 4).shape == (2, 4)
    with pytest.raises(ValueError, match="n_components <= latent_dim"):
        gmm_means(5, 3)
    with pytest.raises(ValueError, match="scale"):
        gmm_means(2, 2, scale=0.0)
    with pytest.raises(ValueError, match="sigma"):
        gmm_covariance(MEANS, -1.0)


def test_samples_have_the_priors_moments():
    z = sample_gmm(20000, MEANS, 1.0, generator=_gen()).double()
    np.testing.assert_allclose(z.mean(0).numpy(), np.ones(10), atol=0.15)
    empirical = torch.cov(z.T, correction=0)
    assert (empirical - gmm_covariance(MEANS.double(), 1.0)).abs().max() < 1.0
    # each code sits near one mode
    nearest = torch.cdist(z.float(), MEANS).min(dim=1).values
    assert float(nearest.mean()) < 3.5


def test_marginal_cdf_and_log_likelihood_by_hand():
    means = torch.tensor([[0.0], [4.0]])
    z = torch.tensor([[0.0], [2.0], [10.0]])
    phi = [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (0.0, -4.0, 2.0, -2.0)]
    expected = [(phi[0] + phi[1]) / 2, (phi[2] + phi[3]) / 2, 1.0]
    np.testing.assert_allclose(
        gmm_marginal_cdf(z, means, 1.0).squeeze(1).numpy(), expected, atol=1e-6
    )
    # log of mean_k N(z; mu_k, 1) at z=2: both modes at distance 2
    ll = gmm_log_likelihood(z, means, 1.0)
    assert float(ll[1]) == pytest.approx(-0.5 * math.log(2 * math.pi) - 2.0, abs=1e-5)
    assert ll[0] > ll[1] > ll[2]
    # far codes stay finite (log-sum-exp)
    assert torch.isfinite(gmm_log_likelihood(torch.full((1, 10), 1e3), MEANS, 1.0))
    with pytest.raises(ValueError, match="codes of shape"):
        gmm_log_likelihood(torch.zeros(2, 3), MEANS, 1.0)


def test_prior_module_wraps_the_functions():
    prior = GMMPrior(3, 4, scale=5.0, sigma=0.5)
    assert prior.n_components == 3 and prior.latent_dim == 4
    assert list(prior.parameters()) == [] and "means" in prior.state_dict()
    z = torch.randn(6, 4, generator=_gen())
    torch.testing.assert_close(prior(z), -gmm_log_likelihood(z, prior.means, 0.5))
    torch.testing.assert_close(
        prior.marginal_cdf(z), gmm_marginal_cdf(z, prior.means, 0.5)
    )
    torch.testing.assert_close(prior.covariance(), gmm_covariance(prior.means, 0.5))
    a = prior.sample(5, generator=_gen(3))
    torch.testing.assert_close(a, prior.sample(5, generator=_gen(3)))


# ------------------------------------------------------------------ losses
def test_ks_loss_small_on_prior_samples_large_when_collapsed():
    z = sample_gmm(100, MEANS, 1.0, generator=_gen())
    on_prior = float(ks_loss(z, MEANS, 1.0))
    collapsed = float(ks_loss(torch.full((100, 10), 1.0), MEANS, 1.0))
    shifted = float(ks_loss(z + 5.0, MEANS, 1.0))
    # a perfect fit leaves ~ 1 / (6 n) of sampling noise; a point mass ~ 1/12
    assert on_prior < 0.01
    assert collapsed > 0.05 and shifted > 0.05
    assert collapsed > 20 * on_prior


def test_ks_loss_by_hand():
    # one mode at 0, sigma 1: codes at 0 have F = 0.5 against 1/2, 2/2
    z = torch.zeros(2, 1)
    assert float(ks_loss(z, torch.zeros(1, 1), 1.0)) == pytest.approx(
        ((0.5 - 0.5) ** 2 + (0.5 - 1.0) ** 2) / 2
    )
    # the order of the rows does not matter
    z = torch.randn(7, 3, generator=_gen())
    torch.testing.assert_close(
        ks_loss(z, MEANS[:3, :3], 1.0), ks_loss(z.flip(0), MEANS[:3, :3], 1.0)
    )


def test_covariance_loss_small_on_prior_samples_large_when_collapsed():
    z = sample_gmm(2000, MEANS, 1.0, generator=_gen())
    on_prior = float(covariance_loss(z, MEANS, 1.0))
    collapsed = float(covariance_loss(torch.full((2000, 10), 1.0), MEANS, 1.0))
    # the target's squared entries average (10 * 100 + 90 * 1) / 100 = 10.9
    assert collapsed == pytest.approx(10.9, rel=1e-4)
    assert on_prior < 0.05 * collapsed


def test_covariance_loss_by_hand_and_the_coupled_target():
    means = torch.zeros(1, 2)  # S = I
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])  # covariance diag(1, 0)
    assert float(covariance_loss(z, means, 1.0)) == pytest.approx(1 / 4)
    # with z_adv = z: C = [[c, c], [c, c]]; target [[I, aI], [aI, I]]
    for alpha in (0.0, 0.5, 1.0):
        loss = float(covariance_loss(z, means, 1.0, z, alpha))
        # entries: 4 blocks of (c - t)^2 over 16; c = diag(1, 0)
        diag_mismatch = 2 * (0.0 + 1.0)  # the two diagonal blocks
        cross_mismatch = 2 * ((1 - alpha) ** 2 + alpha**2)
        assert loss == pytest.approx((diag_mismatch + cross_mismatch) / 16)
    with pytest.raises(ValueError, match="alpha"):
        covariance_loss(z, means, 1.0, z, 1.5)
    with pytest.raises(ValueError, match="same shape"):
        covariance_loss(z, means, 1.0, z[:1], 0.5)


def test_coupled_pairs_have_the_target_covariance():
    z, z_adv = sample_coupled_gmm(20000, MEANS, 1.0, 0.5, generator=_gen())
    cross = (z - z.mean(0)).T @ (z_adv - z_adv.mean(0)) / len(z)
    target = 0.5 * gmm_covariance(MEANS, 1.0)
    assert (cross - target).abs().max() < 0.5
    # coupling 1: copies; 0: independent
    same, copy = sample_coupled_gmm(10, MEANS, 1.0, 1.0, generator=_gen())
    assert torch.equal(same, copy)
    small = float(covariance_loss(z[:1000], MEANS, 1.0, z_adv[:1000], 0.5))
    uncoupled = float(covariance_loss(z[:1000], MEANS, 1.0, z_adv[:1000], 0.0))
    assert small < 0.5 * uncoupled
    with pytest.raises(ValueError, match="alpha"):
        sample_coupled_gmm(3, MEANS, 1.0, -0.5)


def test_paired_ks_loss():
    z = sample_gmm(64, MEANS, 1.0, generator=_gen(1))
    other = sample_gmm(64, MEANS, 1.0, generator=_gen(2))
    assert (
        float(paired_ks_loss(z, z[torch.randperm(64, generator=_gen())], MEANS, 1.0))
        == 0.0
    )
    independent = float(paired_ks_loss(z, other, MEANS, 1.0))
    apart = float(paired_ks_loss(z, other + 10.0, MEANS, 1.0))
    assert 0 < independent < 0.02 < apart
    # the gradient pulls z_adv's marginals toward z's
    z_adv = (other + 3.0).requires_grad_(True)
    paired_ks_loss(z, z_adv, MEANS, 1.0).backward()
    assert float(z_adv.grad.sum()) > 0  # descending lowers z_adv toward z
    with pytest.raises(ValueError, match="same shape"):
        paired_ks_loss(z, other[:3], MEANS, 1.0)


def test_covariance_gradient_drives_the_cross_covariance_toward_alpha_s():
    # gradient descent on the coupled covariance loss alone, from independent pairs
    means = gmm_means(2, 2, scale=3.0)
    target = gmm_covariance(means, 1.0)
    z, other = (sample_gmm(256, means, 1.0, generator=_gen(s)) for s in (1, 2))
    for alpha in (0.0, 0.8):
        z_adv = other.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([z_adv], lr=0.05)
        for _ in range(300):
            optimizer.zero_grad()
            covariance_loss(z, means, 1.0, z_adv, alpha).backward()
            optimizer.step()
        with torch.no_grad():
            cross = (z - z.mean(0)).T @ (z_adv - z_adv.mean(0)) / len(z)
        assert (cross - alpha * target).abs().max() < 0.1, alpha


# ----------------------------------------------------------------- weights
@pytest.mark.parametrize("adversarial", ["coupled", "augmented", "none"])
def test_weights_make_each_term_about_one_on_prior_samples(adversarial):
    weights = gmm_loss_weights(
        MEANS, 1.0, 64, adversarial=adversarial, alpha=0.5, generator=_gen(0)
    )
    assert set(weights) == (
        {"ks", "covariance", "pairing"}
        if adversarial == "coupled"
        else {"ks", "covariance"}
    )
    # fresh prior batches, shaped as the training step uses them
    g = _gen(1)
    terms = {name: [] for name in weights}
    alpha = 0.5 if adversarial == "coupled" else 0.0
    for _ in range(200):
        if adversarial == "none":
            z = sample_gmm(64, MEANS, 1.0, generator=g)
            terms["ks"].append(float(ks_loss(z, MEANS, 1.0)))
            terms["covariance"].append(float(covariance_loss(z, MEANS, 1.0)))
            continue
        z, z_adv = sample_coupled_gmm(64, MEANS, 1.0, alpha, generator=g)
        terms["ks"].append(float(ks_loss(torch.cat([z, z_adv]), MEANS, 1.0)))
        terms["covariance"].append(float(covariance_loss(z, MEANS, 1.0, z_adv, alpha)))
        if "pairing" in terms:
            other = sample_gmm(64, MEANS, 1.0, generator=g)
            terms["pairing"].append(float(paired_ks_loss(z, other, MEANS, 1.0)))
    for name, values in terms.items():
        assert weights[name] * np.mean(values) == pytest.approx(1.0, abs=0.2), name


def test_weights_are_seeded_and_checked():
    a = gmm_loss_weights(MEANS, 1.0, 16, generator=_gen(5))
    assert a == gmm_loss_weights(MEANS, 1.0, 16, generator=_gen(5))
    assert a != gmm_loss_weights(MEANS, 1.0, 16, generator=_gen(6))
    # alpha = 1 keeps every weight finite (the pairing term uses independent batches)
    ones = gmm_loss_weights(MEANS, 1.0, 16, alpha=1.0, generator=_gen(5))
    assert all(math.isfinite(w) and w < 1e6 for w in ones.values())
    with pytest.raises(ValueError, match="adversarial"):
        gmm_loss_weights(MEANS, 1.0, 16, adversarial="pgd")
    with pytest.raises(ValueError, match="batch_size"):
        gmm_loss_weights(MEANS, 1.0, 1)
