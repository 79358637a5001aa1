"""2D profiles (spec §4): circle, random sector polygon, regular star."""

from __future__ import annotations

import math
import random

import torch

from fdif_core.nodes.base import SDF2
from fdif_core.nodes.registry import ParamSpec, register_node

REFERENCE_PI = 3.1415927  # the star construction uses this literal (spec §4.2)
# integer views of float dtypes, whose sign bit is the float's sign bit
SAME_SIZE_INT = {torch.float16: torch.int16, torch.bfloat16: torch.int16,
                 torch.float32: torch.int32, torch.float64: torch.int64}


@register_node("circle", category="profile", description="Disk of radius r.",
               params=[ParamSpec("r", "Radius.", 10.0, 0.0)])
class Circle(SDF2):
    """``g = |(x, y)| - r``."""

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

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Element-wise comparisons cost ~4x an arithmetic op on CPU, so the crossing rule works
        # on IEEE sign bits: (y - a.y) and (y - b.y) differ in sign exactly when
        # min(a.y, b.y) <= y < max(a.y, b.y), and the side of the edge is a cross product's sign.
        x, y = torch.broadcast_tensors(x, y)
        bits = SAME_SIZE_INT[x.dtype]
        verts = self.vertices
        n = len(verts)
        below = [y - vy for _, vy in verts]  # sign bit: y < v.y
        best = parity = None
        for i, (ax, ay) in enumerate(verts):
            bx, by = verts[(i + 1) % n]
            ex, ey = bx - ax, by - ay
            inv = 1.0 / (ex * ex + ey * ey + 1e-12)
            wx = x - ax
            wy = below[i]
            t = torch.mul(wx, ex * inv).add_(wy, alpha=ey * inv).clamp_(0.0, 1.0)
            dx = torch.add(wx, t, alpha=-ex)
            dy = torch.add(wy, t, alpha=-ey)
            d2 = dx.mul_(dx).addcmul_(dy, dy)
            best = d2 if best is None else torch.minimum(best, d2, out=best)
            if ay == by:
                continue
            # sign bit: cross(e, P - a) > 0 for an upward edge, < 0 for a downward one
            side = torch.mul(wx, ey).sub_(wy, alpha=ex) if ay < by else \
                torch.mul(wy, ex).sub_(wx, alpha=ey)
            crossing = torch.bitwise_xor(wy.view(bits), below[(i + 1) % n].view(bits))
            crossing.bitwise_and_(side.view(bits))
            parity = crossing if parity is None else parity.bitwise_xor_(crossing)
        dist = best.add_(1e-12).sqrt_()
        if parity is None:  # degenerate: every vertex on one horizontal line
            return dist
        # an odd number of crossings (winding number +-1 for a simple polygon) means inside
        sign_bit = torch.iinfo(bits).min
        return dist.view(bits).bitwise_or_(parity.bitwise_and_(sign_bit)).view(x.dtype)


@register_node(
    "star", category="profile",
    description="Regular n-pointed star of outer radius r; w=0 spikes to the centre, w=1 is an n-gon.",
    params=[ParamSpec("r", "Outer radius.", 10.0, 0.0),
            ParamSpec("n", "Number of points.", 5, 2, 64, unit="count", integer=True),
            ParamSpec("w", "Fatness.", 0.5, 0.0, 1.0, unit="ratio")])
class Star(SDF2):
    """The folded-star construction of spec §4.2 (one tip along +y)."""

    def __init__(self, r: float, n: int, w: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r, self.n, self.w = float(r), int(n), float(w)
        m = self.n + self.w * (2 - self.n)
        self.alpha = REFERENCE_PI / self.n
        beta = REFERENCE_PI / m
        self.ux, self.uy = self.r * math.cos(self.alpha), self.r * math.sin(self.alpha)
        self.ex, self.ey = math.cos(beta), math.sin(beta)
        self.cap = self.r * math.sin(self.alpha) / math.sin(beta)

    @property
    def radius(self) -> float:
        return self.r

    lipschitz = 1.0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        px = torch.abs(x)
        length = torch.hypot(px, y)
        two_alpha = 2 * self.alpha
        ang = torch.atan2(px, y)
        phi = ang - two_alpha * torch.floor(ang / two_alpha) - self.alpha
        qx = length * torch.cos(phi) - self.ux
        qy = length * torch.abs(torch.sin(phi)) - self.uy
        k = (qx * self.ex).add_(qy * self.ey).neg_().clamp_(0.0, self.cap)
        qx = qx.add_(k * self.ex)
        qy = qy.add_(k * self.ey)
        return torch.sign(qx) * torch.hypot(qx, qy)
