"""CRBND's distortions: the kernels the reconstructor and the negatives rely on."""

import numpy as np
import pytest
import torch

from skanomaly.augment import (
    coarse_dropout,
    gaussian_noise,
    motion_blur,
    random_motion_blur,
)


def _impulse(size=15):
    x = torch.zeros(1, 1, size, size)
    x[0, 0, size // 2, size // 2] = 1.0
    return x


def _support(image):
    rows, cols = (image[0, 0] > 1e-6).nonzero(as_tuple=True)
    return sorted(set(rows.tolist())), sorted(set(cols.tolist()))


@pytest.mark.parametrize("length", [3, 5, 9])
def test_motion_blur_spreads_an_impulse_over_its_length_along_its_angle(length):
    zero, ninety = torch.tensor([0.0]), torch.tensor([90.0])
    centre = torch.tensor([0.0])
    horizontal = motion_blur(_impulse(), length, zero, centre)
    rows, blurred_cols = _support(horizontal)
    assert rows == [7]
    assert blurred_cols == list(range(7 - length // 2, 7 + length // 2 + 1))
    vertical = motion_blur(_impulse(), length, ninety, centre)
    rows, cols = _support(vertical)
    assert cols == [7] and len(rows) == length
    # the blur keeps the total intensity away from the borders
    torch.testing.assert_close(horizontal.sum(), torch.tensor(1.0))
    # direction 0 spreads the weight evenly
    values = horizontal[0, 0, 7, torch.tensor(blurred_cols)]
    torch.testing.assert_close(values, torch.full((length,), 1.0 / length))


def test_motion_blur_direction_puts_the_weight_towards_one_end():
    zero = torch.tensor([0.0])
    forward = motion_blur(_impulse(), 9, zero, torch.tensor([1.0]))[0, 0, 7, 3:12]
    backward = motion_blur(_impulse(), 9, zero, torch.tensor([-1.0]))[0, 0, 7, 3:12]
    assert forward[0] != pytest.approx(forward[-1])
    torch.testing.assert_close(forward, backward.flip(0))
    assert torch.all(forward[1:] <= forward[:-1]) or torch.all(
        forward[1:] >= forward[:-1]
    )


def test_motion_blur_rejects_even_lengths():
    with pytest.raises(ValueError, match="odd"):
        motion_blur(_impulse(), 4, torch.tensor([0.0]), torch.tensor([0.0]))


def test_random_motion_blur_is_reproducible_with_a_generator():
    x = torch.rand(5, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    a = random_motion_blur(x, 5, generator=torch.Generator().manual_seed(3))
    b = random_motion_blur(x, 5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, x)


@pytest.mark.parametrize(("p", "size_fraction"), [(0.5, 0.4), (0.7, 0.6), (0.2, 1.0)])
def test_coarse_dropout_zeroes_a_fraction_p_in_cells(p, size_fraction):
    g = torch.Generator().manual_seed(0)
    out = coarse_dropout(torch.ones(400, 2, 32, 32), p, size_fraction, generator=g)
    dropped = 1.0 - out.mean().item()
    assert dropped == pytest.approx(p, abs=0.02)
    # every channel is dropped alike, and the dropped pixels come in cells
    torch.testing.assert_close(out[:, 0], out[:, 1])
    cells = int(np.ceil(size_fraction * 32))
    distinct_rows = {tuple(row.tolist()) for row in out[0, 0]}
    assert len(distinct_rows) <= cells


def test_coarse_dropout_extremes_and_errors():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 8, 8, generator=g)
    torch.testing.assert_close(coarse_dropout(x, 0.0, 0.5, generator=g), x)
    assert coarse_dropout(x, 1.0, 0.5, generator=g).abs().sum() == 0
    with pytest.raises(ValueError, match="p must be"):
        coarse_dropout(x, 1.5, 0.5)
    with pytest.raises(ValueError, match="size_fraction"):
        coarse_dropout(x, 0.5, 0.0)


def test_gaussian_noise_per_image_std_and_clipping():
    g = torch.Generator().manual_seed(0)
    x = torch.full((2, 1, 64, 64), 0.5)
    out = gaussian_noise(x, torch.tensor([0.0, 0.1]), generator=g)
    torch.testing.assert_close(out[0], x[0])
    assert (out[1] - 0.5).std().item() == pytest.approx(0.1, rel=0.1)
    loud = gaussian_noise(x, 5.0, generator=g)
    assert loud.min() >= 0 and loud.max() <= 1
