"""Spec §17.10 mapper spot values and §17.11 displacement ranges, plus the seeded noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdif_core.displacements import DISPLACEMENTS, GradientNoise, get_displacement
from fdif_core.grid import Grid
from fdif_core.mappers import MAPPERS, get_mapper
from fdif_core.objects import DisplacementCache

D = [-13, -5, -2, -1, -0.5, 0, 0.5, 2]
SPOTS = {
    "inverse_cube": [0.058, 1.016, 14.222, 64, 113.778, 128, 113.778, 14.222],
    "exponential_base_2.0": [0.016, 4, 32, 64, 90.51, 128, 0, 0],
    "exponential_base_1.5": [0.658, 16.856, 56.889, 85.333, 104.512, 128, 0, 0],
    "linear_slope_10.0": [0, 78, 108, 118, 123, 128, 0, 0],
    "floor_width_1.0": [0, 78, 108, 118, 128, 128, 0, 0],
    "floor_width_0.5": [0, 28, 88, 108, 118, 128, 0, 0],
    "modular_5": [32, 128, 64, 96, 128, 128, 0, 0],
    "modular_10": [42.667, 128, 71.111, 99.556, 113.778, 128, 0, 0],
    "sinusoidal_wavelength_1.0": [128, 128, 128, 128, 0, 128, 0, 0],
    "sinusoidal_wavelength_3.0": [32, 32, 32, 32, 96, 128, 0, 0],
}


@pytest.mark.parametrize("key", list(SPOTS))
def test_mapper_spot_values(key):
    got = get_mapper(key)(torch.tensor(D, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(got, SPOTS[key], atol=1e-3)


@pytest.mark.parametrize("key", sorted(MAPPERS))
def test_mapper_all_inside_shortcut_gives_the_same_bits(key):
    d = -torch.linspace(0, 20, 4001)
    mapper = get_mapper(key)
    assert torch.equal(mapper(d, all_inside=True), mapper(d))
    outside = torch.tensor([0.5, 3.0])
    assert mapper.has_halo or not bool(mapper(outside).any())


def test_mapper_extra_spots():
    assert float(get_mapper("floor_width_1.0")(torch.tensor(-12.8))) == pytest.approx(8)
    assert float(get_mapper("linear_slope_20.0")(torch.tensor(-1.0))) == pytest.approx(108)
    assert len(MAPPERS) == 11


RANGES = {  # spec §17.11, on the 96 grid
    "perlin_more_fine": (-2.820, 2.820), "perlin_fine": (-0.940, 0.940),
    "turbulence": (-6.819, 6.819), "ridge": (0, 4.230), "ridge_coarse": (0, 7.049),
    "sharpmax": (0, 2.350), "sharpmax_fine": (0, 1.410), "twisted_x": (0, 1.880),
    "sawtooth": (-1.318, 1.318), "sawtooth_fine": (-0.879, 0.879),
}


@pytest.mark.parametrize("key", list(RANGES))
def test_displacement_ranges(key):
    grid = Grid.reference((96, 96, 96))
    field = DisplacementCache().field(DISPLACEMENTS[key], grid, torch.device("cpu")).numpy()
    lo, hi = RANGES[key]
    assert field.min() == pytest.approx(lo, abs=2e-3)
    assert field.max() == pytest.approx(hi, abs=2e-3)
    assert field.min() >= DISPLACEMENTS[key].lower_bound(grid) - 1e-4


def test_displacement_names():
    assert get_displacement("perlin_fine").long_name == "perlin_amp_0.01_scale_30.0"
    assert get_displacement("twisted_x").long_name == "twisted_amp_0.04_freq_20.0_axis_x"
    assert get_displacement("turbulence").long_name == "turbulence_amp_0.05_scale_30.0"
    assert get_displacement("sawtooth").long_name == "sawtooth_amp_0.03_freq_15.0"
    assert get_displacement("none") is None
    with pytest.raises(KeyError, match="unknown displacement 'wobble'"):
        get_displacement("wobble")


def test_one_noise_octave_stays_within_its_proven_range():
    """|noise| <= 3/2 per octave (displacements.NOISE_RANGE, which sets how far beyond the
    surface a noisy object is evaluated); random points and cell centres, several tables."""
    from fdif_core.displacements import NOISE_RANGE, _perlin

    worst = 0.0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        perm = torch.as_tensor(np.tile(rng.permutation(256), 2))
        points = [torch.tensor(rng.uniform(0, 256, 200_000), dtype=torch.float32) for _ in range(3)]
        centres = [torch.tensor(rng.integers(0, 255, 20_000) + 0.5, dtype=torch.float32)
                   for _ in range(3)]
        for p in (points, centres):
            worst = max(worst, float(_perlin(p, perm).abs().max()))
    assert 0.9 < worst <= NOISE_RANGE


def test_gradient_noise_is_seeded_and_bounded():
    noise = GradientNoise("gradient_noise", amplitude=2.0, frequency=0.1, octaves=3)
    axis = torch.linspace(-30, 30, 41)
    q = torch.meshgrid(axis, axis, axis, indexing="ij")
    a, b, c = noise.field(q, 1), noise.field(q, 1), noise.field(q, 2)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert float(a.abs().max()) <= -noise.lower_bound(Grid.reference((8, 8, 8)))
    assert 0.3 < float(a.std()) < 2.0  # a real, non-degenerate pattern


def test_mapper_expressions_spell_out_the_spec_formulas():
    from fdif_core.mappers import MAPPERS

    assert MAPPERS["inverse_cube"].expression == "g(d) = 128 / (|d|³ + 1) everywhere"
    assert MAPPERS["floor_width_0.5"].expression == \
        "g(d) = clamp(128 + 10·ceil(d/0.5), 0, 128) inside, 0 outside"
    assert MAPPERS["modular_10"].expression == \
        "g(d) = ((ceil(d/0.5) + 9) mod 10)·128/9 inside, 0 outside"
    assert all(m.expression.startswith("g(d) = ") for m in MAPPERS.values())
