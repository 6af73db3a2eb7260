"""The puzzle kernels: permutation sets, tile permutation, masking, padding."""

import itertools

import pytest
import torch

from skanomaly.augment import (
    RandomPuzzle,
    crop_to_shape,
    inverse_permutation,
    mask_tile,
    pad_to_grid,
    permute_tiles,
    puzzle_permutations,
)


def _tile_index_image(grid, tile=3, channels=1):
    """An image whose tile ``t`` (row by row) holds the value ``t`` everywhere."""
    values = torch.arange(grid * grid, dtype=torch.float32).view(grid, grid)
    image = values.repeat_interleave(tile, 0).repeat_interleave(tile, 1)
    return image.expand(1, channels, grid * tile, grid * tile).clone()


def _tile_values(x, grid):
    n, c, h, w = x.shape
    tiles = x.reshape(n, c, grid, h // grid, grid, w // grid)
    return tiles.permute(0, 1, 2, 4, 3, 5).reshape(n, c, grid * grid, -1)


def test_23_permutations_are_distinct_and_move_at_least_two_tiles():
    perms = puzzle_permutations(2, "all")
    assert perms.shape == (23, 4) and perms.dtype == torch.int64
    rows = {tuple(p) for p in perms.tolist()}
    assert len(rows) == 23
    assert rows == set(itertools.permutations(range(4))) - {(0, 1, 2, 3)}
    for p in perms:
        assert sorted(p.tolist()) == [0, 1, 2, 3]
        assert int((p != torch.arange(4)).sum()) >= 2


def test_swaps_are_the_six_transpositions():
    swaps = puzzle_permutations(2, "swaps")
    assert swaps.shape == (6, 4)
    assert len({tuple(p) for p in swaps.tolist()}) == 6
    for p in swaps:
        moved = (p != torch.arange(4)).nonzero().flatten().tolist()
        assert len(moved) == 2
        i, j = moved
        assert p[i] == j and p[j] == i


def test_nine_tile_set_moves_exactly_six_tiles_and_is_fixed():
    perms = puzzle_permutations(3, "all")
    assert perms.shape == (23, 9)
    assert len({tuple(p) for p in perms.tolist()}) == 23
    for p in perms:
        assert sorted(p.tolist()) == list(range(9))
        assert int((p != torch.arange(9)).sum()) == 6
    assert torch.equal(perms, puzzle_permutations(3, "all"))
    assert puzzle_permutations(3, "all", n_permutations=50).shape == (50, 9)
    assert puzzle_permutations(3, "swaps").shape == (36, 9)


@pytest.mark.parametrize(
    ("grid", "kind", "n_permutations", "match"),
    [(4, "all", None, "grid"), (2, "rot", None, "kind"), (2, "all", 24, "n_perm")],
)
def test_permutation_set_rejects_bad_arguments(grid, kind, n_permutations, match):
    with pytest.raises(ValueError, match=match):
        puzzle_permutations(grid, kind, n_permutations=n_permutations)


@pytest.mark.parametrize(("grid", "kind"), [(2, "all"), (2, "swaps"), (3, "all")])
def test_output_tile_i_is_input_tile_perm_i(grid, kind):
    x = _tile_index_image(grid)
    for perm in puzzle_permutations(grid, kind):
        out = _tile_values(permute_tiles(x, perm, grid), grid)
        expected = perm.to(torch.float32).view(1, 1, -1, 1).expand_as(out)
        assert torch.equal(out, expected)


@pytest.mark.parametrize(("grid", "kind"), [(2, "all"), (2, "swaps"), (3, "all")])
def test_inverse_permutation_restores_the_image(grid, kind):
    x = torch.rand(3, 2, 6 * grid, 4 * grid, generator=torch.Generator().manual_seed(0))
    for perm in puzzle_permutations(grid, kind):
        puzzled = permute_tiles(x, perm, grid)
        assert not torch.equal(puzzled, x)
        assert torch.equal(permute_tiles(puzzled, inverse_permutation(perm), grid), x)


@pytest.mark.parametrize(("grid", "kind"), [(2, "all"), (3, "all")])
def test_a_permutation_table_puzzles_with_every_row_in_turn(grid, kind):
    x = torch.rand(3, 2, 4 * grid, 2 * grid, generator=torch.Generator().manual_seed(0))
    perms = puzzle_permutations(grid, kind)
    expected = torch.cat([permute_tiles(x, perm, grid) for perm in perms])
    assert torch.equal(permute_tiles(x, perms, grid), expected)
    assert torch.equal(
        permute_tiles(x, perms[:1], grid), permute_tiles(x, perms[0], grid)
    )


def test_permute_tiles_leaves_input_unchanged_and_checks_sizes():
    x = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    permute_tiles(x, [3, 2, 1, 0])
    assert torch.equal(x, before)
    with pytest.raises(ValueError, match="divisible"):
        permute_tiles(torch.zeros(1, 1, 5, 4), [1, 0, 2, 3])
    with pytest.raises(ValueError, match="entries"):
        permute_tiles(x, [1, 0, 2])
    with pytest.raises(ValueError, match="entries"):
        permute_tiles(x, [[1, 0, 2], [0, 1, 2]])


def test_mask_tile_blanks_one_tile_of_grey_images():
    x = torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(0)) + 0.5
    before = x.clone()
    out = mask_tile(x, 3, grid=2)
    assert torch.equal(x, before)
    assert torch.equal(out[:, :, 3:, 3:], torch.zeros(2, 1, 3, 3))
    keep = torch.ones_like(x, dtype=torch.bool)
    keep[:, :, 3:, 3:] = False
    assert torch.equal(out[keep], x[keep])


def test_mask_tile_turns_one_tile_of_rgb_images_grey():
    x = torch.rand(2, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    out = mask_tile(x, 1, grid=3)  # top row, middle column
    tile = out[:, :, 0:3, 3:6]
    expected = x[:, :, 0:3, 3:6].mean(dim=1, keepdim=True).expand_as(tile)
    assert torch.allclose(tile, expected)
    keep = torch.ones_like(x, dtype=torch.bool)
    keep[:, :, 0:3, 3:6] = False
    assert torch.equal(out[keep], x[keep])
    assert torch.equal(mask_tile(x, 1, 3, mode="zero")[:, :, 0:3, 3:6], 0 * tile)
    with pytest.raises(ValueError, match="index"):
        mask_tile(x, 9, grid=3)
    with pytest.raises(ValueError, match="mode"):
        mask_tile(x, 0, grid=3, mode="blur")


@pytest.mark.parametrize(
    ("shape", "grid", "min_size", "padded"),
    [
        ((28, 28), 2, 16, (28, 28)),
        ((28, 28), 3, 16, (30, 30)),
        ((5, 7), 2, 16, (16, 16)),
        ((17, 20), 3, 1, (18, 21)),
    ],
)
def test_padding_reaches_the_grid_and_crop_undoes_it(shape, grid, min_size, padded):
    x = torch.rand(2, 1, *shape, generator=torch.Generator().manual_seed(0))
    out = pad_to_grid(x, grid, min_size)
    assert tuple(out.shape[-2:]) == padded
    assert torch.equal(crop_to_shape(out, *shape), x)
    assert float(out.abs().sum()) == pytest.approx(float(x.abs().sum()))


def test_random_puzzle_draws_one_permutation_per_batch_and_is_seeded():
    puzzle = RandomPuzzle(puzzle_permutations(2, "all"), masking=False)
    image = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    batch = image.expand(5, 1, 8, 8).clone()
    out, params = puzzle(batch, generator=torch.Generator().manual_seed(0))
    assert params["mask_index"] is None
    assert all(torch.equal(out[i], out[0]) for i in range(5))
    assert torch.equal(out, permute_tiles(batch, params["permutation"]))
    again, params2 = puzzle(batch, generator=torch.Generator().manual_seed(0))
    assert (
        torch.equal(out, again)
        and params2["permutation_index"] == params["permutation_index"]
    )
    seen = {
        puzzle.make_params(torch.Generator().manual_seed(s))["permutation_index"]
        for s in range(60)
    }
    assert len(seen) > 10


def test_random_puzzle_masks_after_permuting():
    puzzle = RandomPuzzle(puzzle_permutations(2, "swaps"), masking=True)
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0)) + 1
    out, params = puzzle(x, generator=torch.Generator().manual_seed(3))
    expected = mask_tile(permute_tiles(x, params["permutation"]), params["mask_index"])
    assert torch.equal(out, expected)
    assert int((out == 0).sum()) == 2 * 16
