"""3D primitives beyond the FDIF families (Inigo Quilez's distance functions).

Every kind is exact (a true Euclidean signed distance) except ``ellipsoid``, whose closed-form
distance does not exist; it uses the standard bound, exact on the three axes. The FDIF kinds
``sphere`` and ``capped_cone`` (in :mod:`fdif_core.nodes.fdif`) are not repeated here. Axes
follow the FDIF convention: round shapes have their axis along local ``y``.
"""

from __future__ import annotations

import torch

from fdif_core.nodes.base import SDF3, Bounds, Vec3, box
from fdif_core.nodes.registry import ParamSpec, register_node

INV_SQRT3 = 0.5773502691896258


def _length(*parts: torch.Tensor) -> torch.Tensor:
    total = parts[0] * parts[0]
    for part in parts[1:]:
        total = total + part * part
    return torch.sqrt(total)


@register_node(
    "ellipsoid", category="primitive",
    description="Ellipsoid with semi-axes rx, ry, rz (a distance bound, exact on the axes).",
    params=[ParamSpec("rx", "Semi-axis along x.", 10.0, 1e-3),
            ParamSpec("ry", "Semi-axis along y.", 8.0, 1e-3),
            ParamSpec("rz", "Semi-axis along z.", 6.0, 1e-3)])
class Ellipsoid(SDF3):
    """``f = k0 (k0 - 1) / k1`` with ``k0 = |q / r|``, ``k1 = |q / r^2|``."""

    def __init__(self, rx: float, ry: float, rz: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r = (float(rx), float(ry), float(rz))

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        rx, ry, rz = self.r
        k0 = _length(x / rx, y / ry, z / rz)
        k1 = _length(x / (rx * rx), y / (ry * ry), z / (rz * rz))
        return k0 * (k0 - 1) / k1.clamp_min(1e-12)

    def bounds(self, level: float) -> Bounds:
        # For k0 > 1: f >= min(r) (k0 - 1), so f <= c implies k0 <= 1 + c / min(r).
        grow = 1 + max(level, 0.0) / min(self.r)
        return box([r * grow for r in self.r])


@register_node(
    "box", category="primitive",
    description="Box with half-sizes hx, hy, hz and edges rounded by r (exact).",
    params=[ParamSpec("hx", "Half-size along x.", 10.0, 0.0),
            ParamSpec("hy", "Half-size along y.", 10.0, 0.0),
            ParamSpec("hz", "Half-size along z.", 10.0, 0.0),
            ParamSpec("r", "Edge rounding radius (clamped to the smallest half-size).", 0.0, 0.0)])
class Box(SDF3):
    """IQ's ``sdRoundBox``; the outer size stays ``2 h`` whatever the rounding."""

    lipschitz = 1.0  # exact distance

    def __init__(self, hx: float, hy: float, hz: float, r: float = 0.0,
                 children: list | None = None) -> None:
        super().__init__(children)
        self.h = (float(hx), float(hy), float(hz))
        self.r = min(float(r), min(self.h))

    def __call__(self, q: Vec3) -> torch.Tensor:
        d = [torch.abs(c) - (h - self.r) for c, h in zip(q, self.h, strict=True)]
        outside = _length(*(c.clamp_min(0) for c in d))
        inside = torch.maximum(torch.maximum(d[0], d[1]), d[2]).clamp_max(0)
        return outside + inside - self.r

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        return box([h + c for h in self.h])


@register_node(
    "capsule", category="primitive",
    description="Capsule: points within r of the segment from (0,-h,0) to (0,h,0) (exact).",
    params=[ParamSpec("h", "Half-length of the axis segment.", 10.0, 0.0),
            ParamSpec("r", "Radius.", 4.0, 0.0)])
class Capsule(SDF3):
    """``f = |q - (0, clamp(y, -h, h), 0)| - r``."""

    lipschitz = 1.0  # exact distance

    def __init__(self, h: float, r: float, children: list | None = None) -> None:
        super().__init__(children)
        self.h, self.r = float(h), float(r)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        return _length(x, y - y.clamp(-self.h, self.h), z) - self.r

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        return box([self.r + c, self.h + self.r + c, self.r + c])


@register_node(
    "cylinder", category="primitive",
    description="Capped cylinder of radius r and half-height h along y (exact).",
    params=[ParamSpec("r", "Radius.", 8.0, 0.0), ParamSpec("h", "Half-height.", 10.0, 0.0)])
class Cylinder(SDF3):
    """IQ's ``sdCappedCylinder``."""

    lipschitz = 1.0  # exact distance

    def __init__(self, r: float, h: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r, self.h = float(r), float(h)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        dr = torch.hypot(x, z) - self.r
        dy = torch.abs(y) - self.h
        return torch.hypot(dr.clamp_min(0), dy.clamp_min(0)) + torch.maximum(dr, dy).clamp_max(0)

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        return box([self.r + c, self.h + c, self.r + c])


@register_node(
    "frustum", category="primitive",
    description="Cone frustum along y: radius r1 at y=-h, r2 at y=+h (exact).",
    params=[ParamSpec("r1", "Bottom radius.", 8.0, 0.0), ParamSpec("r2", "Top radius.", 4.0, 0.0),
            ParamSpec("h", "Half-height.", 10.0, 1e-6)])
class Frustum(SDF3):
    """IQ's ``sdCappedCone(p, h, r1, r2)``."""

    lipschitz = 1.0  # exact distance

    def __init__(self, r1: float, r2: float, h: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r1, self.r2, self.h = float(r1), float(r2), float(h)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        r1, r2, h = self.r1, self.r2, self.h
        qx, qy = torch.broadcast_tensors(torch.hypot(x, z), y)
        k2x, k2y = r2 - r1, 2 * h
        rad = torch.where(qy < 0, torch.full_like(qx, r1), torch.full_like(qx, r2))
        cax = qx - torch.minimum(qx, rad)
        cay = torch.abs(qy) - h
        t = (((r2 - qx) * k2x + (h - qy) * k2y) / (k2x * k2x + k2y * k2y)).clamp(0.0, 1.0)
        cbx = qx - r2 + k2x * t
        cby = qy - h + k2y * t
        sign = torch.where((cbx < 0) & (cay < 0), -1.0, 1.0)
        return sign * torch.sqrt(torch.minimum(cax * cax + cay * cay, cbx * cbx + cby * cby))

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        r = max(self.r1, self.r2) + c
        return box([r, self.h + c, r])


@register_node(
    "torus", category="primitive",
    description="Torus around the y axis: ring radius R, tube radius r (exact).",
    params=[ParamSpec("R", "Distance from the axis to the tube centre.", 12.0, 0.0),
            ParamSpec("r", "Tube radius.", 4.0, 0.0)])
class Torus(SDF3):
    """``f = |(sqrt(x^2 + z^2) - R, y)| - r``."""

    lipschitz = 1.0  # exact distance

    def __init__(self, R: float, r: float, children: list | None = None) -> None:  # noqa: N803
        super().__init__(children)
        self.R, self.r = float(R), float(r)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        return torch.hypot(torch.hypot(x, z) - self.R, y) - self.r

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        return box([self.R + self.r + c, self.r + c, self.R + self.r + c])


@register_node(
    "octahedron", category="primitive",
    description="Regular octahedron |x|+|y|+|z| <= s (exact distance).",
    params=[ParamSpec("s", "Vertex distance from the centre.", 10.0, 0.0)])
class Octahedron(SDF3):
    """IQ's exact ``sdOctahedron`` (compare ``octahedron_bound``, the reference's scaled bound)."""

    lipschitz = 1.0  # exact distance

    def __init__(self, s: float, children: list | None = None) -> None:
        super().__init__(children)
        self.s = float(s)

    def __call__(self, q: Vec3) -> torch.Tensor:
        px, py, pz = torch.broadcast_tensors(*(torch.abs(c) for c in q))
        s = self.s
        m = px + py + pz - s
        # Pick the permutation whose first component is the small one (the face region).
        case_x = 3 * px < m
        case_y = ~case_x & (3 * py < m)
        case_z = ~case_x & ~case_y & (3 * pz < m)
        qx = torch.where(case_x, px, torch.where(case_y, py, pz))
        qy = torch.where(case_x, py, torch.where(case_y, pz, px))
        qz = torch.where(case_x, pz, torch.where(case_y, px, py))
        k = (0.5 * (qz - qy + s)).clamp(0.0, s)
        edge = _length(qx, qy - s + k, qz - k)
        return torch.where(case_x | case_y | case_z, edge, m * INV_SQRT3)

    def bounds(self, level: float) -> Bounds:
        return box([self.s + max(level, 0.0)] * 3)
