"""CSG, domain operations and displacement: closed forms, brute force and bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdif_core.nodes.checks import bounds_violation, lattice, lipschitz_ratio, volume
from fdif_core.shapes import compile_tree


def spec(kind: str, *children: dict, **params) -> dict:
    return {"kind": kind, "params": params, "children": list(children)}


def sphere(r: float, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> dict:
    s = spec("sphere", r=r)
    return spec("transform", s, tx=x, ty=y, tz=z) if (x, y, z) != (0, 0, 0) else s


BOX = spec("box", hx=6.0, hy=3.0, hz=2.0)


def at(sdf, *points) -> np.ndarray:
    p = torch.tensor(points, dtype=torch.float64)
    return sdf((p[:, 0], p[:, 1], p[:, 2])).numpy()


def pairs(n: int, half: float, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    points = (torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1) * half
    return points, torch.randn(n, 3, generator=g, dtype=torch.float64) * 0.7


def lens_volume(r: float, d: float) -> float:
    """Volume of the intersection of two balls of radius r whose centres are d apart."""
    return math.pi * (4 * r + d) * (2 * r - d) ** 2 / 12


# -- CSG ---------------------------------------------------------------------------------------
def test_union_intersection_difference_volumes():
    a, b = sphere(6, x=-3), sphere(6, x=3)
    ball = 4 / 3 * math.pi * 216
    lens = lens_volume(6, 6)
    union = compile_tree(spec("union", a, b))
    inter = compile_tree(spec("intersection", a, b))
    diff = compile_tree(spec("difference", a, b))
    assert volume(union, 10, 0.25) == pytest.approx(2 * ball - lens, rel=0.01)
    assert volume(inter, 10, 0.25) == pytest.approx(lens, rel=0.01)
    assert volume(diff, 10, 0.25) == pytest.approx(ball - lens, rel=0.01)
    # The union of disjoint exact SDFs is exact outside: probes on the x axis.
    np.testing.assert_allclose(at(union, (12, 0, 0), (-11, 0, 0), (0, 0, 0)),
                               [3, 2, -3], atol=1e-9)


def test_smooth_ops_stay_within_k_over_4():
    a, b = sphere(6, x=-4), sphere(5, y=4)
    k = 3.0
    q = lattice(12, 0.5)
    fa, fb = compile_tree(a)(q), compile_tree(b)(q)
    su = compile_tree(spec("smooth_union", a, b, k=k))(q)
    si = compile_tree(spec("smooth_intersection", a, b, k=k))(q)
    sd = compile_tree(spec("smooth_difference", a, b, k=k))(q)
    hard = torch.minimum(fa, fb)
    assert bool((su <= hard + 1e-12).all()) and bool((su >= hard - k / 4 - 1e-12).all())
    far = torch.abs(fa - fb) >= k
    torch.testing.assert_close(su[far], hard[far])
    assert bool((si >= torch.maximum(fa, fb) - 1e-12).all())
    assert bool((sd >= torch.maximum(fa, -fb) - 1e-12).all())
    zero = compile_tree(spec("smooth_union", a, b, k=0.0))(q)
    torch.testing.assert_close(zero, hard)


def test_smooth_union_is_lipschitz():
    tree = spec("smooth_union", sphere(6, x=-4), sphere(5, y=4), BOX, k=4.0)
    points, offsets = pairs(4000, 14)
    assert lipschitz_ratio(compile_tree(tree), points, offsets) <= 1 + 1e-6


# -- domain operations -------------------------------------------------------------------------
def test_transform_rotation_translation_scale_exact():
    rot = compile_tree(spec("transform", BOX, tx=2.0, ty=-1.0, tz=3.0, rz=math.pi / 2))
    # Rotating by 90 degrees about z swaps the x and y half-sizes.
    np.testing.assert_allclose(at(rot, (2 + 3 + 4, -1, 3), (2, -1 + 6 + 2, 3), (2, -1, 3 + 2 + 5)),
                               [4, 2, 5], atol=1e-9)
    scaled = compile_tree(spec("transform", spec("sphere", r=5.0), sx=2.0, sy=2.0, sz=2.0))
    np.testing.assert_allclose(at(scaled, (13, 0, 0), (0, 0, 0)), [3, -10], atol=1e-9)
    general = compile_tree(spec("transform", BOX, rx=0.3, ry=-0.7, rz=1.1, sx=1.5, sy=0.6,
                                sz=1.2, hxy=0.3, hyz=-0.2))
    det = 1.5 * 0.6 * 1.2
    assert volume(general, 14, 0.25) == pytest.approx(12 * 6 * 4 * det, rel=0.01)
    points, offsets = pairs(4000, 14)
    assert lipschitz_ratio(general, points, offsets) <= 1 + 1e-6


def test_twist_preserves_volume_and_is_a_bound():
    twisted = compile_tree(spec("twist", BOX, k=0.15))
    assert volume(twisted, 8, 0.2) == pytest.approx(12 * 6 * 4, rel=0.01)
    plain = compile_tree(spec("twist", BOX, k=0.0))
    torch.testing.assert_close(plain(lattice(8, 1.0)), compile_tree(BOX)(lattice(8, 1.0)))
    points, offsets = pairs(4000, 6.3)  # within the child's radial extent
    assert lipschitz_ratio(twisted, points, offsets) <= 1 + 1e-6


def test_bend_with_a_tiny_curvature_matches_the_straight_child_in_float32():
    # 1/k = 1.7e7: radius - rho in float32 would cancel to whole units (a hypothesis find).
    child = spec("box", hx=10.0, hy=10.0, hz=10.0)
    bent = compile_tree(spec("bend", child, k=5.960464477539063e-08))
    q = lattice(12, 1.5, torch.float32)
    torch.testing.assert_close(bent(q), compile_tree(child)(q), rtol=0, atol=1e-4)
    assert bounds_violation(bent, q, 0.0) <= 1e-3


def test_bend_keeps_a_centred_slab_volume():
    # Arc lengths scale by (1 - k y'): symmetric in y', so the volume is unchanged.
    slab = spec("box", hx=10.0, hy=2.0, hz=3.0)
    bent = compile_tree(spec("bend", slab, k=0.08))
    assert volume(bent, 13, 0.2) == pytest.approx(20 * 4 * 6, rel=0.01)
    # Points on the centre arc at the child's x = +-10 map to the box's end faces.
    theta = 0.08 * 10
    end = (12.5 * math.sin(theta), 12.5 - 12.5 * math.cos(theta), 0.0)
    assert at(bent, end)[0] == pytest.approx(0.0, abs=1e-9)
    # A distance bound within the child's height band (|1/k - rho| <= hy), away from the seam.
    points, offsets = pairs(8000, 12)
    ends = points + offsets

    def in_band(p: torch.Tensor) -> torch.Tensor:
        rho = torch.hypot(p[:, 0], 12.5 - p[:, 1])
        return (torch.abs(rho - 12.5) <= 2.0) & (p[:, 1] < 12.5)

    keep = in_band(points) & in_band(ends)
    assert int(keep.sum()) > 300
    assert lipschitz_ratio(bent, points[keep], offsets[keep]) <= 1 + 1e-6


def test_elongated_sphere_is_a_capsule():
    elongated = compile_tree(spec("elongate", spec("sphere", r=3.0), hx=0.0, hy=8.0, hz=0.0))
    capsule = compile_tree(spec("capsule", h=8.0, r=3.0))
    q = lattice(14, 0.5)
    torch.testing.assert_close(elongated(q), capsule(q))


def test_round_onion_mirror_repeat():
    r = 5.0
    rounded = compile_tree(spec("round", spec("sphere", r=r), r=2.0))
    assert at(rounded, (10, 0, 0))[0] == pytest.approx(3.0)
    shell = compile_tree(spec("onion", spec("sphere", r=r), t=1.0))
    assert volume(shell, 7, 0.2) == pytest.approx(4 / 3 * math.pi * (6 ** 3 - 4 ** 3), rel=0.01)
    np.testing.assert_allclose(at(shell, (0, 0, 0), (5, 0, 0), (8, 0, 0)), [4, -1, 2])
    two = compile_tree(spec("onion", spec("sphere", r=r), t=0.5, layers=2))
    np.testing.assert_allclose(at(two, (5, 0, 0), (5.5, 0, 0), (6.5, 0, 0)), [0, -0.5, 0.5])
    mirrored = compile_tree(spec("mirror", sphere(3, x=6), x=1, y=0, z=0))
    union = compile_tree(spec("union", sphere(3, x=6), sphere(3, x=-6)))
    q = lattice(12, 0.5)
    torch.testing.assert_close(mirrored(q), union(q))
    rows = compile_tree(spec("repeat", spec("sphere", r=3.0), cx=10.0, nx=2, ny=0, nz=0))
    five = 5 * 4 / 3 * math.pi * 27
    assert volume(rows, (26.05, 4.05, 4.05), 0.15) == pytest.approx(five, rel=0.01)
    assert at(rows, (20, 0, 0), (26, 0, 0))[0] == pytest.approx(-3.0)
    assert at(rows, (26, 0, 0))[0] == pytest.approx(3.0)


def test_displace_sine_and_seeded_noise():
    sine = compile_tree(spec("displace", spec("sphere", r=6.0), pattern="sine",
                             amplitude=1.0, frequency=0.5))
    p = (7.0, 3.0, 1.0)
    expected = math.sqrt(49 + 9 + 1) - 6 + math.sin(3.5) * math.sin(1.5) * math.sin(0.5)
    assert at(sine, p)[0] == pytest.approx(expected)
    noise = [compile_tree(spec("displace", spec("sphere", r=6.0), amplitude=1.0, seed=s))
             for s in (1, 1, 2)]
    q = lattice(9, 0.5, torch.float32)
    assert torch.equal(noise[0](q), noise[1](q))
    assert not torch.equal(noise[0](q), noise[2](q))
    delta = noise[0](q) - compile_tree(spec("sphere", r=6.0))(q)
    assert float(delta.min()) >= -noise[0].lower


BOUNDED_TREES = {
    "union": spec("union", sphere(4, x=-6), BOX),
    "intersection": spec("intersection", sphere(7, x=3), BOX),
    "difference": spec("difference", BOX, sphere(3, x=6)),
    "smooth_union": spec("smooth_union", sphere(4, x=-7), sphere(4, x=4), BOX, k=6.0),
    "smooth_intersection": spec("smooth_intersection", sphere(7, x=3), BOX, k=3.0),
    "smooth_difference": spec("smooth_difference", BOX, sphere(3, x=6), k=3.0),
    "transform": spec("transform", BOX, tx=3.0, ty=-2.0, rx=0.4, ry=1.0, sx=1.3, sy=0.7,
                      hxz=0.4),
    "twist": spec("twist", spec("box", hx=7.0, hy=6.0, hz=1.5), k=0.2),
    "bend": spec("bend", spec("box", hx=12.0, hy=2.0, hz=2.0), k=0.1),
    "bend_tight": spec("bend", spec("box", hx=4.0, hy=1.5, hz=1.5, r=1.0), k=0.3),
    "bend_past_pi": spec("bend", spec("box", hx=14.0, hy=1.5, hz=2.0), k=0.3),
    "elongate": spec("elongate", sphere(3, y=2), hx=2.0, hy=4.0, hz=0.0),
    "round": spec("round", BOX, r=2.0),
    "onion": spec("onion", sphere(6), t=1.0, layers=2),
    "mirror": spec("mirror", sphere(3, x=5, y=4), x=1, y=1, z=1),
    "mirror_negative_side": spec("mirror", sphere(3, x=-5), x=1),
    "repeat": spec("repeat", spec("sphere", r=2.0), cx=6.0, cz=5.0, nx=2, nz=1),
    "displace_noise": spec("displace", sphere(6), amplitude=1.5, frequency=0.3, seed=3),
    "displace_sine": spec("displace", BOX, pattern="sine", amplitude=2.0, frequency=0.7),
    "torus_sweep": spec("torus_sweep", spec("regular_polygon", r=3.0, n=4), R=8.0, twist=0.25),
    "formula": spec("formula", expr="length(x, y, z) - 5 + sin(x)", bound=7.0),
    "nested": spec("twist", spec("bend", spec("smooth_union", BOX, sphere(3, x=6), k=2.0),
                                 k=0.05), k=0.05),
}


@pytest.mark.parametrize("name", sorted(BOUNDED_TREES))
@pytest.mark.parametrize("level", [0.0, 2.5])
def test_bounds_contain_the_level_set(name, level):
    node = compile_tree(BOUNDED_TREES[name])
    assert bounds_violation(node, lattice(24, 0.5), level) == 0.0
    lo, hi = node.bounds(level)
    assert np.all(np.asarray(hi) < 24), "the test lattice must reach past the bounds"
    assert np.all(np.asarray(lo) > -24)
