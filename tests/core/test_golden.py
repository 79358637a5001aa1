"""Spec §16.1 golden SDF values and the exact checks of §17 items 1–9."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdif_core.grid import Grid
from fdif_core.nodes.fdif import CappedCone
from fdif_core.nodes.profiles import SectorPolygon, Star
from fdif_core.placement import Placement, sample_placement
from tests.core.helpers import GRID96, class_sdf, tree_sdf

# name, params, count, min f, f(0,0,0), f(x=10), f(y=10), f(z=10)   (spec §16.1)
GOLDEN = [
    ("sphere", dict(r=10), 4169, -10.0, -10.0, 0.0, 0.0, 0.0),
    ("torus", dict(R=20, r=6), 13864, -6.0, 14.0, 4.0, 16.3607, 4.0),
    ("cone", dict(R=15, Hc=30), 7443, -9.0, -6.7082, 2.2361, -2.2361, 2.2361),
    ("octahedron", dict(s=20), 11521, -7.1547, -7.1547, -3.5774, -3.5774, -3.5774),
    ("cylinder", dict(r=12, height=30), 13671, -12.0, -12.0, -2.0, -2.0, -5.0),
    ("cone_cylinder", dict(r=15, height=30, s2=0.5), 12803, -12.0, -11.25, -1.25, -1.25, -5.0),
    ("convex_cylinder", dict(r=8, height=30, s2=3, neck=0), 26327, -15.0, -15.0, -14.0, -14.0,
     -5.0),
    ("concave_cylinder", dict(r=15, height=30, s2=0.3, neck=0), 10575, -8.7, -4.5, 5.5, 5.5,
     -5.0),
    ("five_star_prism", dict(radius=20, w=0.5, height=30), 12245, -6.8055, -6.8055, 0.1882,
     -2.6604, -5.0),
    ("five_star_cone_prism", dict(radius=20, w=0.5, height=30, s2=0.5), 7273, -6.0115, -5.1041,
     1.5184, -1.3302, -3.9699),
    ("onioned_five_star_prism", dict(radius=20, w=0.5, height=30, onion_ratio=0.3), 17391,
     -2.0416, 4.7638, -1.8534, 0.6187, 4.7638),
    ("onioned_five_star_cone_prism",
     dict(radius=20, w=0.5, height=30, s2=0.5, onion_ratio=0.3), 18404, -3.1645, 1.9396,
     -1.6461, -1.8344, 0.8053),
    ("five_star_torus", dict(R=25, minor=10, w=0.4), 12328, -2.6792, 15.7947, 6.2994, 16.9608,
     6.2994),
    ("four_star_revolution", dict(radius=20, dist=5, w=0.4), 9837, -4.6927, -2.9264, -2.9264,
     2.9530, -2.9264),
]
# Cone scale profiles put dozens of voxels exactly on f = 0 (|P| = r*s(a) with integer
# coordinates); which side float32 rounding puts them on depends on operation order, so the
# count may differ from the reference by those ties (8 of 12803 and 3 of 7273 here).
TIE_ROWS = {"cone_cylinder": 10, "five_star_cone_prism": 5}


@pytest.mark.parametrize("row", GOLDEN, ids=[r[0] for r in GOLDEN])
def test_golden_sdf(row):
    name, params, count, fmin, f0, fx, fy, fz = row
    f = class_sdf(name, params)
    assert abs(int((f <= 0).sum()) - count) <= TIE_ROWS.get(name, 0)
    probes = [f.min(), f[48, 48, 48], f[48, 48, 58], f[48, 58, 48], f[58, 48, 48]]
    np.testing.assert_allclose(probes, [fmin, f0, fx, fy, fz], atol=1e-4)


def test_grid_coordinates():
    assert GRID96.axis(2)[0] == -48 and GRID96.axis(2)[95] == 47
    assert GRID96.index_of((10.0, -3.0, 5.0)) == (53, 45, 58)  # world (x, y, z) -> [z, y, x]
    assert GRID96.axis_max == (47.0, 47.0, 47.0)


def test_sphere_is_exact():
    f = class_sdf("sphere", dict(r=10))
    z, y, x = np.meshgrid(*[np.arange(96) - 48.0] * 3, indexing="ij")
    np.testing.assert_allclose(f, np.sqrt(x * x + y * y + z * z) - 10, atol=1e-5)
    grad = np.linalg.norm(np.stack(np.gradient(f)), axis=0)
    assert abs(np.median(grad[np.abs(f) < 6]) - 1.0) < 0.01


def test_octahedron_factor():
    f = class_sdf("octahedron", dict(s=20))
    assert f[48, 48, 48] == pytest.approx(-0.35773502691896257 * 20, abs=1e-5)
    grad = np.linalg.norm(np.stack(np.gradient(f)), axis=0)
    assert np.median(grad[(np.abs(f) < 3)]) == pytest.approx(0.6196, abs=1e-3)


def test_transform_algebra():
    rng = np.random.default_rng(3)
    grid = Grid.reference((32, 32, 32))
    for _ in range(20):
        p = sample_placement(rng, grid, transform=True)
        eig = np.linalg.eigvalsh(p.shear())
        assert eig.min() >= 0.8 and eig.max() <= 1.2
        np.testing.assert_allclose(p.shear(), p.shear().T)
        np.testing.assert_allclose(p.world_to_local(),
                                   np.linalg.inv(p.shear()) @ p.rotation().T, atol=1e-12)
    placement = Placement(tx=3, ty=-2, tz=5, ax=0.4, ay=-1.1, az=2.0, h1=0.05, h2=-0.08, h3=0.02)
    f = tree_sdf({"kind": "sphere", "params": {"r": 7.0}, "children": []}, grid, placement)
    z, y, x = np.meshgrid(*[np.arange(32) - 16.0] * 3, indexing="ij")
    pts = np.stack([x, y, z], -1) - placement.translation
    q = pts @ placement.world_to_local().T
    np.testing.assert_allclose(f, np.linalg.norm(q, axis=-1) - 7, atol=1e-4)
    shifted = tree_sdf({"kind": "sphere", "params": {"r": 7.0}, "children": []}, grid,
                       Placement(tx=3, ty=-2, tz=5))
    np.testing.assert_allclose(shifted, np.linalg.norm(pts, axis=-1) - 7, atol=1e-5)


@pytest.mark.parametrize("n,w,inner", [(5, 0.2, 1.30), (5, 0.7, 4.98), (4, 0.1, 0.56)])
def test_star_inner_radius(n, w, inner):
    star = Star(10, n, w)
    angles = torch.linspace(0, 2 * math.pi, 3601)
    radii = torch.linspace(0, 10.5, 4201)
    # inner radius: smallest boundary radius over all directions
    ang, rad = torch.meshgrid(angles, radii, indexing="ij")
    g = star(rad * torch.sin(ang), rad * torch.cos(ang))
    boundary = (g >= 0).float().argmax(dim=1)
    assert float(radii[boundary].min()) == pytest.approx(inner, abs=0.02)
    assert float(star(torch.tensor(0.0), torch.tensor(10.0))) == pytest.approx(0, abs=1e-5)


def test_star_matches_brute_force():
    star = Star(10, 5, 0.4)
    rad = torch.linspace(0, 12, 3001)
    ang, rr = torch.meshgrid(torch.linspace(0, 2 * math.pi, 2001), rad, indexing="ij")
    g = star(rr * torch.sin(ang), rr * torch.cos(ang))
    edge = (g > 0).float().argmax(dim=1)
    contour = torch.stack([rad[edge] * torch.sin(ang[:, 0]), rad[edge] * torch.cos(ang[:, 0])], 1)
    pts = torch.rand(300, 2, generator=torch.Generator().manual_seed(0)) * 24 - 12
    brute = torch.cdist(pts.double(), contour.double()).min(dim=1).values
    assert torch.allclose(star(pts[:, 0], pts[:, 1]).abs().double(), brute, atol=0.05)


def test_polygon_square_and_signs():
    a = 5.0
    square = SectorPolygon.from_vertices([(a, a), (-a, a), (-a, -a), (a, -a)])
    assert float(square(torch.tensor(0.0), torch.tensor(0.0))) == pytest.approx(-a)
    assert float(square(torch.tensor(2 * a), torch.tensor(0.0))) == pytest.approx(a)
    # non-convex star-shaped polygon: the notch point is outside, the centre inside
    notch = SectorPolygon.from_vertices([(6, 0), (1, 1), (0, 6), (-6, 0), (0, -6)])
    assert float(notch(torch.tensor(2.5), torch.tensor(2.5))) > 0
    assert float(notch(torch.tensor(-1.0), torch.tensor(0.0))) < 0
    # a triangle that does not contain the origin
    tri = SectorPolygon.from_vertices([(4, 1), (8, 1), (6, 5)])
    assert float(tri(torch.tensor(0.0), torch.tensor(0.0))) > 0
    assert float(tri(torch.tensor(6.0), torch.tensor(2.0))) < 0


def test_sector_polygon_vertices_follow_sectors():
    poly = SectorPolygon(7, 10.0, 20.0, 12345)
    angles = [math.atan2(y, x) % (2 * math.pi) for x, y in poly.vertices]
    for i, ang in enumerate(angles):
        assert 2 * math.pi * i / 7 <= ang <= 2 * math.pi * (i + 1) / 7
        assert 10 <= math.hypot(*poly.vertices[i]) <= 20


def test_cone_matches_brute_force():
    cone = CappedCone(15.0, 30.0)
    gen = torch.Generator().manual_seed(1)
    pts = (torch.rand(2000, 3, generator=gen) * 60 - 30).double()
    f = cone((pts[:, 0], pts[:, 1], pts[:, 2]))
    rho, y = torch.hypot(pts[:, 0], pts[:, 2]), pts[:, 1]
    # the surface in the meridian half-plane: base segment and slanted side (not the axis)
    s = torch.linspace(0, 1, 20001, dtype=torch.float64)
    base = torch.stack([15 * s, torch.full_like(s, -15.0)], 1)
    side = torch.stack([15 * (1 - s), -15 + 30 * s], 1)
    surface = torch.cat([base, side])
    dist = torch.cdist(torch.stack([rho, y], 1), surface).min(dim=1).values
    inside = (y >= -15) & (y <= 15) & (rho <= 15 * (15 - y) / 30)
    brute = torch.where(inside, -dist, dist)
    assert torch.allclose(f, brute, atol=2e-3)


def test_onion_cylinder():
    tree = {"kind": "extrude", "params": {"height": 30.0, "onion_ratio": 0.3},
            "children": [{"kind": "circle", "params": {"r": 15.0}, "children": []}]}
    f = tree_sdf(tree)
    assert int((f <= 0).sum()) == 26412
    assert f.min() == pytest.approx(-4.5, abs=1e-5)
    assert f[48, 48, 48] == pytest.approx(10.5, abs=1e-5)  # hole at the axis
    assert f[48, 48, 58] == pytest.approx(0.5, abs=1e-5)
    row = f[48, 48, :]
    inside = np.nonzero(row <= 0)[0] - 48
    assert inside.max() == 19 and inside[inside > 0].min() == 11  # wall between 10.5 and 19.5


def test_onion_thickness_depends_on_domain():
    tree = {"kind": "extrude",
            "params": {"height": 30.0, "profile": "cone", "s2": 0.5, "onion_ratio": 0.3},
            "children": [{"kind": "star", "params": {"r": 20.0, "n": 5, "w": 0.5},
                          "children": []}]}
    big = tree_sdf(tree)
    small = tree_sdf(tree, Grid.reference((48, 48, 48)))
    assert big.min() == pytest.approx(-3.1645, abs=1e-4)
    assert small.min() != pytest.approx(big.min(), abs=1e-3)
