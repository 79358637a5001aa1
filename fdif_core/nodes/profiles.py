"""2D profiles (spec §4): circle, random sector polygon, regular star."""

from __future__ import annotations

import math
import random
from functools import cached_property

import numpy as np
import torch

from fdif_core import native
from fdif_core.nodes.base import SDF2, constants
from fdif_core.nodes.registry import ParamSpec, register_node

REFERENCE_PI = 3.1415927  # the star construction uses this literal (spec §4.2)
# integer views of float dtypes, whose sign bit is the float's sign bit
SAME_SIZE_INT = {torch.float16: torch.int16, torch.bfloat16: torch.int16,
                 torch.float32: torch.int32, torch.float64: torch.int64}


@register_node("circle", category="profile", description="Disk of radius r.",
               params=[ParamSpec("r", "Radius.", 10.0, 0.0)])
class Circle(SDF2):
    """``g = |(x, y)| - r``."""

    batch_fields = ("r",)

    def __init__(self, r: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r = r

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.hypot(x, y) - self.r

    @property
    def radius(self) -> float:
        return self.r

    lipschitz = 1.0


def sector_polygon_vertices(n: int, r1: float, r2: float, seed: int) -> list[tuple[float, float]]:
    """Vertices of the random sector polygon (spec §4.1), drawn exactly as the reference does.

    A private ``random.Random(seed)`` draws, per vertex, an angle in its sector and then a radius.
    """
    rng = random.Random(seed)
    rmin, rmax = min(r1, r2), max(r1, r2)
    vertices = []
    for i in range(n):
        theta = rng.uniform(2 * math.pi * i / n, 2 * math.pi * (i + 1) / n)
        rho = rng.uniform(rmin, rmax)
        vertices.append((rho * math.cos(theta), rho * math.sin(theta)))
    return vertices


@register_node(
    "sector_polygon", category="profile",
    description="Random polygon: one vertex per angular sector, radius between r1 and r2.",
    params=[ParamSpec("n", "Vertex count.", 5, 3, 64, unit="count", integer=True),
            ParamSpec("r1", "First radius bound.", 8.0, 0.0),
            ParamSpec("r2", "Second radius bound.", 12.0, 0.0),
            ParamSpec("seed", "Seed of the vertex generator.", 0, 0, 2**31 - 1, unit="seed",
                      integer=True)])
class SectorPolygon(SDF2):
    """Exact signed distance to a simple polygon.

    The sign follows the spec's crossing rule (an edge counts when ``min(a.y, b.y) <= y <
    max(a.y, b.y)`` and the point lies left of an upward or right of a downward edge); for a
    simple polygon an odd count is a non-zero winding number.
    """

    def __init__(self, n: int, r1: float, r2: float, seed: int, children: list | None = None):
        super().__init__(children)
        self.vertices = sector_polygon_vertices(int(n), r1, r2, int(seed))

    @classmethod
    def from_vertices(cls, vertices: list[tuple[float, float]]) -> SectorPolygon:
        """A polygon with explicit counter-clockwise vertices (tests, editors)."""
        poly = cls.__new__(cls)
        SDF2.__init__(poly)
        poly.vertices = [tuple(map(float, v)) for v in vertices]
        return poly

    @property
    def radius(self) -> float:
        return max(math.hypot(vx, vy) for vx, vy in self.vertices)

    lipschitz = 1.0
    batch_fields = ()

    def batch_signature(self) -> tuple:
        return (SectorPolygon, (len(self.vertices),), ())

    def batched(self, nodes: list, gather) -> SectorPolygon:
        """A polygon whose edge table holds the edges of ``nodes``' polygons (all with as
        many vertices) shaped to broadcast per point; it always takes the all-edges pass."""
        copy = SectorPolygon.from_vertices(self.vertices)
        columns = [_edge_columns(node.vertices) for node in nodes]
        copy._tables = {"batched": _EdgeTable.per_point(columns, gather)}
        return copy

    def _edge_table(self, like: torch.Tensor) -> _EdgeTable:
        """Per-edge constants in ``like``'s dtype and device, made once per polygon."""
        tables = self.__dict__.setdefault("_tables", {})
        if "batched" in tables:
            return tables["batched"]
        key = (like.dtype, like.device)
        if key not in tables:
            tables[key] = _EdgeTable(self.vertices, like.dtype, like.device)
        return tables[key]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Element-wise comparisons cost ~4x an arithmetic op on CPU, so the crossing rule works
        # on IEEE sign bits: (y - a.y) and (y - b.y) differ in sign exactly when
        # min(a.y, b.y) <= y < max(a.y, b.y), and the side of the edge is a cross product's sign.
        # Small batches take every edge in one (edges, points) pass, so the cost per call is a
        # few tensor operations; large ones go edge by edge to stay in cache. On the CPU in
        # float32 the native kernel does the edge loop (fdif_core/native). All three do the
        # same arithmetic, so they give bitwise the same values.
        if x.shape != y.shape:
            x, y = torch.broadcast_tensors(x, y)
        table = self._edge_table(x)
        if table.batched:  # per-object columns broadcast against the points' shape
            return _all_edges(table, x.unsqueeze(0), y.unsqueeze(0))
        if table.native is not None:
            return _native(table, x, y)
        if x.numel() * len(self.vertices) <= ALL_EDGES_BATCH:
            return _all_edges(table, x.reshape(1, -1), y.reshape(1, -1)).view(x.shape)
        return _edge_by_edge(table, x, y)


ALL_EDGES_BATCH = 65536  # edge-point pairs evaluated in one vectorised pass


EDGE_KEYS = ("ax", "ay", "kx", "ky", "nex", "ney", "sey", "nsex")


def _edge_columns(vertices: list[tuple[float, float]]) -> tuple[list[list[float]], list[bool]]:
    """Per edge of a polygon, its constants (in :data:`EDGE_KEYS` order) and whether it is
    sloped (not horizontal), in float64."""
    n = len(vertices)
    rows, sloped = [], []
    for i, (ax, ay) in enumerate(vertices):
        bx, by = vertices[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        inv = 1.0 / (ex * ex + ey * ey + 1e-12)
        sigma = 1.0 if ay < by else -1.0  # side sign: upward edges count points on the left
        rows.append([ax, ay, ex * inv, ey * inv, -ex, -ey, sigma * ey, -sigma * ex])
        sloped.append(ay != by)
    return rows, sloped


class _EdgeTable:
    """Edge constants of a polygon as ``(E, 1)`` columns and, per edge, ``(1,)`` rows, made
    when a torch pass first needs them (the native kernel reads one ``(E, 8)`` table).

    Tensor constants (not Python floats) spare torch a scalar conversion per operation.
    """

    batched = False  # whether the columns hold many polygons' edges per point (per_point)

    def __init__(self, vertices: list[tuple[float, float]], dtype: torch.dtype,
                 device: torch.device) -> None:
        self.rows, self.sloped = _edge_columns(vertices)
        self.dtype, self.device = dtype, device
        self.bits = SAME_SIZE_INT[dtype]
        # the native kernel's (E, 8) rows and sloped flags, where it serves this dtype and device
        self.native = (torch.tensor(self.rows, dtype=dtype),
                       torch.tensor(self.sloped, dtype=torch.int32)) \
            if native.available(dtype, device) else None

    @cached_property
    def shift(self) -> torch.Tensor:
        return torch.tensor(torch.iinfo(self.bits).bits - 1, dtype=self.bits, device=self.device)

    @cached_property
    def col(self) -> dict[str, torch.Tensor]:
        table = torch.tensor(self.rows, dtype=self.dtype, device=self.device).T.contiguous()
        return dict(zip(EDGE_KEYS, table.view(len(EDGE_KEYS), len(self.rows), 1).unbind(0),
                        strict=True))

    @cached_property
    def row(self) -> dict[str, list[torch.Tensor]]:
        return {k: list(v.unbind(0)) for k, v in self.col.items()}

    @cached_property
    def crossing_mask(self) -> torch.Tensor | None:
        """All ones for sloped edges, zeros for horizontal ones (they never count)."""
        return None if all(self.sloped) else torch.tensor(
            [-1 if s else 0 for s in self.sloped], dtype=self.bits, device=self.device).view(-1, 1)

    @classmethod
    def per_point(cls, polygons: list[tuple[list[list[float]], list[bool]]],
                  gather) -> _EdgeTable:
        """The table of many polygons (:func:`_edge_columns` of each, all with E edges) as
        ``(E, *P)`` columns that broadcast against points of shape ``P``; ``gather`` maps
        ``(G, ...)`` float64 values to float32 ``(..., *P)``. Only the all-edges pass uses it
        (it has no rows)."""
        table = cls.__new__(cls)
        table.batched = True
        rows = np.array([r for r, _ in polygons], dtype=np.float64)  # (G, E, keys)
        columns = gather(rows.transpose(0, 2, 1))  # (keys, E, M)
        table.sloped = [True] * rows.shape[1]
        table.bits = SAME_SIZE_INT[columns.dtype]
        table.shift = torch.full((), torch.iinfo(table.bits).bits - 1, dtype=table.bits,
                                 device=columns.device)  # filled there: no copy to wait for
        table.col = dict(zip(EDGE_KEYS, columns.unbind(0), strict=True))
        table.native = None
        sloped = np.array([s for _, s in polygons], dtype=np.float64)
        table.crossing_mask = None if sloped.all() else \
            gather(sloped).to(table.bits).neg_()  # -1 (all ones) where sloped
        return table


def _all_edges(table: _EdgeTable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Signed distance of ``(1, N)`` points, every edge at once as ``(E, N)`` arrays."""
    c, bits = table.col, table.bits
    wx = x - c["ax"]
    wy = y - c["ay"]  # sign bit: y < a.y
    t = torch.mul(wx, c["kx"]).addcmul_(wy, c["ky"]).clamp_(0.0, 1.0)
    side = torch.mul(wx, c["sey"]).addcmul_(wy, c["nsex"])
    below = wy.view(bits)
    crossing = torch.bitwise_xor(below, below.roll(-1, 0)).bitwise_and_(side.view(bits))
    if table.crossing_mask is not None:
        crossing.bitwise_and_(table.crossing_mask)
    dx = wx.addcmul_(t, c["nex"])
    dy = wy.addcmul_(t, c["ney"])
    dist = dx.mul_(dx).addcmul_(dy, dy).amin(0).add_(1e-12).sqrt_()
    # the count of crossings, its lowest bit moved to the sign bit: odd means inside
    odd = crossing.bitwise_right_shift_(table.shift).sum(0, dtype=bits)
    return dist.view(bits).bitwise_or_(odd.bitwise_left_shift_(table.shift)).view(x.dtype)


def _native(table: _EdgeTable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:func:`_edge_by_edge` by the native kernel, which does its arithmetic up to the square
    root; the root and the sign stay torch's (torch's float32 root is not correctly rounded)."""
    best, sign = native.polygon(x, y, *table.native)
    return best.add_(1e-12).sqrt_().view(table.bits).bitwise_or_(sign).view(x.dtype)


def _edge_by_edge(table: _EdgeTable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Signed distance of points of any shape, one edge at a time (the same arithmetic).

    Each edge works in four arrays the size of the points, reused from edge to edge, and
    ``y - a.y`` of the next vertex is made only when its edge comes: a 65536-point pass then
    stays within the core's cache instead of streaming a fresh array per operation.
    """
    r, bits = table.row, table.bits
    n = len(table.sloped)
    first = y - r["ay"][0]  # sign bit: y < a.y; kept for the crossing of the last edge
    below = first
    wx, work, spare = (torch.empty_like(first) for _ in range(3))
    best = parity = None
    for i in range(n):
        after = first if i == n - 1 else y - r["ay"][i + 1]
        torch.sub(x, r["ax"][i], out=wx)
        if table.sloped[i]:
            side = torch.mul(wx, r["sey"][i], out=work).addcmul_(below, r["nsex"][i])
            crossing = torch.bitwise_xor(below.view(bits), after.view(bits), out=spare.view(bits))
            crossing.bitwise_and_(side.view(bits))
            parity = crossing.clone() if parity is None else parity.bitwise_xor_(crossing)
        t = torch.mul(wx, r["kx"][i], out=work).addcmul_(below, r["ky"][i]).clamp_(0.0, 1.0)
        dx = wx.addcmul_(t, r["nex"][i])
        dy = torch.addcmul(below, t, r["ney"][i], out=spare) if below is first else \
            below.addcmul_(t, r["ney"][i])  # this edge is the last to read ``below``
        d2 = dx.mul_(dx).addcmul_(dy, dy)
        best = d2.clone() if best is None else torch.minimum(best, d2, out=best)
        below = after
    dist = best.add_(1e-12).sqrt_()
    if parity is None:  # degenerate: every vertex on one horizontal line
        return dist
    sign_bit = torch.iinfo(bits).min
    return dist.view(bits).bitwise_or_(parity.bitwise_and_(sign_bit)).view(x.dtype)


@register_node(
    "star", category="profile",
    description="Regular n-pointed star of outer radius r; w=0 spikes to the centre, w=1 is an n-gon.",
    params=[ParamSpec("r", "Outer radius.", 10.0, 0.0),
            ParamSpec("n", "Number of points (from 3: with 2 the tips lie on the fold line, "
                      "where the construction's sign is undefined).", 5, 3, 64, unit="count",
                      integer=True),
            ParamSpec("w", "Fatness.", 0.5, 0.0, 1.0, unit="ratio")])
class Star(SDF2):
    """The folded-star construction of spec §4.2 (one tip along +y)."""

    batch_fields = ("two_alpha", "alpha", "ux", "uy", "ex", "ey", "cap")
    batch_shape = ("n",)

    def __init__(self, r: float, n: int, w: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r, self.n, self.w = float(r), int(n), float(w)
        m = self.n + self.w * (2 - self.n)
        self.alpha = REFERENCE_PI / self.n
        self.two_alpha = 2 * self.alpha
        beta = REFERENCE_PI / m
        self.ux, self.uy = self.r * math.cos(self.alpha), self.r * math.sin(self.alpha)
        self.ex, self.ey = math.cos(beta), math.sin(beta)
        self.cap = self.r * math.sin(self.alpha) / math.sin(beta)

    @property
    def radius(self) -> float:
        return self.r

    lipschitz = 1.0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # phi = ang - 2 alpha floor(ang / 2 alpha) - alpha; qx = length cos(phi) - ux;
        # qy = length |sin(phi)| - uy; k = clamp(-(qx ex + qy ey), 0, cap); q += k e;
        # f = sign(qx) |q|. Every array past ``length`` has the points' full shape, so the
        # steps run in place in three arrays (products commute exactly).
        px = torch.abs(x)
        length = torch.hypot(px, y)
        phi = torch.atan2(px, y)
        if isinstance(self.two_alpha, float) and native.available(phi.dtype, phi.device):
            # the arithmetic between torch's transcendentals in native code, bitwise the same
            # (not in a batched copy, whose numbers are per-point tensors)
            native.star_fold(phi, self.two_alpha, self.alpha)
            terms = native.terms(self, self.ux, self.uy, self.ex, self.ey, self.cap)
            qx, qy = native.star_cap(torch.cos(phi), phi.sin_(), length, terms)
            return torch.hypot(qx, qy).mul_(qx.sign_())
        two_alpha, alpha, ux, uy, ex, ey, zero, cap = constants(
            self, x, self.two_alpha, self.alpha, self.ux, self.uy, self.ex, self.ey, 0.0, self.cap)
        spare = torch.div(phi, two_alpha).floor_().mul_(two_alpha)
        phi.sub_(spare).sub_(alpha)
        qx = torch.cos(phi).mul_(length).sub_(ux)
        qy = phi.sin_().abs_().mul_(length).sub_(uy)
        k = torch.mul(qx, ex).add_(torch.mul(qy, ey, out=spare)).neg_().clamp_(zero, cap)
        qx.add_(torch.mul(k, ex, out=spare))
        qy.add_(torch.mul(k, ey, out=spare))
        return torch.hypot(qx, qy, out=k).mul_(qx.sign_())
