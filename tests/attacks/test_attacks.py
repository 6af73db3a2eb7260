"""The stateless attacks: budgets, box, side effects and strength."""

import itertools

import pytest
import torch
from torch import nn

from skanomaly.attacks import (
    affine_transform,
    attack_mode,
    fgsm,
    pgd,
    select_worst_case,
    spatial_grid_search,
)
from skanomaly.nets import MLPAutoencoder

ATOL = 1e-6


@pytest.fixture(scope="module")
def setup():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        ae = MLPAutoencoder(16, (12, 4))
        x = torch.rand(32, 16)
    return ae, x


def latent_objective(ae, x):
    with torch.no_grad():
        z = ae.encode(x)
    return lambda x_adv: (ae.encode(x_adv) - z).pow(2).mean(dim=1)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def linf(d):
    return d.flatten(1).abs().max(dim=1).values


def l2(d):
    return d.flatten(1).norm(dim=1)


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("random_start", [True, False])
@pytest.mark.parametrize("attack", ["pgd", "fgsm"])
def test_perturbation_stays_in_ball_and_box(setup, norm, random_start, attack):
    ae, x = setup
    eps = 0.1 if norm == "linf" else 0.8
    fn = pgd if attack == "pgd" else fgsm
    # the latent distance has a zero gradient at x itself, so without a random
    # start attack an objective whose gradient at x is not zero
    objective = (
        latent_objective(ae, x)
        if random_start
        else (lambda z: ae.encode(z).pow(2).sum(dim=1))
    )
    x_adv = fn(
        objective,
        x,
        epsilon=eps,
        norm=norm,
        random_start=random_start,
        generator=gen(),
    )
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert not x_adv.requires_grad
    size = linf if norm == "linf" else l2
    assert (size(x_adv - x) <= eps + ATOL).all()
    assert (x_adv >= 0).all() and (x_adv <= 1).all()
    assert not torch.equal(x_adv, x)


def test_box_can_be_disabled_or_changed(setup):
    ae, x = setup
    obj = latent_objective(ae, x)
    free = pgd(obj, x, epsilon=0.3, clip=None, generator=gen())
    assert free.min() < 0 or free.max() > 1
    boxed = pgd(obj, x, epsilon=0.3, clip=(0.2, 0.8), generator=gen())
    assert boxed.min() >= 0.2 and boxed.max() <= 0.8


def test_latent_objective_needs_the_random_start(setup):
    """At x the latent distance is 0 with a 0 gradient: PGD needs its random start."""
    ae, x = setup
    obj = latent_objective(ae, x)
    assert torch.equal(pgd(obj, x, epsilon=0.1, random_start=False), x)
    assert (obj(pgd(obj, x, epsilon=0.1, generator=gen())) > 0).all()


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("fn", [pgd, fgsm])
def test_zero_epsilon_changes_nothing(setup, norm, fn):
    ae, x = setup
    x_adv = fn(
        latent_objective(ae, x),
        x,
        epsilon=0.0,
        norm=norm,
        random_start=True,
        generator=gen(),
    )
    assert torch.equal(x_adv, x)
    assert x_adv.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_no_parameter_gradients_left_behind(setup, norm):
    ae, x = setup
    for p in ae.parameters():
        p.grad = None
    pgd(latent_objective(ae, x), x, epsilon=0.1, norm=norm, generator=gen())
    assert all(p.grad is None for p in ae.parameters())
    # existing gradients are left exactly as they were
    marker = [torch.full_like(p, 0.5) for p in ae.parameters()]
    for p, g in zip(ae.parameters(), marker, strict=True):
        p.grad = g.clone()
    pgd(latent_objective(ae, x), x, epsilon=0.1, norm=norm, generator=gen(), module=ae)
    for p, g in zip(ae.parameters(), marker, strict=True):
        assert torch.equal(p.grad, g)
        p.grad = None


@pytest.mark.parametrize("training", [True, False])
def test_module_mode_and_requires_grad_restored(setup, training):
    ae, x = setup
    ae.train(training)
    ae.decoder.eval()  # mixed modes must survive too
    frozen = next(ae.decoder.parameters())
    frozen.requires_grad_(False)
    seen = []

    def objective(x_adv):
        seen.append((ae.training, ae.encoder[0].weight.requires_grad))
        return ae.encode(x_adv).pow(2).mean(dim=1)

    pgd(objective, x, epsilon=0.1, steps=2, generator=gen(), module=ae)
    spatial_grid_search(
        objective,
        x,
        input_shape=(1, 4, 4),
        angles=[0.0, 10.0],
        translations=[0.0],
        module=ae,
    )
    assert set(seen) == {(False, False)}
    assert ae.training is training and ae.encoder.training is training
    assert ae.decoder.training is False
    assert frozen.requires_grad is False
    assert all(p.requires_grad for p in ae.encoder.parameters())
    frozen.requires_grad_(True)
    ae.train()


def test_mode_restored_when_objective_raises(setup):
    ae, x = setup
    ae.train()

    def broken(x_adv):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        pgd(broken, x, epsilon=0.1, generator=gen(), module=ae)
    assert ae.training and all(p.requires_grad for p in ae.parameters())


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.05), ("l2", 0.5)])
def test_attack_increases_objective_beyond_clean_and_random(setup, norm, eps):
    ae, x = setup
    obj = latent_objective(ae, x)
    x_adv = pgd(obj, x, epsilon=eps, steps=10, norm=norm, generator=gen())
    g = gen(1)
    if norm == "linf":
        noise = (2 * torch.rand(x.shape, generator=g) - 1).sign() * eps
    else:
        noise = torch.randn(x.shape, generator=g)
        noise = noise / l2(noise)[:, None] * eps
    random_loss = obj((x + noise).clamp(0, 1))
    adv_loss = obj(x_adv).detach()
    assert (adv_loss > obj(x).detach()).all()
    assert adv_loss.mean() > 2 * random_loss.mean()
    assert (adv_loss >= random_loss).float().mean() > 0.9
    # more steps do not hurt
    one_step = obj(fgsm(obj, x, epsilon=eps, norm=norm)).detach()
    assert adv_loss.mean() >= one_step.mean()


def test_fgsm_semantics_with_random_start():
    x = torch.full((3, 5), 0.5)
    eps, step = 0.1, 0.06
    objective = lambda z: z.sum(dim=1)  # noqa: E731 gradient is +1 everywhere
    x_adv = fgsm(
        objective, x, epsilon=eps, step_size=step, random_start=True, generator=gen(3)
    )
    delta0 = (2 * torch.rand(x.shape, generator=gen(3)) - 1) * eps
    expected = (x + (delta0 + step).clamp(-eps, eps)).clamp(0, 1)
    torch.testing.assert_close(x_adv, expected)
    # without a random start: one signed step of size epsilon
    torch.testing.assert_close(fgsm(objective, x, epsilon=eps), x + eps)


def test_default_step_size_follows_the_authors():
    x = torch.full((2, 3), 0.5)
    objective = lambda z: z.sum(dim=1)  # noqa: E731
    # 2 steps of 2.5 * eps / 4 from x, no random start: x + 2 * 0.025
    x_adv = pgd(objective, x, epsilon=0.04, steps=4, random_start=False)
    torch.testing.assert_close(x_adv, x + 0.04)  # projected onto the ball
    x_adv = pgd(objective, x, epsilon=0.4, steps=4, random_start=False, clip=None)
    torch.testing.assert_close(x_adv, x + 0.4)


def test_same_generator_same_result(setup):
    ae, x = setup
    obj = latent_objective(ae, x)
    a = pgd(obj, x, epsilon=0.1, generator=gen(5))
    b = pgd(obj, x, epsilon=0.1, generator=gen(5))
    c = pgd(obj, x, epsilon=0.1, generator=gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_works_inside_no_grad(setup):
    ae, x = setup
    with torch.no_grad():
        x_adv = pgd(latent_objective(ae, x), x, epsilon=0.1, generator=gen())
    assert not torch.equal(x_adv, x)


def test_image_shaped_input(setup):
    ae, x = setup
    images = x.view(32, 1, 4, 4)
    obj = lambda z: ae.encode(z).sum(dim=1)  # noqa: E731
    x_adv = pgd(obj, images, epsilon=0.5, norm="l2", generator=gen())
    assert x_adv.shape == images.shape
    assert (l2(x_adv - images) <= 0.5 + ATOL).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"norm": "l1"}, "norm"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"step_size": -1.0}, "step_size"),
        ({"clip": (1.0, 0.0)}, "clip"),
        ({"steps": -1}, "steps"),
    ],
)
def test_bad_arguments_raise_value_error(setup, kwargs, match):
    ae, x = setup
    params = {"epsilon": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        pgd(latent_objective(ae, x), x, generator=gen(), **params)


def test_objective_must_be_per_sample(setup):
    _, x = setup
    with pytest.raises(ValueError, match="one loss per sample"):
        pgd(lambda z: z.sum(), x, epsilon=0.1, generator=gen())


def test_spatial_grid_search_returns_worst_case_per_sample(setup):
    ae, x = setup
    obj = latent_objective(ae, x)
    angles, shifts = [-20.0, 0.0, 20.0], [-0.25, 0.0, 0.25]
    x_adv = spatial_grid_search(
        obj, x, input_shape=(1, 4, 4), angles=angles, translations=shifts
    )
    assert x_adv.shape == x.shape
    with torch.no_grad():
        all_losses = torch.stack(
            [
                obj(
                    affine_transform(
                        x.view(-1, 1, 4, 4), angle=a, translate=(tx, ty)
                    ).view(32, 16)
                )
                for a, tx, ty in itertools.product(angles, shifts, shifts)
            ]
        )
        torch.testing.assert_close(obj(x_adv), all_losses.max(dim=0).values)
        assert (obj(x_adv) >= obj(x) - ATOL).all()  # the identity is on the grid


def test_spatial_grid_search_needs_image_shape(setup):
    ae, x = setup
    with pytest.raises(ValueError, match="input_shape"):
        spatial_grid_search(
            latent_objective(ae, x),
            x,
            input_shape=(16,),
            angles=[0.0],
            translations=[0.0],
        )


def test_affine_transform_matches_exact_rotations_and_shifts():
    x = torch.rand(2, 3, 5, 5, generator=gen())
    torch.testing.assert_close(affine_transform(x, angle=0.0), x)
    torch.testing.assert_close(
        affine_transform(x, angle=90.0),
        torch.rot90(x, 1, (2, 3)),
        atol=1e-5,
        rtol=0,
    )
    wide = torch.rand(1, 1, 4, 6, generator=gen())
    torch.testing.assert_close(
        affine_transform(wide, angle=180.0),
        torch.rot90(wide, 2, (2, 3)),
        atol=1e-5,
        rtol=0,
    )
    shifted = affine_transform(x, angle=0.0, translate=(0.2, 0.0))
    torch.testing.assert_close(shifted[..., 1:], x[..., :-1], atol=1e-6, rtol=0)
    assert (shifted[..., 0] == 0).all()  # zero fill


def test_select_worst_case():
    a = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
    b = torch.tensor([[1.0, 1.0], [2.0, 2.0]])
    out = select_worst_case(lambda z: z.sum(dim=1), [a, b])
    torch.testing.assert_close(out, torch.tensor([[1.0, 1.0], [5.0, 5.0]]))
    with pytest.raises(ValueError, match="candidate"):
        select_worst_case(lambda z: z.sum(dim=1), [])


def test_attack_mode_accepts_none():
    with attack_mode(None):
        pass
    with torch.random.fork_rng():
        net = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train()
    with attack_mode(net):
        assert not net[1].training
    assert net[1].training
