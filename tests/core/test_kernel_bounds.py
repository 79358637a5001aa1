"""The culling relies on declared Lipschitz bounds (global and local); the polygon sign on IEEE
sign bits.

Both are speed devices, so they are checked against slow, obvious computations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdif_core.grid import Grid
from fdif_core.nodes.checks import lipschitz_ratio
from fdif_core.nodes.profiles import SectorPolygon
from fdif_core.objects import evaluate_object
from fdif_core.placement import sample_placement
from fdif_core.shapes import compile_tree


def _extrude(profile: str, s2: float, neck: float, child: dict) -> dict:
    return {"kind": "extrude", "params": {"height": 30.0, "profile": profile, "s2": s2,
                                          "neck": neck},
            "children": [child]}


POLYGON = {"kind": "sector_polygon", "params": {"n": 7, "r1": 6.0, "r2": 18.0, "seed": 3}}
STAR = {"kind": "star", "params": {"r": 16.0, "n": 5, "w": 0.3}}


@pytest.mark.parametrize("profile,s2,neck", [("cone", 0.2, 0.0), ("convex", 0.3, 8.0),
                                             ("concave", 2.5, -10.0), ("cone", 3.0, 0.0)])
@pytest.mark.parametrize("child", [POLYGON, STAR], ids=["polygon", "star"])
def test_scaled_extrusion_respects_its_lipschitz_bound(profile, s2, neck, child):
    sdf = compile_tree(_extrude(profile, s2, neck, child))
    g = torch.Generator().manual_seed(1)
    points = (torch.rand(20000, 3, generator=g, dtype=torch.float64) * 2 - 1) * 30
    offsets = torch.randn(20000, 3, generator=g, dtype=torch.float64) * 0.3
    ratio = lipschitz_ratio(sdf, points, offsets)
    assert ratio <= sdf.lipschitz * (1 + 1e-6)
    # and it is not a loose number: the steepest sampled pair comes close to it
    assert ratio >= 0.6 * sdf.lipschitz


STEEP = [("convex", 3.5, 15.4), ("convex", 3.0, -15.2), ("concave", 0.3, 14.6),
         ("concave", 0.25, -15.6), ("convex", 2.5, 13.0), ("cone", 0.1, 0.0)]


@pytest.mark.parametrize("profile,s2,neck", STEEP)
@pytest.mark.parametrize("child", [POLYGON, STAR], ids=["polygon", "star"])
def test_local_bounds_hold_within_their_radius(profile, s2, neck, child):
    """Necks near or beyond an end (height 30, so the ends are at +-15) make one stretch steep:
    the local bound and the axial floor must hold for every point within the radius."""
    sdf = compile_tree(_extrude(profile, s2, neck, child))
    g = torch.Generator().manual_seed(2)
    centres = (torch.rand(20000, 3, generator=g, dtype=torch.float64) * 2 - 1) * 40
    for radius in (0.9, 3.5, 7.0):
        direction = torch.randn(20000, 3, generator=g, dtype=torch.float64)
        length = torch.rand(20000, 1, generator=g, dtype=torch.float64) * radius
        offsets = direction / direction.norm(dim=1, keepdim=True) * length
        q = tuple(centres[:, i] for i in range(3))
        moved = centres + offsets
        f0, f1 = sdf(q), sdf(tuple(moved[:, i] for i in range(3)))
        bound = sdf.lipschitz_near(q, radius)
        assert torch.all(torch.as_tensor(bound) <= sdf.lipschitz * (1 + 1e-9))
        assert torch.all((f1 - f0).abs() <= bound * length.squeeze(1) * (1 + 1e-6) + 1e-9)
        assert torch.all(f1 >= sdf.floor_near(q, radius) - 1e-9)
    # the local bound is much tighter than the global one away from the steep stretch
    if profile != "cone":
        far = (torch.zeros(1), torch.zeros(1), torch.tensor([-neck * 0.1]))
        assert float(torch.as_tensor(sdf.lipschitz_near(far, 1.0)).max()) < 0.5 * sdf.lipschitz


@pytest.mark.parametrize("profile,s2,neck", STEEP[:4])
def test_steep_extrusions_cull_exactly(profile, s2, neck):
    """The culling with local bounds keeps every voxel a full-grid evaluation puts inside."""
    tree = _extrude(profile, s2, neck, POLYGON)
    tree["params"]["onion_ratio"] = 0.3 if s2 < 1 else 0.0
    grid = Grid.reference((64, 64, 64))
    placement = sample_placement(np.random.default_rng(7), grid, True)
    full = evaluate_object(tree, placement, grid, full=True).sdf
    part = evaluate_object(tree, placement, grid)
    boxed = torch.full_like(full, math.inf)
    boxed[part.slices] = part.sdf
    assert torch.equal(boxed <= 0, full <= 0)
    finite = torch.isfinite(boxed)
    assert torch.equal(boxed[finite], full[finite])


def _winding_inside(vertices, x: float, y: float) -> bool:
    """The spec's rule (§4.1), one point at a time in Python floats."""
    winding = 0
    for i, (ax, ay) in enumerate(vertices):
        bx, by = vertices[(i + 1) % len(vertices)]
        cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        if ay <= y < by and cross > 0:
            winding += 1
        elif by <= y < ay and cross < 0:
            winding -= 1
    return winding != 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,seed", [(3, 5), (3, 11), (6, 2), (9, 7)])
def test_polygon_sign_bits_match_the_winding_rule(dtype, n, seed):
    polygon = SectorPolygon(n, 4.0, 15.0, seed)
    g = torch.Generator().manual_seed(seed)
    pts = ((torch.rand(3000, 2, generator=g, dtype=torch.float64) * 2 - 1) * 17).to(dtype)
    # include points on vertex heights, where the half-open band rule matters
    heights = torch.tensor([vy for _, vy in polygon.vertices], dtype=dtype)
    pts[:len(heights) * 20, 1] = heights.repeat(20)
    values = polygon(pts[:, 0], pts[:, 1])
    assert values.dtype == dtype
    inside = [_winding_inside(polygon.vertices, float(x), float(y)) for x, y in pts.tolist()]
    assert (values <= 0).tolist() == inside


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,seed", [(3, 5), (6, 2), (9, 7)])
def test_polygon_small_and_large_batches_agree_bitwise(dtype, n, seed):
    """Small batches take every edge at once, large ones go edge by edge: same bits."""
    polygon = SectorPolygon(n, 4.0, 15.0, seed)
    g = torch.Generator().manual_seed(seed)
    count = 30000  # count * n is above the all-edges batch for every n here
    pts = ((torch.rand(count, 2, generator=g, dtype=torch.float64) * 2 - 1) * 17).to(dtype)
    heights = torch.tensor([vy for _, vy in polygon.vertices], dtype=dtype)
    pts[:len(heights) * 20, 1] = heights.repeat(20)
    whole = polygon(pts[:, 0], pts[:, 1])
    pieces = torch.cat([polygon(p[:, 0], p[:, 1]) for p in pts.split(1000)])
    bits = torch.int32 if dtype == torch.float32 else torch.int64
    assert torch.equal(whole.view(bits), pieces.view(bits))
