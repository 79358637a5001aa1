"""Exact-answer tests of the 3D primitives and 2D polygons added for the shape library."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdif_core.nodes import NODE_KINDS
from fdif_core.nodes.checks import bounds_violation, lattice, lipschitz_ratio, volume
from fdif_core.nodes.polygons import random_polygon_vertices
from fdif_core.nodes.profiles import Star
from fdif_core.shapes import compile_tree

NEW_PRIMITIVES = ["ellipsoid", "box", "capsule", "cylinder", "frustum", "torus", "octahedron"]


def node(kind: str, children: list | None = None, **params):
    return compile_tree({"kind": kind, "params": params, "children": children or []})


def at(sdf, *points) -> np.ndarray:
    p = torch.tensor(points, dtype=torch.float64)
    return sdf((p[:, 0], p[:, 1], p[:, 2])).numpy()


def brute_force(sdf, points: np.ndarray, half: float, step: float) -> np.ndarray:
    """Distance from outside points to the lattice points inside (accurate to ~step)."""
    x, y, z = lattice(half, step)
    f = sdf((x, y, z))
    grid = torch.stack(torch.broadcast_tensors(x, y, z), dim=-1)[f <= 0]
    p = torch.tensor(points, dtype=torch.float64)
    return torch.cdist(p, grid).min(dim=1).values.numpy()


def random_pairs(n: int, half: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    points = (torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1) * half
    offsets = torch.randn(n, 3, generator=g, dtype=torch.float64) * 0.7
    return points, offsets


def test_every_kind_has_metadata():
    for kind in NODE_KINDS.values():
        assert kind.description, kind.name
        for spec in kind.params:
            assert spec.description, f"{kind.name}.{spec.name}"
            assert spec.unit
            if spec.minimum is not None and spec.maximum is not None:
                assert spec.minimum <= spec.maximum


def test_ellipsoid_exact_on_axes_and_volume():
    sdf = node("ellipsoid", rx=10, ry=7, rz=5)
    np.testing.assert_allclose(at(sdf, (13, 0, 0), (0, -9, 0), (0, 0, 6), (0, 0, 2)),
                               [3, 2, 1, -3], atol=1e-9)
    assert volume(sdf, 11, 0.4) == pytest.approx(4 / 3 * math.pi * 10 * 7 * 5, rel=0.01)


def test_box_exact_and_rounded_volume():
    sdf = node("box", hx=6, hy=4, hz=3)
    np.testing.assert_allclose(at(sdf, (9, 8, 0), (0, 0, 0), (6, 0, 0), (0, 0, -5)),
                               [5, -3, 0, 2], atol=1e-9)
    assert volume(sdf, 7, 0.5) == pytest.approx(12 * 8 * 6, rel=0.01)
    r = 1.5
    rounded = node("box", hx=6, hy=4, hz=3, r=r)
    a, b, c = 2 * (6 - r), 2 * (4 - r), 2 * (3 - r)  # Steiner formula of the inner box
    expected = a * b * c + 2 * r * (a * b + b * c + c * a) + math.pi * r * r * (a + b + c) \
        + 4 / 3 * math.pi * r ** 3
    assert volume(rounded, 7, 0.25) == pytest.approx(expected, rel=0.01)
    corner = np.array([6 - r, 4 - r, 3 - r])
    probe = corner + 2 * np.ones(3) / math.sqrt(3) * 2
    assert at(rounded, tuple(probe))[0] == pytest.approx(4 - r, abs=1e-9)


def test_capsule_and_cylinder():
    cap = node("capsule", h=8, r=3)
    np.testing.assert_allclose(at(cap, (5, 0, 0), (0, 14, 0), (0, -8, 0), (3, 8, 4)),
                               [2, 3, -3, 2], atol=1e-9)
    assert volume(cap, 12, 0.25) == pytest.approx(math.pi * 9 * 16 + 4 / 3 * math.pi * 27,
                                                  rel=0.01)
    cyl = node("cylinder", r=5, h=7)
    np.testing.assert_allclose(at(cyl, (8, 11, 0), (0, 0, 0), (0, 9, 3)), [5, -5, 2], atol=1e-9)
    assert volume(cyl, 8, 0.25) == pytest.approx(math.pi * 25 * 14, rel=0.01)


def test_frustum_against_brute_force_and_volume():
    sdf = node("frustum", r1=8, r2=3, h=6)
    rng = np.random.default_rng(1)
    probes = rng.uniform(-14, 14, size=(40, 3))
    probes = probes[at(sdf, *map(tuple, probes)) > 1.0]
    exact = at(sdf, *map(tuple, probes))
    np.testing.assert_allclose(exact, brute_force(sdf, probes, 9, 0.25), atol=0.25)
    assert volume(sdf, 9, 0.25) == pytest.approx(math.pi * 12 / 3 * (64 + 24 + 9), rel=0.01)
    # The centre is 66/13 from the slanted side (normal (12, 5)/13 through (8, -6)).
    np.testing.assert_allclose(at(sdf, (0, 6, 0), (0, -6, 0), (0, 0, 0)), [0, 0, -66 / 13],
                               atol=1e-9)


def test_torus():
    sdf = node("torus", R=12, r=4)
    np.testing.assert_allclose(at(sdf, (12, 6, 0), (0, 0, 0), (0, 0, -12), (19, 0, 0)),
                               [2, 8, -4, 3], atol=1e-9)
    assert volume(sdf, 16.5, 0.25) == pytest.approx(2 * math.pi ** 2 * 12 * 16, rel=0.01)


def test_octahedron_exact():
    s = 9.0
    sdf = node("octahedron", s=s)
    np.testing.assert_allclose(at(sdf, (s + 2, 0, 0), (0, 0, 0), (5, 5, 5)),
                               [2, -s / math.sqrt(3), (15 - s) / math.sqrt(3)], atol=1e-9)
    rng = np.random.default_rng(2)
    probes = rng.uniform(-15, 15, size=(40, 3))
    probes = probes[at(sdf, *map(tuple, probes)) > 1.0]
    np.testing.assert_allclose(at(sdf, *map(tuple, probes)), brute_force(sdf, probes, 10, 0.25),
                               atol=0.25)
    assert volume(sdf, 10, 0.25) == pytest.approx(4 / 3 * s ** 3, rel=0.01)


@pytest.mark.parametrize("kind,params", [
    ("box", {"hx": 6, "hy": 4, "hz": 3, "r": 1}), ("capsule", {"h": 6, "r": 3}),
    ("cylinder", {"r": 5, "h": 7}), ("frustum", {"r1": 8, "r2": 3, "h": 6}),
    ("torus", {"R": 10, "r": 3}), ("octahedron", {"s": 9}), ("sphere", {"r": 7})])
def test_exact_kinds_are_1_lipschitz(kind, params):
    points, offsets = random_pairs(4000, 16)
    assert lipschitz_ratio(node(kind, **params), points, offsets) <= 1 + 1e-6


@pytest.mark.parametrize("kind,params", [
    ("ellipsoid", {"rx": 10, "ry": 6, "rz": 3}), ("box", {"hx": 6, "hy": 4, "hz": 3, "r": 1}),
    ("capsule", {"h": 6, "r": 3}), ("cylinder", {"r": 5, "h": 7}),
    ("frustum", {"r1": 2, "r2": 9, "h": 6}), ("torus", {"R": 10, "r": 3}),
    ("octahedron", {"s": 9})])
@pytest.mark.parametrize("level", [0.0, 3.0])
def test_primitive_bounds_hold(kind, params, level):
    assert bounds_violation(node(kind, **params), lattice(20, 0.5), level) == 0.0


def _profile(kind: str, **params):
    return node("extrude", [{"kind": kind, "params": params}], height=1000.0)


def polygon_area(vertices) -> float:
    v = np.asarray(vertices)
    return 0.5 * float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))


def test_regular_polygon_exact():
    n, r = 6, 10.0
    prism = _profile("regular_polygon", r=r, n=n)
    apothem = r * math.cos(math.pi / n)
    np.testing.assert_allclose(at(prism, (0, r + 2, 0), (0, 0, 0), (apothem + 3, 0, 0)),
                               [2, -apothem, 3], atol=1e-6)
    profile = compile_tree({"kind": "regular_polygon", "params": {"r": r, "n": n}})
    xs = torch.linspace(-12, 12, 481, dtype=torch.float64)
    area = float((profile(xs.view(1, -1), xs.view(-1, 1)) <= 0).sum()) * (24 / 480) ** 2
    assert area == pytest.approx(n / 2 * r * r * math.sin(2 * math.pi / n), rel=0.01)
    points = torch.rand(2000, 2, dtype=torch.float64) * 30 - 15
    d = torch.randn(2000, 2, dtype=torch.float64)
    a = profile(points[:, 0], points[:, 1])
    b = profile(points[:, 0] + d[:, 0], points[:, 1] + d[:, 1])
    assert float((torch.abs(a - b) / d.norm(dim=1)).max()) <= 1 + 1e-6


def test_random_polygon_is_seeded_and_simple():
    v1 = random_polygon_vertices(9, 5, 12, 42)
    assert v1 == random_polygon_vertices(9, 5, 12, 42) != random_polygon_vertices(9, 5, 12, 43)
    assert polygon_area(v1) > 0  # counter-clockwise, star-shaped about the origin
    profile = compile_tree({"kind": "random_polygon",
                            "params": {"n": 9, "r1": 5, "r2": 12, "seed": 42}})
    xs = torch.linspace(-13, 13, 521, dtype=torch.float64)
    area = float((profile(xs.view(1, -1), xs.view(-1, 1)) <= 0).sum()) * (26 / 520) ** 2
    assert area == pytest.approx(polygon_area(v1), rel=0.01)
    assert profile.radius <= 12


def test_torus_sweep_matches_revolve_and_pappus():
    circle = {"kind": "circle", "params": {"r": 3.0}}
    sweep = node("torus_sweep", [circle], R=10)
    revolve = node("revolve", [circle], offset=10)
    x, y, z = lattice(15, 1.0)
    torch.testing.assert_close(sweep((x, y, z)), revolve((x, y, z)))
    star = {"kind": "star", "params": {"r": 4.0, "n": 5, "w": 0.5}}
    twisted = node("torus_sweep", [star], R=12, twist=0.2)  # 1/5 turn: continuous for n = 5
    profile = compile_tree(star)
    xs = torch.linspace(-5, 5, 2001, dtype=torch.float64)
    area = float((profile(xs.view(1, -1), xs.view(-1, 1)) <= 0).sum()) * (10 / 2000) ** 2
    # Pappus: the star's centroid stays on the sweep circle whatever its rotation.
    assert volume(twisted, 16.3, 0.2) == pytest.approx(2 * math.pi * 12 * area, rel=0.01)
    assert bounds_violation(twisted, lattice(20, 0.5), 2.0) == 0.0
    # A distance bound where the tube lies (at least R - rp from the axis).
    points, offsets = random_pairs(6000, 16)
    keep = (torch.hypot(points[:, 0], points[:, 2]) > 8.5) \
        & (torch.hypot(points[:, 0] + offsets[:, 0], points[:, 2] + offsets[:, 2]) > 8.5)
    assert lipschitz_ratio(twisted, points[keep], offsets[keep]) <= 1 + 1e-6


@pytest.mark.parametrize("n", [3, 4, 5, 8])
@pytest.mark.parametrize("w", [0.0, 0.5, 1.0])
def test_star_keeps_its_inside_within_the_outer_radius(n, w):
    """The tips' axes, where the fold is exact, stay outside past the tips (hypothesis found
    a 2-pointed star inside there: its tips lie on the fold line, so n starts at 3)."""
    star = Star(10.0, n, w)
    axis = torch.linspace(-14.0, 14.0, 113)
    x, y = torch.meshgrid(axis, axis, indexing="xy")
    inside = star(x, y) <= 0
    assert bool(inside.any())
    assert float(torch.hypot(x, y)[inside].max()) <= 10.0 + 1e-4
    with pytest.raises(ValueError, match="star.n: 2 is below the minimum 3"):
        compile_tree({"kind": "star", "params": {"n": 2}})
