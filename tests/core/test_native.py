"""The native CPU kernels give bitwise the torch kernels' values, build once per machine, and
leave the torch kernels in charge (with a warning) when no compiler is found."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdif_core import native
from fdif_core.compose import Composer
from fdif_core.domain import Domain, split_blocks
from fdif_core.grid import Grid
from fdif_core.nodes.profiles import SectorPolygon, _all_edges, _edge_by_edge, _EdgeTable
from fdif_core.presets import load_preset
from fdif_core.shapes import compile_tree

needs_native = pytest.mark.skipif(native.switched_off(), reason="native kernels switched off")


def _polygons() -> list[SectorPolygon]:
    random = [SectorPolygon(n, 4.0, 15.0, seed) for n, seed in [(3, 5), (5, 1), (7, 3), (9, 7),
                                                                (16, 2)]]
    # horizontal edges (which never count crossings) and vertices on integer points
    stepped = SectorPolygon.from_vertices([(0, 0), (5, 0), (5, 3), (2, 3), (0, 6), (-4, 6)])
    return [*random, stepped]


@needs_native
def test_the_native_kernels_build_here():
    """CI installs a C compiler: a silent fall-back would hide a ×1.2 slowdown."""
    assert native.library() is not None


@needs_native
@pytest.mark.parametrize("count", [1, 255, 256, 257, 9000, 70001])
def test_native_polygon_is_bitwise_the_torch_polygon(count):
    g = torch.Generator().manual_seed(count)
    for polygon in _polygons():
        pts = (torch.rand(count, 2, generator=g) * 2 - 1) * 18
        heights = torch.tensor([vy for _, vy in polygon.vertices])  # the half-open band rule
        pts[:min(count, 4 * len(heights)), 1] = heights.repeat(4)[:count]
        pts[-(count // 3):] = pts[-(count // 3):].round()  # points on vertices and edges
        x, y = pts[:, 0], pts[:, 1]  # strided views: the kernel copies them
        table = _EdgeTable(polygon.vertices, torch.float32, torch.device("cpu"))
        assert table.native is not None
        got = polygon(x, y).view(torch.int32)
        assert torch.equal(got, _edge_by_edge(table, x, y).view(torch.int32))
        assert torch.equal(got, _all_edges(table, x.view(1, -1), y.view(1, -1)).view(torch.int32)
                           .view(-1))


@needs_native
@pytest.mark.parametrize("n,w", [(3, 0.0), (5, 0.4), (8, 1.0)])
def test_native_star_is_bitwise_the_torch_star(n, w, monkeypatch):
    """On scattered points (with the axes, the fold's boundaries and the origin) and on
    broadcast grid axes."""
    from fdif_core.nodes.profiles import Star

    star = Star(11.0, n, w)
    g = torch.Generator().manual_seed(n)
    x, y = ((torch.rand(2, 30000, generator=g) * 2 - 1) * 16).unbind(0)
    x[:200], y[200:400], x[400:410], y[400:410] = 0.0, 0.0, 0.0, 0.0
    axes = (torch.linspace(-16, 16, 33).view(1, -1), torch.linspace(-16, 16, 29).view(-1, 1))
    fast = [star(x, y), star(*axes)]
    monkeypatch.setattr(native, "available", lambda *_: False)
    for got, want in zip(fast, [star(x, y), star(*axes)], strict=True):
        assert torch.equal(got.view(torch.int32), want.view(torch.int32))


@needs_native
def test_native_polygon_broadcasts_like_torch():
    polygon = SectorPolygon(6, 4.0, 15.0, 9)
    x = torch.linspace(-16, 16, 41).view(1, -1)
    y = torch.linspace(-16, 16, 37).view(-1, 1)
    got = polygon(x, y)
    assert got.shape == (37, 41)
    table = _EdgeTable(polygon.vertices, torch.float32, torch.device("cpu"))
    xx, yy = torch.broadcast_tensors(x, y)
    assert torch.equal(got.view(torch.int32), _edge_by_edge(table, xx, yy).view(torch.int32))


PROFILES = {
    "polygon": {"kind": "sector_polygon", "params": {"n": 6, "r1": 5.0, "r2": 12.0, "seed": 8}},
    "star": {"kind": "star", "params": {"r": 11.0, "n": 5, "w": 0.4}},
    "circle": {"kind": "circle", "params": {"r": 9.0}},
}
SCALES = {"plain": {}, "cone": {"s2": 0.4}, "convex": {"s2": 1.7, "neck": 3.0},
          "concave": {"s2": 0.5, "neck": -6.0}}


@needs_native
@pytest.mark.parametrize("onion", [0.0, 0.3])
@pytest.mark.parametrize("scale", sorted(SCALES))
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_native_extrusion_is_bitwise_the_torch_extrusion(profile, scale, onion, monkeypatch):
    """Every scale profile, onion or not, over each kind of cross-section; the cross-section
    alone (the onion's minimum search evaluates it) too."""
    from fdif_core.nodes.fdif import CrossSection

    tree = {"kind": "extrude", "children": [{**PROFILES[profile], "children": []}],
            "params": {"height": 18.0, "profile": scale, "onion_ratio": onion, **SCALES[scale]}}
    g = torch.Generator().manual_seed(len(profile) + len(scale))
    pts = ((torch.rand(3, 20000, generator=g) * 2 - 1) * 16).unbind(0)
    axes = (torch.linspace(-16, 16, 9).view(1, 1, -1), torch.linspace(-16, 16, 7).view(1, -1, 1),
            torch.linspace(-12, 12, 5).view(-1, 1, 1))  # broadcast points, as whole boxes pass

    def evaluate():
        sdf = compile_tree(tree)
        if sdf.onioned:
            sdf.set_deepest(-7.5)
        return [sdf(pts), sdf(axes), CrossSection(sdf)(pts)]

    fast = evaluate()
    monkeypatch.setattr(native, "available", lambda *_: False)
    for got, want in zip(fast, evaluate(), strict=True):
        assert got.shape == want.shape
        assert torch.equal(got.view(torch.int32), want.view(torch.int32))


def _ragged_domain() -> tuple[Domain, torch.Tensor]:
    """A rotated, sheared domain on a grid that is not whole blocks, and the origins of every
    2-block of the 8-blocks covering it (some reach past its far faces)."""
    from scipy.spatial.transform import Rotation

    grid = Grid.reference((37, 29, 19))
    shear = np.array([[1.0, 0.3, 0.0], [0.0, 0.8, 0.0], [0.0, 0.0, 1.3]])
    domain = Domain(grid, Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix() @ shear,
                    np.array([1.5, -2.0, 0.25]))
    origins = domain._block_origins(domain.full_box)
    for size in (4, 2):
        origins = split_blocks(origins, size)
    return domain, origins


@needs_native
def test_native_block_voxels_are_bitwise_the_torch_ones():
    domain, origins = _ragged_domain()
    got = native.block_voxels(domain._pair_tables, origins[:, 5:])  # a strided slice too
    domain.__dict__["_native"] = False  # the torch gather
    for a, b in zip(got, domain._block_voxels(origins[:, 5:]), strict=True):
        assert torch.equal(a.view(torch.int32), b.view(torch.int32))


@needs_native
@pytest.mark.parametrize("with_offset", [False, True])
def test_native_voxel_pass_is_the_torch_voxel_pass(with_offset):
    """Flat positions and values of the kept voxels, in order: past the box, past the grid
    (the offset then reads the grid's last voxel) and with a float64 threshold (compared in
    float32, as torch compares a float32 tensor with a number)."""
    domain, origins = _ragged_domain()
    polygon = SectorPolygon(7, 8.0, 16.0, 4)

    def fn(q):
        return torch.maximum(polygon(q[0], q[1]), q[2].abs() - 12.0)

    offset = torch.randn(37 * 29 * 19, generator=torch.Generator().manual_seed(1)) \
        if with_offset else None
    box = (3, 37, 2, 25, 0, 19)

    def passes(fast: bool, threshold: float):
        domain.__dict__["_native"] = fast
        return domain._voxels(origins, box, fn, lambda *_: threshold, offset)

    # 0.1 is not a float32 number; the second threshold is a value some voxel takes
    for threshold in (0.1, float(passes(False, 0.1)[1].median())):
        (flat, values), (want_flat, want_values) = passes(True, threshold), passes(False, threshold)
        assert 2000 < len(flat) < 37 * 29 * 19 / 2
        assert torch.equal(flat, want_flat)
        assert torch.equal(values.view(torch.int32), want_values.view(torch.int32))


@needs_native
@pytest.mark.parametrize("per_block", [False, True])
def test_native_descent_is_the_torch_descent(per_block):
    """Blocks kept level by level (one threshold, or one per block as world displacements
    give), split, and cut at the far faces of a ragged grid: the same voxels, in order."""
    domain, _ = _ragged_domain()
    polygon = {"kind": "sector_polygon", "params": {"n": 7, "r1": 6.0, "r2": 14.0, "seed": 3},
               "children": []}
    sdf = compile_tree({"kind": "extrude", "params": {"height": 20.0, "profile": "cone",
                                                      "s2": 0.6}, "children": [polygon]})
    levels = []

    def threshold(origins, size, _values):
        if origins is None:
            return 0.0
        levels.append((size, origins.shape[1]))
        if per_block:  # a deterministic per-block threshold
            return 0.3 * (origins[0] % 3).to(torch.float32) - 0.2
        return 0.1

    def descent(fast: bool):
        domain.__dict__["_native"] = fast
        levels.clear()
        result = domain.descend(sdf, domain.full_box, threshold)
        return result, list(levels)

    ((flat, values), fast_levels), ((want_flat, want_values), torch_levels) = \
        descent(True), descent(False)
    assert fast_levels == torch_levels and [s for s, _ in torch_levels] == [8, 4, 2]
    assert len(flat) > 1000
    assert torch.equal(flat, want_flat)
    assert torch.equal(values.view(torch.int32), want_values.view(torch.int32))


@needs_native
def test_native_block_centres_are_the_float64_affine_map():
    domain, origins = _ragged_domain()
    for size in (8, 4, 2):
        got = torch.stack(native.block_centres(domain._centre_affines[size], origins))
        affine = domain._centre_affines[size]
        want = affine[:, 3:] + affine[:, :3] @ origins.double()
        assert torch.allclose(got.double(), want, rtol=1e-7, atol=1e-6)


@needs_native
def test_paper_samples_are_bitwise_the_same_without_native_kernels(monkeypatch):
    composer = Composer(load_preset("paper"))
    with_native = [composer.sample(7, i) for i in range(2)]
    monkeypatch.setenv(native.SWITCH, "0")
    native.library.cache_clear()
    try:
        assert native.library() is None
        without = [composer.sample(7, i) for i in range(2)]
    finally:
        monkeypatch.delenv(native.SWITCH)
        native.library.cache_clear()
    for a, b in zip(with_native, without, strict=True):
        assert np.array_equal(a.image, b.image)
        assert np.array_equal(a.label, b.label)


@needs_native
def test_a_build_is_made_once_and_reused(tmp_path):
    first = native.build(directory=tmp_path)
    stamp = first.stat().st_mtime_ns
    assert native.build(directory=tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary file left


@needs_native
def test_a_damaged_cached_build_is_made_again(monkeypatch, tmp_path):
    monkeypatch.setenv("FDIF_CACHE_DIR", str(tmp_path))
    damaged = native.build()
    damaged.write_bytes(b"not a shared library")
    native.library.cache_clear()
    try:
        assert native.library() is not None
        assert damaged.read_bytes() != b"not a shared library"
    finally:
        native.library.cache_clear()


def test_a_missing_compiler_is_named():
    with pytest.raises(native.NativeBuildError, match="no-such-cc"):
        native.build(compiler="no-such-cc")


@needs_native
def test_without_a_compiler_the_torch_kernels_run_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "no-such-cc")
    monkeypatch.setenv("FDIF_CACHE_DIR", str(tmp_path))
    native.library.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="no-such-cc"):
            assert native.library() is None
        polygon = SectorPolygon(5, 4.0, 15.0, 1)
        x = torch.linspace(-16, 16, 101)
        table = _EdgeTable(polygon.vertices, torch.float32, torch.device("cpu"))
        assert table.native is None
        assert torch.equal(polygon(x, x), _edge_by_edge(table, x, x))
    finally:
        native.library.cache_clear()


@needs_native
def test_native_kernels_refuse_inputs_of_other_sizes():
    """They read every array to the first one's length: a mismatch is an error, not a read
    past an array's end."""
    with pytest.raises(ValueError, match="differ in shape"):
        native.polygon(torch.zeros(10), torch.zeros(9), torch.zeros(3, 8),
                       torch.ones(3, dtype=torch.int32))
    with pytest.raises(ValueError, match="differ in shape"):
        native.extrude_parts(torch.zeros(10), torch.zeros(10), torch.zeros(5), None, 1.0)
    with pytest.raises(ValueError, match="voxel values"):
        native.keep_voxels(torch.zeros(15), torch.zeros(3, 2, dtype=torch.int64), (4, 4, 4), 0.0,
                           (0, 4, 0, 4, 0, 4))
    with pytest.raises(ValueError, match="lower bounds"):
        native.select_blocks(torch.zeros(3), 0.0, torch.zeros(3, 2, dtype=torch.int64), 1, None)
