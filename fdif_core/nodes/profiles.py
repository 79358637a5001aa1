"""2D profiles (spec §4): circle, random sector polygon, regular star."""

from __future__ import annotations

import math
import random

import torch

from fdif_core.nodes.base import SDF2
from fdif_core.nodes.registry import ParamSpec, register_node

REFERENCE_PI = 3.1415927  # the star construction uses this literal (spec §4.2)


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
    """Exact signed distance to a simple polygon (winding-number sign)."""

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
        x, y = torch.broadcast_tensors(x, y)
        best = None
        winding = torch.zeros(x.shape, dtype=torch.int8, device=x.device)
        verts = self.vertices
        for i, (ax, ay) in enumerate(verts):
            bx, by = verts[(i + 1) % len(verts)]
            ex, ey = bx - ax, by - ay
            inv = 1.0 / (ex * ex + ey * ey + 1e-12)
            wx = x - ax
            wy = y - ay
            t = (wx * ex).add_(wy * ey).mul_(inv).clamp_(0.0, 1.0)
            dx = wx - t * ex
            dy = wy - t * ey
            d2 = dx.mul_(dx).add_(dy.mul_(dy))
            best = d2 if best is None else torch.minimum(best, d2, out=best)
            cross = (wy * ex).sub_(wx * ey)
            if ay != by:
                lo, hi = (ay, by) if ay < by else (by, ay)
                in_band = (y >= lo) & (y < hi)
                if ay < by:  # upward edge counts +1 when P is left of it
                    winding += (in_band & (cross > 0)).to(torch.int8)
                else:
                    winding -= (in_band & (cross < 0)).to(torch.int8)
        dist = best.add_(1e-12).sqrt_()
        return torch.where(winding != 0, -dist, dist)


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
