"""More 2D profiles (regular and random polygons) and the torus sweep construction.

``circle``, ``star`` and ``sector_polygon`` live in :mod:`fdif_core.nodes.profiles`; extrusion
and revolution in :mod:`fdif_core.nodes.fdif`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from fdif_core.nodes.base import SDF2, SDF3, Bounds, Vec3, box
from fdif_core.nodes.profiles import SectorPolygon
from fdif_core.nodes.registry import ParamSpec, register_node


@register_node(
    "regular_polygon", category="profile",
    description="Regular n-gon with circumradius r, one vertex on +y (exact).",
    params=[ParamSpec("r", "Circumradius (centre to vertex).", 10.0, 0.0),
            ParamSpec("n", "Number of sides.", 6, 3, 64, unit="count", integer=True)])
class RegularPolygon(SDF2):
    """IQ's ``sdRegularPolygon``: fold into one edge's sector, then a segment distance."""

    lipschitz = 1.0  # exact distance

    def __init__(self, r: float, n: int, children: list | None = None) -> None:
        super().__init__(children)
        self.r, self.n = float(r), int(n)
        self.an = math.pi / self.n
        self.acs = (math.cos(self.an), math.sin(self.an))

    @property
    def radius(self) -> float:
        return self.r

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        an = self.an
        length = torch.hypot(x, y)
        ang = torch.atan2(x, y)
        bn = torch.remainder(ang, 2 * an) - an
        px = length * torch.cos(bn) - self.r * self.acs[0]
        py = length * torch.abs(torch.sin(bn)) - self.r * self.acs[1]
        py = py + (-py).clamp(0.0, self.r * self.acs[1])
        return torch.hypot(px, py) * torch.where(px < 0, -1.0, 1.0)


@register_node(
    "random_polygon", category="profile",
    description=("Random star-shaped polygon: n vertices at sorted random angles with radii "
                 "between r1 and r2 (exact distance)."),
    params=[ParamSpec("n", "Vertex count.", 7, 3, 64, unit="count", integer=True),
            ParamSpec("r1", "Smallest vertex radius.", 6.0, 0.0),
            ParamSpec("r2", "Largest vertex radius.", 12.0, 0.0),
            ParamSpec("seed", "Seed of the vertex generator.", 0, 0, 2**31 - 1, unit="seed",
                      integer=True)])
class RandomPolygon(SectorPolygon):
    """Unlike ``sector_polygon``, the angles are free (not one per sector), so shapes vary more."""

    def __init__(self, n: int, r1: float, r2: float, seed: int,
                 children: list | None = None) -> None:
        SDF2.__init__(self, children)
        self.vertices = random_polygon_vertices(int(n), r1, r2, int(seed))


def random_polygon_vertices(n: int, r1: float, r2: float, seed: int) -> list[tuple[float, float]]:
    """Counter-clockwise vertices of :class:`RandomPolygon`, drawn with ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.uniform(0.0, 2 * math.pi, size=n))
    rho = rng.uniform(min(r1, r2), max(r1, r2), size=n)
    return [(float(r * math.cos(t)), float(r * math.sin(t))) for r, t in zip(rho, theta,
                                                                             strict=True)]


@register_node(
    "torus_sweep", category="construction",
    description=("Sweep a 2D profile around a circle of radius R about the y axis, the profile "
                 "turning 'twist' times per revolution (twist 0 is revolve with offset R)."),
    params=[ParamSpec("R", "Radius of the sweep circle.", 14.0, 0.0),
            ParamSpec("twist", "Profile turns per revolution (use k/n for an n-fold profile).",
                      0.0, -16.0, 16.0, unit="ratio")],
    children=1, child_category="profile")
class TorusSweep(SDF3):
    """``f = g(rot(twist * phi) (sqrt(x^2 + z^2) - R, y)) / L``, ``phi = atan2(z, x)``.

    The twist stretches distances by at most ``L = sqrt(1 + (twist * rp / (R - rp))^2)`` (``rp``
    the profile radius), so dividing by ``L`` keeps the result a distance bound.
    """

    @property
    def lipschitz(self) -> float:
        # untwisted: the profile of (sqrt(x^2+z^2) - R, y), a 1-Lipschitz map; twisted: unknown
        return self.profile2d.lipschitz if not self.twist else math.inf

    def __init__(self, R: float, twist: float = 0.0, children: list | None = None) -> None:  # noqa: N803
        super().__init__(children)
        self.profile2d: SDF2 = self.children[0]
        self.R, self.twist = float(R), float(twist)
        rp = self.profile2d.radius
        inner = max(self.R - rp, 1e-3)
        self.L = math.sqrt(1 + (self.twist * rp / inner) ** 2) if self.twist else 1.0

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        u = torch.hypot(x, z) - self.R
        if not self.twist:
            return self.profile2d(u, y)
        angle = torch.atan2(z, x) * self.twist
        c, s = torch.cos(angle), torch.sin(angle)
        return self.profile2d(c * u - s * y, s * u + c * y) / self.L

    def bounds(self, level: float) -> Bounds:
        r = self.profile2d.radius + max(level, 0.0) * self.L
        return box([self.R + r, r, self.R + r])
