# Copyright (c) invtoolbox contributors. All rights reserved.
"""Tiled inference: the plan, the measured receptive field, and tiled ==
untiled outputs (bit for bit)."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from invtoolbox.apis.tiling import (TileCost, TileOp, TilingError,
                                    choose_tile_size, measure_tile_cost,
                                    parse_memory, plan_tiles,
                                    receptive_radius, run_tiled)


@pytest.mark.parametrize('height,width,tile,halo,multiple', [
    (37, 53, 10, 3, 1), (64, 48, 16, 6, 4), (20, 20, 32, 5, 2),
    (30, 90, 8, 40, 2)
])
def test_the_plan_covers_every_pixel_once_with_a_halo(height, width, tile,
                                                      halo, multiple):
    height -= height % multiple
    width -= width % multiple
    tiles = plan_tiles(height, width, tile, halo, multiple)
    count = np.zeros((height, width), int)
    shapes = set()
    for t in tiles:
        top, left, bottom, right = t.core
        count[top:bottom, left:right] += 1
        r_top, r_left, r_bottom, r_right = t.region
        shapes.add((r_bottom - r_top, r_right - r_left))
        # the region holds the core and a halo on every side, or reaches
        # the image border
        assert r_top <= max(top - halo, 0) and r_left <= max(left - halo, 0)
        assert r_bottom >= min(bottom + halo, height)
        assert r_right >= min(right + halo, width)
        assert 0 <= r_top and r_bottom <= height and r_right <= width
        for v in t.core[:2] + t.region[:2]:
            assert v % multiple == 0
    assert (count == 1).all()
    assert len(shapes) == 1  # one region shape: one set of conv kernels


def conv_stack(layers, scale=None, channels=3, seed=0):
    torch.manual_seed(seed)
    mods = []
    for _ in range(layers):
        mods += [nn.Conv2d(channels, channels, 3, padding=1),
                 nn.LeakyReLU(0.2)]
    if scale == 'down':
        mods.append(nn.PixelUnshuffle(2))
        mods.append(nn.Conv2d(4 * channels, channels, 3, padding=1))
    elif scale == 'up':
        mods.append(nn.Conv2d(channels, 4 * channels, 3, padding=1))
        mods.append(nn.PixelShuffle(2))
    return nn.Sequential(*mods).eval()


def test_receptive_radius_is_measured_exactly():
    net = conv_stack(4)
    op = TileOp(lambda x, _: net(x), 3, Fraction(1))
    assert receptive_radius(op) == 4
    down = conv_stack(2, 'down')
    # 2 convs at full size, then 1 at half size (2 input pixels) + the
    # 2x2 unshuffle block
    op = TileOp(lambda x, _: down(x), 3, Fraction(1, 2), multiple=2)
    radius = receptive_radius(op)
    assert radius % 2 == 0 and 4 <= radius <= 6
    # a global operation has no finite radius: it is not tiled
    op = TileOp(lambda x, _: x - x.mean(), 3, Fraction(1))
    assert receptive_radius(op) is None
    with pytest.raises(TilingError, match='not local'):
        run_tiled(op, np.zeros((64, 64, 3), np.uint8), tile=16)


@pytest.mark.parametrize('kind', ['same', 'down', 'up'])
def test_tiled_equals_untiled_bit_for_bit(kind):
    net = conv_stack(3, None if kind == 'same' else kind)
    scale = {'same': Fraction(1), 'down': Fraction(1, 2),
             'up': Fraction(2)}[kind]
    op = TileOp(lambda x, _: net(x) + 0.5, 3, scale,
                multiple=2 if kind == 'down' else 1)
    image = np.random.default_rng(0).integers(0, 256, (46, 70, 3), np.uint8)
    whole = run_tiled(op, image)
    assert whole.shape == (int(46 * scale), int(70 * scale), 3)
    halo = receptive_radius(op)
    for tile in (8, 14, 32):
        tiled = run_tiled(op, image, tile=tile, halo=halo, progress=False)
        assert np.array_equal(tiled, whole)
    # a halo smaller than the receptive field changes the output: the
    # test can fail
    short = run_tiled(op, image, tile=8, halo=0, progress=False)
    assert not np.array_equal(short, whole)


def test_a_side_input_is_cut_with_its_tile():
    net = conv_stack(2, channels=3)

    def fn(x, z):
        return net(x) + z[:, :3]

    z = torch.randn(1, 5, 40, 36)
    op = TileOp(fn, 3, Fraction(1), side_input=z)
    image = np.random.default_rng(1).integers(0, 256, (40, 36, 3), np.uint8)
    whole = run_tiled(op, image)
    assert np.array_equal(
        run_tiled(op, image, tile=10, halo=receptive_radius(op),
                  progress=False), whole)


def test_memory_sizes_and_budgets():
    assert parse_memory('2G') == 2 * 2**30
    assert parse_memory('1500M') == 1500 * 2**20
    assert parse_memory('2.5GiB') == int(2.5 * 2**30)
    assert parse_memory('800MB') == 800 * 2**20
    for bad in ('two', '-1G', '0'):
        with pytest.raises(TilingError):
            parse_memory(bad)
    cost = TileCost(0.0, 100.0, True)
    # the whole image fits: no tiling
    assert choose_tile_size(100, 100, 10, cost, 100 * 100 * 100) is None
    tile = choose_tile_size(1000, 1000, 10, cost, 100 * 400**2, multiple=4)
    assert tile % 4 == 0 and (tile + 20)**2 * 100 <= 100 * 400**2
    assert (tile + 24)**2 * 100 > 100 * 400**2 or tile == 380
    with pytest.raises(TilingError, match='raise --max-memory'):
        choose_tile_size(1000, 1000, 100, cost, 100 * 150**2)


def test_tile_memory_is_measured():
    net = conv_stack(2)
    op = TileOp(lambda x, _: net(x), 3, Fraction(1))
    cost = measure_tile_cost(op, size=128)
    assert cost.per_pixel > 0
    if cost.measured:  # Linux: at least the output and input floats
        assert cost.per_pixel >= 2 * 3 * 4 * 0.5
