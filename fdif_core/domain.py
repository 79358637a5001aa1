"""Evaluation domains: a grid seen through an object's affine placement.

A :class:`Domain` maps the world grid into an object's local coordinates,
``q = A (p - t)``, computed element-wise so a sub-box of the grid gives bitwise the same local
coordinates as the same voxels of the whole grid. It also answers "what is the minimum of this
function over every grid point" exactly without evaluating the whole grid (Lipschitz block
pruning), which the reference onion needs (spec §5.6).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from fdif_core.grid import Grid
from fdif_core.nodes.base import Vec3

IndexBox = tuple[int, int, int, int, int, int]  # z0, z1, y0, y1, x0, x1 (half-open)
BLOCK = 8


class Domain:
    """The grid in an object's local frame.

    Parameters
    ----------
    grid : Grid
        World grid.
    A : ndarray (3, 3)
        World-to-local linear map (``S^-1 R^T``).
    t : ndarray (3,)
        World translation of the object (x, y, z).
    device : torch.device or str
        Where tensors are made.
    """

    def __init__(self, grid: Grid, A: np.ndarray, t: np.ndarray,  # noqa: N803
                 device: torch.device | str = "cpu") -> None:
        self.grid = grid
        self.A = np.asarray(A, dtype=np.float64)
        self.t = np.asarray(t, dtype=np.float64)
        self.device = torch.device(device)

    @property
    def full_box(self) -> IndexBox:
        d, h, w = self.grid.shape
        return (0, d, 0, h, 0, w)

    def _axes(self, box: IndexBox) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """World offsets ``x - tx`` (W), ``y - ty`` (H), ``z - tz`` (D) of a box, float32."""
        z0, z1, y0, y1, x0, x1 = box
        xs = self.grid.axis(2, self.device, x0, x1) - float(self.t[0])
        ys = self.grid.axis(1, self.device, y0, y1) - float(self.t[1])
        zs = self.grid.axis(0, self.device, z0, z1) - float(self.t[2])
        return xs, ys, zs

    def _combine(self, offsets: Vec3) -> Vec3:
        """``q_i = A_i0 X + A_i1 Y + A_i2 Z`` element-wise, skipping exact zero terms."""
        out = []
        for i in range(3):
            acc = None
            for j in range(3):
                a = float(self.A[i, j])
                if a == 0.0:
                    continue
                term = offsets[j] if a == 1.0 else offsets[j] * a
                acc = term if acc is None else acc + term
            out.append(acc if acc is not None else torch.zeros_like(offsets[i]))
        return tuple(out)

    def local(self, box: IndexBox | None = None) -> Vec3:
        """Local coordinates of every voxel of ``box`` as broadcastable tensors."""
        xs, ys, zs = self._axes(box or self.full_box)
        return self._combine((xs.view(1, 1, -1), ys.view(1, -1, 1), zs.view(-1, 1, 1)))

    def local_points(self, index: torch.Tensor) -> Vec3:
        """Local coordinates of the voxels ``index`` (an ``(N, 3)`` long tensor of z, y, x)."""
        xs, ys, zs = self._axes(self.full_box)
        return self._combine((xs[index[:, 2]], ys[index[:, 1]], zs[index[:, 0]]))

    def world_box(self, lo: np.ndarray, hi: np.ndarray) -> IndexBox | None:
        """Index box of the grid voxels that may lie in the local box ``[lo, hi]``.

        Returns ``None`` when the box misses the grid.
        """
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                            for z in (lo[2], hi[2])])
        world = corners @ np.linalg.inv(self.A).T + self.t  # (8, 3) as x, y, z
        out = []
        for axis, comp in ((0, 2), (1, 1), (2, 0)):
            start, step, n = self.grid.start[axis], self.grid.step[axis], self.grid.shape[axis]
            a = (world[:, comp].min() - start) / step
            b = (world[:, comp].max() - start) / step
            if step < 0:
                a, b = b, a
            i0 = max(int(math.floor(a)) - 1, 0)
            i1 = min(int(math.ceil(b)) + 2, n)
            if i0 >= i1:
                return None
            out += [i0, i1]
        return tuple(out)

    def min_over_grid(self, fn: Callable[[Vec3], torch.Tensor], lipschitz: float) -> float:
        """Exact minimum of ``fn(local(p))`` over every grid point ``p``.

        ``lipschitz`` bounds ``|fn(q1) - fn(q2)| / |q1 - q2|`` in local coordinates. Blocks of
        8^3 voxels whose lower bound (centre value minus Lipschitz times radius) is above the
        best voxel value found so far cannot hold the minimum and are skipped. With an infinite
        or huge constant this degrades to evaluating every voxel, never to a wrong answer.
        """
        d, h, w = self.grid.shape
        lip = lipschitz * float(np.linalg.norm(self.A, 2))
        if not math.isfinite(lip):
            return float(fn(self.local()).min())
        centres, counts = [], []
        for axis, n in enumerate((d, h, w)):
            starts = np.arange(0, n, BLOCK)
            sizes = np.minimum(BLOCK, n - starts)
            centres.append(self.grid.start[axis] + (starts + (sizes - 1) / 2) * self.grid.step[axis])
            counts.append(sizes)
        radius = 0.5 * (BLOCK - 1) * math.sqrt(sum(s * s for s in self.grid.step))
        cz, cy, cx = (torch.tensor(c, dtype=torch.float32, device=self.device) for c in centres)
        offsets = (cx.view(1, 1, -1) - float(self.t[0]), cy.view(1, -1, 1) - float(self.t[1]),
                   cz.view(-1, 1, 1) - float(self.t[2]))
        centre_values = fn(self._combine(offsets)).expand(len(cz), len(cy), len(cx)).double()
        slack = 1e-3 + 1e-4 * centre_values.abs()
        lower = centre_values - lip * radius - slack

        def voxels_of(block_mask: torch.Tensor) -> torch.Tensor:
            mask = block_mask
            for dim, sizes in enumerate(counts):
                mask = mask.repeat_interleave(torch.as_tensor(sizes, device=self.device), dim=dim)
            return mask.nonzero()

        first = torch.zeros_like(lower, dtype=torch.bool).view(-1)
        first[int(centre_values.argmin())] = True
        best = float(fn(self.local_points(voxels_of(first.view(lower.shape)))).min())
        candidates = lower <= best
        index = voxels_of(candidates)
        for chunk in index.split(1 << 20):
            best = min(best, float(fn(self.local_points(chunk)).min()))
        return best
