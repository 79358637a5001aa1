"""Domain operations: nodes that change where their one child is evaluated.

transform (translate, rotate, scale, shear with distance correction), twist, bend, elongate,
round, onion, mirror and finite repetition (Inigo Quilez's operators). Every operator returns
bounds that contain ``{f <= level}`` exactly as the generator needs: the child's box at the
corresponding level, mapped through the operator and enlarged where the mapping bends it.

Non-rigid operators (twist, bend, non-uniform scale, shear) divide by their largest stretch
inside the child's extent, so the result stays a distance *bound* there.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from fdif_core.nodes.base import SDF3, Bounds, Vec3, apply_linear
from fdif_core.nodes.registry import ParamSpec, register_node


def _corners(bounds: Bounds) -> np.ndarray:
    lo, hi = bounds
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                     for z in (lo[2], hi[2])], dtype=np.float64)


def rotation_matrix(rx: float, ry: float, rz: float) -> np.ndarray:
    """``Rz(rz) @ Ry(ry) @ Rx(rx)`` (the placement's convention)."""
    cx, sx = math.cos(rx), math.sin(rx)
    cy, sy = math.cos(ry), math.sin(ry)
    cz, sz = math.cos(rz), math.sin(rz)
    mx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    my = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    mz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return mz @ my @ mx


_ANGLE = {"minimum": -2 * math.pi, "maximum": 2 * math.pi, "unit": "radian"}
_SCALE = {"minimum": 0.01, "maximum": 100.0, "unit": "ratio"}
_SHEAR = {"minimum": -1.0, "maximum": 1.0, "unit": "ratio"}


@register_node(
    "transform", category="domain",
    description=("Move the child: p = R H S q + t (scale S, shear H, rotation R = Rz Ry Rx, "
                 "translation t), distance scaled by the smallest singular value."),
    params=[ParamSpec("tx", "Translation along x.", 0.0),
            ParamSpec("ty", "Translation along y.", 0.0),
            ParamSpec("tz", "Translation along z.", 0.0),
            ParamSpec("rx", "Rotation about x.", 0.0, **_ANGLE),
            ParamSpec("ry", "Rotation about y.", 0.0, **_ANGLE),
            ParamSpec("rz", "Rotation about z.", 0.0, **_ANGLE),
            ParamSpec("sx", "Scale along x.", 1.0, **_SCALE),
            ParamSpec("sy", "Scale along y.", 1.0, **_SCALE),
            ParamSpec("sz", "Scale along z.", 1.0, **_SCALE),
            ParamSpec("hxy", "Shear: x += hxy * y.", 0.0, **_SHEAR),
            ParamSpec("hxz", "Shear: x += hxz * z.", 0.0, **_SHEAR),
            ParamSpec("hyz", "Shear: y += hyz * z.", 0.0, **_SHEAR)],
    children=1)
class Transform(SDF3):
    """``f(p) = sigma_min(M) * child(M^-1 (p - t))`` with ``M = R H S``.

    Exact for rotations, translations and uniform scales; a distance bound otherwise.
    """

    @property
    def lipschitz(self) -> float:
        return self.children[0].lipschitz  # sigma_min(M) * child(M^-1 .) keeps the child's constant

    def __init__(self, tx: float = 0.0, ty: float = 0.0, tz: float = 0.0, rx: float = 0.0,
                 ry: float = 0.0, rz: float = 0.0, sx: float = 1.0, sy: float = 1.0,
                 sz: float = 1.0, hxy: float = 0.0, hxz: float = 0.0, hyz: float = 0.0,
                 children: list | None = None) -> None:
        super().__init__(children)
        shear = np.array([[1.0, hxy, hxz], [0.0, 1.0, hyz], [0.0, 0.0, 1.0]])
        self.M = rotation_matrix(rx, ry, rz) @ shear @ np.diag([sx, sy, sz])
        self.Minv = np.linalg.inv(self.M)
        self.t = np.array([tx, ty, tz], dtype=np.float64)
        self.sigma = float(np.linalg.svd(self.M, compute_uv=False).min())

    def __call__(self, q: Vec3) -> torch.Tensor:
        shifted = tuple(c - float(t) if t else c for c, t in zip(q, self.t, strict=True))
        f = self.children[0](apply_linear(self.Minv, shifted))
        return f if self.sigma == 1.0 else f * self.sigma

    def bounds(self, level: float) -> Bounds | None:
        inner = self.children[0].bounds(level / self.sigma)
        if inner is None:
            return None
        world = _corners(inner) @ self.M.T + self.t
        return world.min(axis=0), world.max(axis=0)

    def prepare(self, domain) -> None:
        """Children see the domain in their own frame: ``q' = M^-1 (A (w - t_d) - t)``."""
        from fdif_core.domain import Domain

        inner = Domain(domain.grid, self.Minv @ domain.A,
                       domain.t + np.linalg.solve(domain.A, self.t), domain.device)
        for child in self.children:
            child.prepare(inner)


def _twist_stretch(a: float) -> float:
    """Largest singular value of ``[[1, a], [0, 1]]``."""
    return (a + math.sqrt(a * a + 4)) / 2


@register_node(
    "twist", category="domain",
    description="Twist the child about the y axis by k radians per voxel of height.",
    params=[ParamSpec("k", "Twist rate.", 0.05, -4.0, 4.0, unit="voxel^-1")], children=1)
class Twist(SDF3):
    """``f(p) = child(Ry(k y) p) / L``, ``L`` the stretch at the child's largest radius."""

    def __init__(self, k: float, children: list | None = None) -> None:
        super().__init__(children)
        self.k = float(k)

    def _stretch(self) -> float:
        inner = self.children[0].bounds(0.0)
        if inner is None or self.k == 0:
            return 1.0
        return _twist_stretch(abs(self.k) * _radial(inner))

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        angle = y * self.k
        c, s = torch.cos(angle), torch.sin(angle)
        f = self.children[0]((c * x - s * z, y, s * x + c * z))
        stretch = self._stretch()
        return f if stretch == 1.0 else f / stretch

    def bounds(self, level: float) -> Bounds | None:
        inner = self.children[0].bounds(level * self._stretch())
        if inner is None:
            return None
        rho = _radial(inner)  # the twist keeps y and the distance from the y axis
        return np.array([-rho, inner[0][1], -rho]), np.array([rho, inner[1][1], rho])


def _radial(bounds: Bounds) -> float:
    """Largest distance from the y axis of a box's points."""
    lo, hi = bounds
    return math.hypot(max(abs(lo[0]), abs(hi[0])), max(abs(lo[2]), abs(hi[2])))


@register_node(
    "bend", category="domain",
    description=("Bend the child's x axis into a circular arc of curvature k (radius 1/k) in "
                 "the xy plane, curving towards +y; lengths along x are kept."),
    params=[ParamSpec("k", "Curvature (1 / bend radius).", 0.02, 0.0, 2.0, unit="voxel^-1")],
    children=1)
class Bend(SDF3):
    """World ``p`` maps to ``(theta / k, 1/k - rho, z)``, polar about the centre ``(0, 1/k)``."""

    MAX_STRETCH = 10.0

    def __init__(self, k: float, children: list | None = None) -> None:
        super().__init__(children)
        self.k = float(k)

    def _stretch(self) -> float:
        inner = self.children[0].bounds(0.0)
        if inner is None or self.k <= 1e-9:
            return 1.0
        # Arc lengths at child height y' shrink by (1 - k y'): distances grow by 1 / (1 - k y').
        shrink = 1 - self.k * max(float(inner[1][1]), 0.0)
        return min(1 / max(shrink, 1e-12), self.MAX_STRETCH)

    def __call__(self, q: Vec3) -> torch.Tensor:
        if self.k <= 1e-9:
            return self.children[0](q)
        x, y, z = q
        radius = 1 / self.k
        dy = radius - y
        theta = torch.atan2(x, dy)
        rho = torch.hypot(x, dy)
        # radius - rho as (radius^2 - rho^2) / (radius + rho): no cancellation when 1/k is large
        height = (y * (2 * radius - y) - x * x) / (radius + rho)
        f = self.children[0]((theta * radius, height, z))
        stretch = self._stretch()
        return f if stretch == 1.0 else f / stretch

    def bounds(self, level: float) -> Bounds | None:
        inner = self.children[0].bounds(level * self._stretch())
        if inner is None or self.k <= 1e-9:
            return inner
        radius = 1 / self.k
        (x0, y0, z0), (x1, y1, z1) = inner
        t0, t1 = max(self.k * x0, -math.pi), min(self.k * x1, math.pi)
        r0, r1 = max(radius - y1, 0.0), max(radius - y0, 0.0)
        if t0 > t1:
            t0 = t1 = 0.0
        angles = [t0, t1] + [a for a in (-math.pi / 2, 0.0, math.pi / 2) if t0 < a < t1]
        pts = [(r * math.sin(a), radius - r * math.cos(a)) for r in (r0, r1) for a in angles]
        if t0 <= -math.pi + 1e-12 or t1 >= math.pi - 1e-12:
            pts += [(0.0, radius + r1)]
        xs, ys = zip(*pts, strict=True)
        return np.array([min(xs), min(ys), z0]), np.array([max(xs), max(ys), z1])


@register_node(
    "elongate", category="domain",
    description="Stretch the child by inserting 2h along each axis: child(p - clamp(p, -h, h)).",
    params=[ParamSpec("hx", "Half-elongation along x.", 0.0, 0.0),
            ParamSpec("hy", "Half-elongation along y.", 5.0, 0.0),
            ParamSpec("hz", "Half-elongation along z.", 0.0, 0.0)],
    children=1)
class Elongate(SDF3):
    """Exact outside; a bound inside."""

    @property
    def lipschitz(self) -> float:
        return self.children[0].lipschitz  # q - clamp(q, -h, h) is 1-Lipschitz

    def __init__(self, hx: float = 0.0, hy: float = 0.0, hz: float = 0.0,
                 children: list | None = None) -> None:
        super().__init__(children)
        self.h = np.array([hx, hy, hz], dtype=np.float64)

    def __call__(self, q: Vec3) -> torch.Tensor:
        moved = tuple(c - c.clamp(-float(h), float(h)) if h else c
                      for c, h in zip(q, self.h, strict=True))
        return self.children[0](moved)

    def bounds(self, level: float) -> Bounds | None:
        inner = self.children[0].bounds(level)
        return None if inner is None else (inner[0] - self.h, inner[1] + self.h)


@register_node(
    "round", category="domain", description="Inflate the child by r: f - r (rounds edges).",
    params=[ParamSpec("r", "Rounding radius.", 2.0, 0.0)], children=1)
class Round(SDF3):
    """``f = child - r``."""

    @property
    def lipschitz(self) -> float:
        return self.children[0].lipschitz  # f - r

    def __init__(self, r: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r = float(r)

    def __call__(self, q: Vec3) -> torch.Tensor:
        return self.children[0](q) - self.r

    def bounds(self, level: float) -> Bounds | None:
        return self.children[0].bounds(level + self.r)


@register_node(
    "onion", category="domain",
    description=("Hollow the child into a shell of thickness 2t; each further layer splits "
                 "every shell in two."),
    params=[ParamSpec("t", "Half-thickness of the shell.", 1.0, 0.0),
            ParamSpec("layers", "How many times the shell operator is applied.", 1, 1, 4,
                      unit="count", integer=True)],
    children=1)
class Onion(SDF3):
    """``f = |child| - t``, applied ``layers`` times."""

    @property
    def lipschitz(self) -> float:
        return self.children[0].lipschitz  # |f| - t keeps the constant

    def __init__(self, t: float, layers: int = 1, children: list | None = None) -> None:
        super().__init__(children)
        self.t, self.layers = float(t), int(layers)

    def __call__(self, q: Vec3) -> torch.Tensor:
        f = self.children[0](q)
        for _ in range(self.layers):
            f = torch.abs(f) - self.t
        return f

    def bounds(self, level: float) -> Bounds | None:
        # |g| - t <= c implies g <= c + t, once per layer.
        return self.children[0].bounds(level + self.layers * self.t)


_FLAG = {"minimum": 0, "maximum": 1, "unit": "flag", "integer": True}


@register_node(
    "mirror", category="domain",
    description="Mirror the child's positive half across the chosen coordinate planes.",
    params=[ParamSpec("x", "Mirror across x = 0.", 1, **_FLAG),
            ParamSpec("y", "Mirror across y = 0.", 0, **_FLAG),
            ParamSpec("z", "Mirror across z = 0.", 0, **_FLAG)],
    children=1)
class Mirror(SDF3):
    """``f(x, y, z) = child(|x|, y, z)`` for each mirrored axis."""

    @property
    def lipschitz(self) -> float:
        return self.children[0].lipschitz  # a reflection of the domain is 1-Lipschitz

    def __init__(self, x: int = 1, y: int = 0, z: int = 0, children: list | None = None) -> None:
        super().__init__(children)
        self.axes = (bool(x), bool(y), bool(z))

    def __call__(self, q: Vec3) -> torch.Tensor:
        return self.children[0](tuple(torch.abs(c) if m else c
                                      for c, m in zip(q, self.axes, strict=True)))

    def bounds(self, level: float) -> Bounds | None:
        inner = self.children[0].bounds(level)
        if inner is None:
            return None
        lo, hi = np.array(inner[0], dtype=np.float64), np.array(inner[1], dtype=np.float64)
        for i, mirrored in enumerate(self.axes):
            if mirrored:  # |p_i| must lie in [lo_i, hi_i]
                reach = max(hi[i], 0.0)
                lo[i], hi[i] = -reach, reach
        return lo, hi


@register_node(
    "repeat", category="domain",
    description="Finite repetition: 2n+1 copies of the child spaced c apart along each axis.",
    params=[ParamSpec("cx", "Spacing along x (0: no repetition).", 0.0, 0.0),
            ParamSpec("cy", "Spacing along y (0: no repetition).", 0.0, 0.0),
            ParamSpec("cz", "Spacing along z (0: no repetition).", 0.0, 0.0),
            ParamSpec("nx", "Copies on each side along x.", 1, 0, 32, unit="count", integer=True),
            ParamSpec("ny", "Copies on each side along y.", 1, 0, 32, unit="count", integer=True),
            ParamSpec("nz", "Copies on each side along z.", 1, 0, 32, unit="count", integer=True)],
    children=1)
class Repeat(SDF3):
    """``child(p - c * clamp(round(p / c), -n, n))`` (exact while copies do not overlap)."""

    def __init__(self, cx: float = 0.0, cy: float = 0.0, cz: float = 0.0, nx: int = 1,
                 ny: int = 1, nz: int = 1, children: list | None = None) -> None:
        super().__init__(children)
        self.c = np.array([cx, cy, cz], dtype=np.float64)
        self.n = np.array([nx, ny, nz], dtype=np.int64)
        self.reach = np.where(self.c > 0, self.c * self.n, 0.0)

    def __call__(self, q: Vec3) -> torch.Tensor:
        moved = []
        for comp, c, n in zip(q, self.c, self.n, strict=True):
            if c > 0 and n > 0:
                cell = torch.round(comp / float(c)).clamp(-int(n), int(n))
                comp = comp - cell * float(c)
            moved.append(comp)
        return self.children[0](tuple(moved))

    def bounds(self, level: float) -> Bounds | None:
        inner = self.children[0].bounds(level)
        return None if inner is None else (inner[0] - self.reach, inner[1] + self.reach)

