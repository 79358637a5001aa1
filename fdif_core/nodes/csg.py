"""Constructive solid geometry: union, intersection, difference and their smooth versions.

Hard operators take ``min`` / ``max`` (a distance bound, exact outside a union). The smooth ones
use Inigo Quilez's quadratic polynomial smooth minimum with blend radius ``k``:
``smin(a, b) = min(a, b) - h^2 k / 4`` with ``h = max(k - |a - b|, 0) / k``. It never lies more than
``k / 4`` below ``min(a, b)``, which is what the bounds use.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch

from fdif_core.nodes.base import SDF3, Bounds, Vec3
from fdif_core.nodes.registry import ParamSpec, register_node

MAX_CHILDREN = 16


def smin(a: torch.Tensor, b: torch.Tensor, k: float) -> torch.Tensor:
    """Quadratic smooth minimum of ``a`` and ``b`` with blend radius ``k`` (``k <= 0``: ``min``)."""
    if k <= 0:
        return torch.minimum(a, b)
    h = (k - torch.abs(a - b)).clamp_min(0) / k
    return torch.minimum(a, b) - h * h * (k / 4)


def smax(a: torch.Tensor, b: torch.Tensor, k: float) -> torch.Tensor:
    """Quadratic smooth maximum, ``-smin(-a, -b, k)``."""
    return -smin(-a, -b, k)


def union_bounds(boxes: list[Bounds | None]) -> Bounds | None:
    """Smallest box holding every box (``None`` if any is unknown)."""
    if not boxes or any(b is None for b in boxes):
        return None
    return (np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0))


def intersection_bounds(boxes: list[Bounds | None]) -> Bounds | None:
    """Intersection of the known boxes (``None`` if none is known); an empty one collapses."""
    known = [b for b in boxes if b is not None]
    if not known:
        return None
    lo = np.max([b[0] for b in known], axis=0)
    hi = np.min([b[1] for b in known], axis=0)
    return lo, np.maximum(hi, lo)


_K = ParamSpec("k", "Blend radius: how far the smooth blend reaches.", 4.0, 0.0)


class _Combine(SDF3):
    """An n-ary fold of the children with an optional blend radius."""

    smooth = False

    def __init__(self, k: float = 0.0, children: list | None = None) -> None:
        super().__init__(children)
        self.k = float(k) if self.smooth else 0.0

    @abstractmethod
    def _fold(self, values: list[torch.Tensor]) -> torch.Tensor:
        """Combine the children's values."""

    def __call__(self, q: Vec3) -> torch.Tensor:
        return self._fold([child(q) for child in self.children])

    @property
    def lipschitz(self) -> float:
        # min, max and the quadratic smooth versions have partial derivatives >= 0 summing to 1
        return max(child.lipschitz for child in self.children)


class _Union(_Combine):
    def _fold(self, values: list[torch.Tensor]) -> torch.Tensor:
        out = values[0]
        for value in values[1:]:
            out = smin(out, value, self.k)
        return out

    def bounds(self, level: float) -> Bounds | None:
        # Each fold step lowers the value by at most k/4.
        grow = (len(self.children) - 1) * self.k / 4
        return union_bounds([c.bounds(level + grow) for c in self.children])


class _Intersection(_Combine):
    def _fold(self, values: list[torch.Tensor]) -> torch.Tensor:
        out = values[0]
        for value in values[1:]:
            out = smax(out, value, self.k)
        return out

    def bounds(self, level: float) -> Bounds | None:
        # smax(a, b) >= max(a, b): the set lies inside every child's set.
        return intersection_bounds([c.bounds(level) for c in self.children])


class _Difference(_Combine):
    def _fold(self, values: list[torch.Tensor]) -> torch.Tensor:
        out = values[0]
        for value in values[1:]:
            out = smax(out, -value, self.k)
        return out

    def bounds(self, level: float) -> Bounds | None:
        return self.children[0].bounds(level)


_CHILDREN = (2, MAX_CHILDREN)


@register_node("union", category="csg", description="Union of the children (min).",
               children=_CHILDREN)
class Union(_Union):
    """``f = min(f1, f2, ...)``."""


@register_node("intersection", category="csg", description="Intersection of the children (max).",
               children=_CHILDREN)
class Intersection(_Intersection):
    """``f = max(f1, f2, ...)``."""


@register_node("difference", category="csg",
               description="The first child minus every other child: max(f1, -f2, ...).",
               children=_CHILDREN)
class Difference(_Difference):
    """``f = max(f1, -f2, -f3, ...)``."""


@register_node("smooth_union", category="csg",
               description="Union blended over radius k (polynomial smooth minimum).",
               params=[_K], children=_CHILDREN)
class SmoothUnion(_Union):
    """``f = smin(smin(f1, f2), f3) ...``."""

    smooth = True


@register_node("smooth_intersection", category="csg",
               description="Intersection blended over radius k (polynomial smooth maximum).",
               params=[_K], children=_CHILDREN)
class SmoothIntersection(_Intersection):
    """``f = smax(smax(f1, f2), f3) ...``."""

    smooth = True


@register_node("smooth_difference", category="csg",
               description="The first child minus the others, blended over radius k.",
               params=[_K], children=_CHILDREN)
class SmoothDifference(_Difference):
    """``f = smax(smax(f1, -f2), -f3) ...``."""

    smooth = True
