"""The node kinds the 109 FDIF classes are built from (spec §5).

sphere, capped_cone, octahedron_bound, extrude (plain / cone / convex / concave scale profile,
optional domain-dependent onion) and revolve. Profiles come from :mod:`fdif_core.nodes.profiles`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from fdif_core import native
from fdif_core.nodes.base import SDF2, SDF3, Bounds, Vec3, box, constants
from fdif_core.nodes.registry import ParamSpec, register_node

REFERENCE_OCTAHEDRON_FACTOR = 0.35773502691896257
PROFILES = ("plain", "cone", "convex", "concave")


@register_node("sphere", category="primitive", description="Sphere of radius r (exact).",
               params=[ParamSpec("r", "Radius.", 10.0, 0.0)])
class Sphere(SDF3):
    """``f = |q| - r``."""

    batch_fields = ("r",)

    def __init__(self, r: float, children: list | None = None) -> None:
        super().__init__(children)
        self.r = r

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        return torch.sqrt(x * x + y * y + z * z) - self.r

    def bounds(self, level: float) -> Bounds:
        return box([self.r + max(level, 0.0)] * 3)

    lipschitz = 1.0


@register_node(
    "capped_cone", category="primitive",
    description="Cone along y: base disk of radius R at y=-height/2, apex at +height/2 (exact).",
    params=[ParamSpec("R", "Base radius.", 10.0, 0.0), ParamSpec("height", "Height.", 20.0, 0.0)])
class CappedCone(SDF3):
    """Exact distance to a cone with its base at ``-height/2`` (spec §5.3)."""

    batch_fields = ("R", "height", "half", "ex", "inv")

    def __init__(self, R: float, height: float, children: list | None = None) -> None:  # noqa: N803
        super().__init__(children)
        self.R, self.height = R, height
        self.half = height / 2
        self.ex = -R  # the slant edge (ex, height)
        self.inv = 1.0 / max(self.ex * self.ex + height * height, 1e-12)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        px = torch.hypot(x, z) - self.R
        py = y + self.half
        ex, ey = self.ex, self.height
        t = (px * ex + py * ey).mul_(self.inv).clamp_(0.0, 1.0)
        qx = px - t * ex
        qy = py - t * ey
        dist = torch.hypot(qx, qy)
        outside = torch.maximum(qx, qy) > 0
        return torch.where(outside, dist, -torch.minimum(dist, py))

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        return box([self.R + c, self.height / 2 + c, self.R + c])

    lipschitz = 1.0


@register_node(
    "octahedron_bound", category="primitive",
    description="Octahedron |x|+|y|+|z| <= s as a scaled bound (the reference uses factor 0.3577).",
    params=[ParamSpec("s", "Vertex distance from the centre.", 10.0, 0.0),
            ParamSpec("factor", "Distance scale of the bound.", REFERENCE_OCTAHEDRON_FACTOR,
                      1e-3, 1.0, unit="ratio")])
class OctahedronBound(SDF3):
    """``f = (|x| + |y| + |z| - s) * factor`` (spec §5.4)."""

    batch_fields = ("s", "factor")

    def __init__(self, s: float, factor: float = REFERENCE_OCTAHEDRON_FACTOR,
                 children: list | None = None) -> None:
        super().__init__(children)
        self.s, self.factor = s, factor

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        return (torch.abs(x) + torch.abs(y) + torch.abs(z) - self.s) * self.factor

    def bounds(self, level: float) -> Bounds:
        return box([self.s + max(level, 0.0) / self.factor] * 3)

    @property
    def lipschitz(self) -> float:
        return self.factor * math.sqrt(3.0)


@register_node(
    "extrude", category="construction",
    description=("Extrude a 2D profile along local z with a scale profile (plain, cone, convex, "
                 "concave) and an optional reference onion whose thickness is onion_ratio times "
                 "the deepest cross-section value over the whole evaluation grid."),
    params=[ParamSpec("height", "Length along z.", 20.0, 0.0),
            ParamSpec("profile", "Scale profile along the axis.", "plain", unit="choice",
                      choices=PROFILES),
            ParamSpec("s2", "Scale at the far end (cone) or at the neck (convex/concave).", 1.0,
                      0.0, 100.0, unit="ratio"),
            ParamSpec("neck", "Axial position of the neck (convex/concave).", 0.0),
            ParamSpec("onion_ratio", "Hollow-shell ratio; 0 means solid.", 0.0, 0.0, 1.0,
                      unit="ratio")],
    children=1, child_category="profile")
class Extrude(SDF3):
    """The reference's prism construction (spec §5.5 and §5.6)."""

    batch_fields = ("h", "onion_t", "cone_terms", "neck_terms")
    batch_shape = ("profile", "onioned")

    def __init__(self, height: float, profile: str = "plain", s2: float = 1.0, neck: float = 0.0,
                 onion_ratio: float = 0.0, children: list | None = None) -> None:
        super().__init__(children)
        self.profile2d: SDF2 = self.children[0]
        self.h = height / 2
        self.profile, self.s2, self.neck = profile, s2, neck
        self.onion_ratio = min(max(onion_ratio, 0.0), 1.0)
        self.onion_t: float | None = None if self.onioned else 0.0
        h = self.h
        self.cone_terms = (s2 - 1, h, 2 * h if h > 0 else 1e-12, 1.0)  # height 0: no 0 / 0
        self.neck_terms = (s2 - 1, h, neck + h + 1e-12, 1.0, neck, neck - h + 1e-12, s2)

    @property
    def onioned(self) -> bool:
        """Whether the extrusion is a hollow shell (its thickness depends on the domain)."""
        return self.onion_ratio > 0

    @property
    def domain_dependent(self) -> bool:
        return self.onioned

    def scale(self, a: torch.Tensor | float) -> torch.Tensor | float | None:
        """Cross-section scale s(a) before clamping, or ``None`` for the plain profile; of a
        tensor, or of a Python float (then in float64, as bounds need).

        The operation order is the reference's: voxels lying exactly on ``f = 0`` fall on the
        side the reference puts them on, so the golden voxel counts match exactly.
        """
        if self.profile == "plain":
            return None
        if isinstance(a, float):
            if self.profile == "cone":
                rise, h, length, one = self.cone_terms
                return rise * (a + h) / length + one
            rise, h, below_length, one, neck, above_length, s2 = self.neck_terms
            if a < neck:
                return rise * (a + h) / below_length + one
            return rise * (a - neck) / above_length + s2
        # the same operations on tensors, in place after the first (products commute exactly)
        if self.profile == "cone":
            rise, h, length, one = constants(self, a, *self.cone_terms)
            return torch.add(a, h).mul_(rise).div_(length).add_(one)
        rise, h, below_length, one, neck, above_length, s2 = constants(self, a, *self.neck_terms)
        below = torch.add(a, h).mul_(rise).div_(below_length).add_(one)
        above = torch.sub(a, neck).mul_(rise).div_(above_length).add_(s2)
        return torch.where(a < neck, below, above)

    def _scale_at(self, a: float) -> float:
        return max(self.scale(float(a)) if self.profile != "plain" else 1.0, 1e-6)

    def _slopes(self) -> tuple[float, float]:
        """|ds/da| below and above the neck (equal for a cone, 0 for plain)."""
        h, s2, neck = self.h, self.s2, self.neck
        if self.profile == "plain":
            return 0.0, 0.0
        if self.profile == "cone":
            slope = abs(s2 - 1) / (2 * h) if h > 0 else math.inf
            return slope, slope
        return (abs(s2 - 1) / max(abs(neck + h + 1e-12), 1e-300),
                abs(s2 - 1) / max(abs(neck - h + 1e-12), 1e-300))

    def max_slope(self) -> float:
        """Largest |ds/da| of the scale profile."""
        return max(self._slopes())

    def _near(self, a: torch.Tensor, radius: float,
              bound: Callable[[float], float]) -> float | torch.Tensor:
        """``bound(slope)`` with the steepest ``|ds/da|`` over ``[a - radius, a + radius]``
        (one value per point where it varies).

        The profile is piecewise linear: one slope below the neck, one above; ``bound``
        increases with the slope. The comparison has a 1e-3 slack for float32 rounding of ``a``.
        """
        below, above = (bound(slope) for slope in self._slopes())
        if below == above:
            return below
        reach = radius + 1e-3
        low, high = constants(self, a, self.neck - reach, self.neck + reach)
        out = torch.full_like(a, max(below, above))
        out.masked_fill_(a < low, below)
        return out.masked_fill_(a > high, above)

    def _native(self, x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> bool:
        """Whether native kernels take this extrusion's arithmetic for these points: float32
        on the CPU, of one shape, and not a batched copy (whose numbers are per-point tensors).

        Broadcast points stay on torch: torch's transcendental functions (in a star profile)
        may round differently on strided inputs than on the contiguous ones native code makes.
        """
        return (isinstance(self.h, float) and x.shape == y.shape == a.shape
                and native.available(a.dtype, a.device))

    def _native_scaled(self, x: torch.Tensor, y: torch.Tensor,
                       a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x / s``, ``y / s`` and ``s`` (:meth:`scale`, clamped) in native code."""
        terms = native.terms(self, *(self.cone_terms if self.profile == "cone" else
                                     self.neck_terms))
        return native.extrude_scale(x, y, a, self.profile != "cone", terms)

    def perp(self, x: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The scaled cross-section ``s * g(x/s, y/s)`` before the onion."""
        if self.profile != "plain" and self._native(x, y, a):
            xs, ys, s = self._native_scaled(x, y, a)
            return s * self.profile2d(xs, ys)
        s = self.scale(a)
        if s is None:
            return self.profile2d(x, y)
        s = s.clamp_min_(1e-6)
        return s * self.profile2d(x / s, y / s)

    def _perp_bound(self, slope: float) -> float:
        """Gradient bound of ``s(a) g(x/s, y/s)`` where ``|s'| <= slope``.

        For an exact profile, ``|d/ds (s g(P/s))| <= max |boundary point|``, so the bound is
        ``sqrt(1 + (radius * slope)^2)``.
        """
        inner = self.profile2d.lipschitz
        if self.profile == "plain":
            return inner
        if inner != 1.0:
            return math.inf
        return math.hypot(1.0, self.profile2d.radius * slope)

    def _bound(self, slope: float) -> float:
        """Gradient bound of the extrusion where ``|s'| <= slope``.

        With ``c = radius * slope``, ``grad perp = (grad g, d)`` with ``|grad g| <= 1`` and
        ``|d| <= c``; ``grad along = (0, 0, +-1)``. Where ``f = hypot(perp, along)`` the
        gradient is ``u grad perp + v grad along`` with ``u^2 + v^2 = 1``, whose squared norm
        is at most the largest eigenvalue of ``[[1 + c^2, c], [c, 1]]``; elsewhere it is one
        of the two gradients, which that eigenvalue also bounds. The derivation holds point by
        point, so a local slope gives a local bound.
        """
        if self.profile == "plain":  # perp and along have orthogonal gradients
            return max(self.profile2d.lipschitz, 1.0)
        if self.profile2d.lipschitz != 1.0:
            return math.inf
        c = self.profile2d.radius * slope
        c2 = c * c
        return math.sqrt((2 + c2 + math.sqrt(c2 * c2 + 4 * c2)) / 2)

    @property
    def perp_lipschitz(self) -> float:
        """Gradient bound of the scaled cross-section (see :meth:`_perp_bound`)."""
        return self._perp_bound(self.max_slope())

    def perp_lipschitz_near(self, q: Vec3, radius: float) -> float | torch.Tensor:
        """:attr:`perp_lipschitz` with the steepest slope within ``radius`` of each ``q``."""
        return self._near(q[2], radius, self._perp_bound)

    @property
    def lipschitz(self) -> float:
        """Gradient bound of the extrusion (see :meth:`_bound`)."""
        return self._bound(self.max_slope())

    def lipschitz_near(self, q: Vec3, radius: float) -> float | torch.Tensor:
        """:attr:`lipschitz` with the steepest slope of the axial range ``[a - radius,
        a + radius]``: a neck close to an end makes one short stretch steep, not the whole
        object."""
        return self._near(q[2], radius, self._bound)

    def floor_near(self, q: Vec3, radius: float) -> torch.Tensor:
        """``|a| - h - radius``: ``f >= max(perp, |a| - h)`` everywhere, and ``|a| - h`` is
        1-Lipschitz. It bounds the space beyond the ends, where a steep scale profile makes the
        Lipschitz bound useless."""
        return torch.abs(q[2]) - (self.h + radius)

    def cross_section(self) -> CrossSection:
        """The scaled cross-section as a function of local points, with its bounds."""
        return CrossSection(self)

    def prepare(self, domain) -> None:
        """Fix the onion thickness from the minimum cross-section value over the domain."""
        if self.onioned:
            self.set_deepest(domain.min_over_grid(self.cross_section()))

    def set_deepest(self, deepest: float) -> None:
        """Set the onion thickness from ``deepest``, the minimum cross-section value over the
        domain (found by :meth:`prepare`, or for many onions at once by the batch renderer)."""
        self.onion_t = self.onion_ratio * abs(deepest)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, a = q
        if self.onioned and self.onion_t is None:
            raise RuntimeError("an onioned extrusion needs prepare(domain) before evaluation")
        if self._native(x, y, a):  # the same arithmetic; the hypot stays torch's
            if self.profile == "plain":
                g, s = self.profile2d(x, y), None
            else:
                xs, ys, s = self._native_scaled(x, y, a)
                g = self.profile2d(xs, ys)
            perp, along, inner = native.extrude_parts(g, s, a, self.onion_t if self.onioned
                                                      else None, self.h)
            return torch.hypot(perp, along).add_(inner)
        perp = self.perp(x, y, a)
        if self.onioned:
            perp = torch.abs(perp).sub_(constants(self, perp, self.onion_t)[0])
        along = torch.abs(a).sub_(constants(self, a, self.h)[0])
        inner = torch.maximum(perp, along).clamp_max_(0)
        # ``along`` is this call's own array (``perp`` may be a child's): clamped in place;
        # ``outside + inner`` as an in-place sum, which commutes exactly
        return torch.hypot(perp.clamp_min(0), along.clamp_min_(0)).add_(inner)

    def bounds(self, level: float) -> Bounds | None:
        if self.onion_t is None:  # an onion before prepare(domain)
            return None
        c = max(level, 0.0)
        ends = [-self.h - c, self.h - c, self.h + c]
        if self.profile in ("convex", "concave") and abs(self.neck) <= self.h + c:
            ends.append(self.neck)
        s_max = max(self._scale_at(a) for a in ends + [-self.h + c])
        radial = s_max * self.profile2d.radius + self.onion_t + c
        return box([radial, radial, self.h + c])


class CrossSection:
    """``q -> perp(q)`` of an extrusion, with the gradient bounds :meth:`Domain.descend` uses."""

    def __init__(self, extrude: Extrude) -> None:
        self.extrude = extrude

    def __call__(self, q: Vec3) -> torch.Tensor:
        return self.extrude.perp(q[0], q[1], q[2])

    @property
    def lipschitz(self) -> float:
        return self.extrude.perp_lipschitz

    def lipschitz_near(self, q: Vec3, radius: float) -> float | torch.Tensor:
        return self.extrude.perp_lipschitz_near(q, radius)

    def floor_near(self, q: Vec3, radius: float) -> None:
        return None  # the cross-section has no axial cap


@register_node(
    "revolve", category="construction",
    description="Revolve a 2D profile about local y: f = g(sqrt(x^2+z^2) - offset, y).",
    params=[ParamSpec("offset", "Distance of the profile origin from the axis.", 0.0, 0.0)],
    children=1, child_category="profile")
class Revolve(SDF3):
    """Solid of revolution (tori for offset > profile radius, spec §5.2, §5.7–5.9)."""

    batch_fields = ("offset",)

    def __init__(self, offset: float = 0.0, children: list | None = None) -> None:
        super().__init__(children)
        self.profile2d: SDF2 = self.children[0]
        self.offset = offset

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        return self.profile2d(torch.hypot(x, z) - self.offset, y)

    def bounds(self, level: float) -> Bounds:
        c = max(level, 0.0)
        r = self.profile2d.radius + c
        return box([self.offset + r, r, self.offset + r])

    @property
    def lipschitz(self) -> float:
        return self.profile2d.lipschitz





@register_node(
    "fdif_union", category="csg",
    description=("The reference's combined union (spec §6): quadratic smooth union of two "
                 "axis-aligned children, the second moved along an axis by move_ratio times "
                 "0.7 (|min f_A| + |min f_B|), minima taken over the symmetric grid."),
    params=[ParamSpec("k", "Blend width.", 4.0, 1e-6),
            ParamSpec("axis", "Axis of the move: 0 = x, 1 = y, 2 = z.", 0, 0, 2, unit="count",
                      integer=True),
            ParamSpec("move_ratio", "Move as a fraction of 0.7 (|min f_A| + |min f_B|).", 0.4,
                      0.0, 10.0, unit="ratio")],
    children=2)
class FdifUnion(SDF3):
    """``min(dA, dB) - max(k - |dA - dB|, 0)^2 / (4k)`` with ``dB`` evaluated at ``q - move e``."""

    def __init__(self, k: float, axis: int, move_ratio: float, children: list | None = None):
        super().__init__(children)
        self.k, self.axis, self.move_ratio = k, int(axis), move_ratio
        self.move: float | None = None

    domain_dependent = True

    def prepare(self, domain) -> None:
        """Find ``move`` from the children's minima on the symmetric grid, then prepare them."""
        from fdif_core.domain import Domain
        from fdif_core.grid import Grid

        shape = domain.grid.shape
        symmetric = Grid(shape, tuple(-(n - 1) / 2 for n in shape), (1.0, 1.0, 1.0))
        centred = Domain(symmetric, np.eye(3), np.zeros(3), domain.device)
        minima = []
        for child in self.children:
            child.prepare(centred)
            minima.append(centred.min_over_grid(child))
        self.move = self.move_ratio * 0.7 * (abs(minima[0]) + abs(minima[1]))
        self.children[0].prepare(domain)
        shift = np.zeros(3)
        shift[self.axis] = self.move
        self.children[1].prepare(Domain(domain.grid, domain.A,
                                        domain.t + np.linalg.solve(domain.A, shift),
                                        domain.device))

    def _moved(self, q: Vec3) -> Vec3:
        return tuple(c - self.move if i == self.axis else c for i, c in enumerate(q))

    def __call__(self, q: Vec3) -> torch.Tensor:
        if self.move is None:
            raise RuntimeError("a combined union needs prepare(domain) before evaluation")
        da, db = self.children[0](q), self.children[1](self._moved(q))
        hh = (self.k - torch.abs(da - db)).clamp_min(0)
        return torch.minimum(da, db) - hh * hh / (4 * self.k)

    def bounds(self, level: float) -> Bounds | None:
        if self.move is None:
            return None
        grow = level + self.k / 4
        a, b = self.children[0].bounds(grow), self.children[1].bounds(grow)
        if a is None or b is None:
            return None
        shift = np.zeros(3)
        shift[self.axis] = self.move
        return np.minimum(a[0], b[0] + shift), np.maximum(a[1], b[1] + shift)

    @property
    def lipschitz(self) -> float:
        # the smooth minimum's partial derivatives are non-negative and sum to 1
        return max(child.lipschitz for child in self.children)
