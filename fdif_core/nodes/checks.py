"""Numerical checks of compiled nodes: bounds against full evaluation, Lipschitz constant, volume.

Used by the tests of every node kind and by ``fdif shapes validate --check``, which samples a
class and makes sure its bounds never cut the shape.
"""

from __future__ import annotations

import numpy as np
import torch

from fdif_core.nodes.base import SDF3, Vec3


def lattice(half: float | tuple[float, float, float], step: float,
            dtype: torch.dtype = torch.float64) -> Vec3:
    """Broadcastable axes of the cube ``[-half, half]^3`` sampled every ``step``.

    Returns ``(x, y, z)`` shaped ``(1, 1, W)``, ``(1, H, 1)``, ``(D, 1, 1)``.
    """
    halves = (half,) * 3 if np.isscalar(half) else tuple(half)
    axes = [torch.arange(-h, h + step / 2, step, dtype=dtype) for h in halves]
    return axes[0].view(1, 1, -1), axes[1].view(1, -1, 1), axes[2].view(-1, 1, 1)


def bounds_violation(node: SDF3, q: Vec3, level: float) -> float:
    """How far points with ``f <= level`` stick out of ``node.bounds(level)`` (0 when none do).

    Parameters
    ----------
    node : SDF3
        A compiled (and prepared) node.
    q : tuple of tensors
        Broadcastable sample points, e.g. from :func:`lattice`.
    level : float
        The level whose sub-level set is checked.

    Returns
    -------
    float
        The largest distance of such a point outside the box; ``inf`` when the node has no
        bounds but points exist.
    """
    f = node(q)
    x, y, z = (c.expand(f.shape) for c in q)
    inside = f <= level
    if not bool(inside.any()):
        return 0.0
    box = node.bounds(level)
    if box is None:
        return float("inf")
    lo, hi = box
    worst = 0.0
    for comp, a, b in zip((x, y, z), lo, hi, strict=True):
        values = comp[inside]
        worst = max(worst, float((a - values).max()), float((values - b).max()))
    return max(worst, 0.0)


def lipschitz_ratio(node: SDF3, points: torch.Tensor, offsets: torch.Tensor) -> float:
    """Largest ``|f(p + d) - f(p)| / |d|`` over point pairs (``points``, ``offsets``: (N, 3))."""
    a = node(tuple(points[:, i] for i in range(3)))
    moved = points + offsets
    b = node(tuple(moved[:, i] for i in range(3)))
    return float((torch.abs(b - a) / offsets.norm(dim=1)).max())


def volume(node: SDF3, half: float | tuple[float, float, float], step: float) -> float:
    """Volume of ``{f <= 0}`` by counting the cell centres of ``[-half, half]^3`` inside."""
    halves = (half,) * 3 if np.isscalar(half) else tuple(half)
    axes = [torch.arange(-h + step / 2, h, step, dtype=torch.float64) for h in halves]
    f = node((axes[0].view(1, 1, -1), axes[1].view(1, -1, 1), axes[2].view(-1, 1, 1)))
    return float((f <= 0).sum()) * step ** 3
