"""World sampling grids (spec §1).

A :class:`Grid` is the set of query points of one volume: three 1D coordinate axes whose
outer product gives the ``(D, H, W)`` world points. Axis 0 is z, axis 1 is y and axis 2 is x.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch


@dataclass(frozen=True)
class Grid:
    """A regular 3D grid of world points.

    Parameters
    ----------
    shape : tuple of int
        ``(D, H, W)``.
    start : tuple of float
        World coordinate of index 0 along (z, y, x).
    step : tuple of float
        Spacing along (z, y, x).
    """

    shape: tuple[int, int, int]
    start: tuple[float, float, float]
    step: tuple[float, float, float]

    @classmethod
    def reference(cls, shape: tuple[int, int, int]) -> Grid:
        """The reference segmentation grid: ``c_i = -N/2 + i`` along every axis (spec §1.2)."""
        d, h, w = (int(n) for n in shape)
        if min(d, h, w) < 2:
            raise ValueError(f"grid size {shape} is too small: every axis needs at least 2 voxels")
        return cls((d, h, w), (-d / 2, -h / 2, -w / 2), (1.0, 1.0, 1.0))

    @classmethod
    def symmetric(cls, shape: tuple[int, int, int], scale: float) -> Grid:
        """The classification grid ``linspace(-N/2*s, N/2*s, N)`` per axis (spec §1.6)."""
        starts, steps = [], []
        for n in shape:
            starts.append(-n / 2 * scale)
            steps.append(n * scale / (n - 1))
        return cls(tuple(int(n) for n in shape), tuple(starts), tuple(steps))

    def axis(self, index: int, device: torch.device | str = "cpu", lo: int = 0,
             hi: int | None = None) -> torch.Tensor:
        """World coordinates along one axis (0 = z, 1 = y, 2 = x), float32, for indices lo..hi-1.

        Coordinates are computed in float64 and rounded once, so a sub-range is bitwise equal
        to the same entries of the full axis. On the CPU the result is a view of an axis kept
        on the grid: never modify it in place.
        """
        hi = self.shape[index] if hi is None else hi
        return self._axes[index][lo:hi].to(device)

    @cached_property
    def _axes(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three full axes on the CPU, made once per grid."""
        return tuple((self.start[i] + torch.arange(n, dtype=torch.float64) * self.step[i])
                     .to(torch.float32) for i, n in enumerate(self.shape))

    @cached_property
    def axis_max(self) -> tuple[float, float, float]:
        """The largest coordinate along (z, y, x) (used by the displacement normalisation)."""
        return tuple(
            float(self.axis(i)[-1]) if self.step[i] > 0 else float(self.axis(i)[0]) for i in range(3)
        )

    @property
    def size(self) -> dict[str, float]:
        """Named grid quantities that parameter distributions may scale by (spec §5 notation)."""
        d, h, w = self.shape
        return {
            "D": d, "H": h, "W": w,
            "min_grid": min(d, h, w),
            "min_dh": min(d, h),
            "min_dw": min(d, w),
        }

    def index_of(self, world: tuple[float, float, float]) -> tuple[int, int, int]:
        """Array index ``(i, j, k)`` of world point ``(x, y, z)`` (must lie on the grid)."""
        x, y, z = world
        out = []
        for axis, value in zip((0, 1, 2), (z, y, x), strict=True):
            pos = (value - self.start[axis]) / self.step[axis]
            if abs(pos - round(pos)) > 1e-6 or not 0 <= round(pos) < self.shape[axis]:
                raise ValueError(f"world point {world} is not a grid point")
            out.append(int(round(pos)))
        return tuple(out)


GRID_QUANTITIES = ("D", "H", "W", "min_grid", "min_dh", "min_dw")
