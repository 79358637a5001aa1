"""Culled evaluation (which trusts each kind's Lipschitz bound) equals full-grid evaluation for
the library classes and for every kind that declares a finite bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdif_core.grid import Grid
from fdif_core.library import shape_library
from fdif_core.nodes import NODE_KINDS
from fdif_core.objects import evaluate_object
from fdif_core.placement import sample_placement
from fdif_core.shapes import compile_tree, sample_class

GRID = Grid.reference((48, 48, 48))


def leaf(kind: str, **params) -> dict:
    return {"kind": kind, "params": params, "children": []}


def node(kind: str, children: list, **params) -> dict:
    return {"kind": kind, "params": params, "children": children}


TREES = {
    "box": leaf("box", hx=9.0, hy=5.0, hz=7.0, r=1.5),
    "capsule": leaf("capsule", h=9.0, r=4.0),
    "cylinder": leaf("cylinder", r=7.0, h=9.0),
    "frustum": leaf("frustum", r1=8.0, r2=3.0, h=9.0),
    "torus": leaf("torus", R=10.0, r=3.0),
    "octahedron": leaf("octahedron", s=11.0),
    "smooth_union": node("smooth_union", [leaf("torus", R=10.0, r=3.0),
                                          leaf("capsule", h=9.0, r=4.0)], k=4.0),
    "difference": node("difference", [leaf("box", hx=9.0, hy=9.0, hz=9.0),
                                      leaf("sphere", r=10.0)]),
    "smooth_intersection": node("smooth_intersection", [leaf("box", hx=9.0, hy=9.0, hz=9.0),
                                                        leaf("sphere", r=11.0)], k=3.0),
    "transform": node("transform", [leaf("box", hx=8.0, hy=4.0, hz=6.0)], rx=0.4, rz=1.1,
                      sx=1.3, sy=0.7, hxy=0.3),
    "round": node("round", [leaf("box", hx=6.0, hy=6.0, hz=3.0)], r=2.0),
    "onion": node("onion", [leaf("sphere", r=12.0)], t=1.5),
    "mirror": node("mirror", [node("transform", [leaf("torus", R=6.0, r=2.0)], tx=5.0)]),
    "elongate": node("elongate", [leaf("sphere", r=5.0)], hx=6.0, hz=3.0),
    "torus_sweep": node("torus_sweep", [leaf("regular_polygon", r=3.0, n=5)], R=10.0),
    "extrude_regular": node("extrude", [leaf("regular_polygon", r=8.0, n=6)], height=14.0,
                            profile="cone", s2=0.4),
}


def assert_culled_equals_full(tree, placement, displacement="none", seed=0, grid=GRID):
    """Culled and full-grid evaluation agree; returns the culled result."""
    full = evaluate_object(tree, placement, grid, displacement, seed, full=True).sdf
    part = evaluate_object(tree, placement, grid, displacement, seed)
    boxed = torch.full_like(full, math.inf)
    if part is not None:
        boxed[part.slices] = part.sdf
    assert torch.equal(boxed <= 0, full <= 0)
    finite = torch.isfinite(boxed)
    assert torch.allclose(boxed[finite], full[finite], atol=1e-5)
    return part


@pytest.mark.parametrize("name", sorted(TREES))
def test_declared_kinds_cull_exactly(name):
    tree = TREES[name]
    assert math.isfinite(compile_tree(tree).lipschitz)  # the bound is declared and used
    rng = np.random.default_rng(5)
    for _ in range(3):
        assert_culled_equals_full(tree, sample_placement(rng, GRID), "turbulence")


def test_every_finite_bound_kind_is_covered():
    finite = {name for name, tree in TREES.items() if math.isfinite(compile_tree(tree).lipschitz)}
    kinds = set()

    def walk(t):
        kinds.add(t["kind"])
        for child in t["children"]:
            walk(child)

    for name in finite:
        walk(TREES[name])
    assert {"box", "capsule", "cylinder", "frustum", "torus", "octahedron", "smooth_union",
            "difference", "transform", "round", "onion", "mirror", "elongate", "torus_sweep",
            "regular_polygon"} <= kinds
    assert kinds <= set(NODE_KINDS)


def test_library_classes_cull_exactly():
    lib = shape_library()
    rng = np.random.default_rng(9)
    classes = [c for c in lib.classes.values() if c.fdif_id is None]
    assert len(classes) >= 8
    for shape in classes:
        for disp in ("none", "gradient_noise", "ridge_coarse"):
            _, tree = sample_class(shape, rng, GRID.size)
            assert_culled_equals_full(tree, sample_placement(rng, GRID), disp,
                                      int(rng.integers(0, 100)))


@pytest.mark.parametrize("displacement", ["turbulence", "gradient_noise", "none"])
def test_culling_on_a_grid_that_is_not_whole_blocks(displacement):
    """Blocks reach past the far faces of a (37, 29, 19) grid; an object at that corner
    culls exactly, the world displacement read only inside the grid."""
    from fdif_core.placement import Placement

    tree = node("extrude", [leaf("regular_polygon", r=7.0, n=5)], height=12.0, profile="cone",
                s2=0.6)
    placement = Placement(tx=6.0, ty=10.0, tz=14.0, ax=0.5, ay=-0.3, az=1.0)
    part = assert_culled_equals_full(tree, placement, displacement, 3,
                                     Grid.reference((37, 29, 19)))
    assert part.box[1::2] == (37, 29, 19)  # the box reaches the far faces
    assert bool((part.values <= 0).any())


def test_block_voxels_are_the_full_grid_coordinates_on_odd_grids():
    """2-blocks of the 8³ blocks covering a grid may reach past it (odd sizes); the voxels
    inside get bitwise the coordinates of a full-grid evaluation."""
    from scipy.spatial.transform import Rotation

    from fdif_core.domain import Domain, split_blocks

    grid = Grid.reference((33, 17, 9))
    domain = Domain(grid, Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix() * 1.2,
                    np.array([1.5, -2.0, 0.25]))
    origins = domain._block_origins(domain.full_box)
    for size in (4, 2):  # the 2-blocks of every 8-block
        origins = split_blocks(origins, size)
    assert int(origins.max()) >= 33 - 1  # some blocks reach past the grid
    q = domain._block_voxels(origins)
    full = domain.local()
    offsets = torch.cartesian_prod(*[torch.arange(2)] * 3)  # (8, 3) z, y, x within a block
    for k, (dz, dy, dx) in enumerate(offsets.tolist()):
        z, y, x = origins[0] + dz, origins[1] + dy, origins[2] + dx
        inside = (z < 33) & (y < 17) & (x < 9)
        for axis in range(3):
            got = q[axis][dz, dy, dx][inside]
            want = full[axis].expand(33, 17, 9)[z[inside], y[inside], x[inside]]
            assert torch.equal(got, want), (k, axis)


def test_split_blocks_keeps_the_sub_blocks_of_a_block_together():
    from fdif_core.domain import split_blocks

    origins = torch.tensor([[0, 8], [0, 16], [8, 0]])  # two 8-blocks, rows z, y, x
    children = split_blocks(origins, 4)
    assert children.shape == (3, 16)
    for block in range(2):
        got = {tuple(c) for c in children[:, 8 * block:8 * block + 8].T.tolist()}
        want = {(int(origins[0, block]) + dz, int(origins[1, block]) + dy,
                 int(origins[2, block]) + dx) for dz in (0, 4) for dy in (0, 4) for dx in (0, 4)}
        assert got == want


def test_flat_nonzero_finds_every_true_entry_in_order():
    from fdif_core.domain import flat_nonzero

    gen = torch.Generator().manual_seed(3)
    for shape in ((96, 96, 96), (5, 7, 9), (8,), (16, 3)):
        for density in (0.0, 0.001, 0.3, 1.0):
            mask = torch.rand(shape, generator=gen) < density
            expected = mask.reshape(-1).nonzero().squeeze(1)
            assert torch.equal(flat_nonzero(mask), expected), (shape, density)


def test_block_radius_is_the_farthest_voxel_of_the_block():
    """The local radius of a block is attained at a corner voxel and is at most the stretch
    times the world radius (less when the placement stretches unevenly)."""
    from scipy.spatial.transform import Rotation

    from fdif_core.domain import Domain

    grid = Grid.reference((16, 16, 16))
    shear = np.array([[1.0, 0.09, -0.08], [0.09, 1.0, 0.07], [-0.08, 0.07, 1.0]])
    A = np.linalg.inv(shear) @ Rotation.from_euler("xyz", [0.4, 1.2, -2.1]).as_matrix().T  # noqa: N806
    domain = Domain(grid, A, np.zeros(3))
    full = torch.stack([c.expand(16, 16, 16) for c in domain.local()]).double()
    for size in (2, 4, 8):
        block = full[:, :size, :size, :size].reshape(3, -1)
        centre = block.mean(dim=1, keepdim=True)
        farthest = float((block - centre).norm(dim=0).max())
        world = 0.5 * (size - 1) * math.sqrt(sum(s * s for s in grid.step))
        assert abs(domain._radius(size) - farthest) < 1e-5 * size
        assert domain._radius(size) <= domain.stretch * world + 1e-12
