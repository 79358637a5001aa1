"""Evaluation domains: a grid seen through an object's affine placement.

A :class:`Domain` maps the world grid into an object's local coordinates,
``q = A (p - t)``, computed element-wise so a sub-box of the grid gives bitwise the same local
coordinates as the same voxels of the whole grid. It also answers "what is the minimum of this
function over every grid point" exactly without evaluating the whole grid (Lipschitz block
pruning), which the reference onion needs (spec §5.6).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import cached_property
from typing import Protocol

import numpy as np
import torch

from fdif_core import native
from fdif_core.grid import Grid
from fdif_core.linalg3 import inverse3, spectral_norm3
from fdif_core.nodes.base import Vec3, apply_linear

IndexBox = tuple[int, int, int, int, int, int]  # z0, z1, y0, y1, x0, x1 (half-open)
# threshold(origins or None, block size, values) -> a number or one per block / voxel
Threshold = Callable[[torch.Tensor | None, int, torch.Tensor], 'float | torch.Tensor']
BLOCK = 8
BLOCK_SIZES = tuple(BLOCK >> k for k in range(BLOCK.bit_length() - 1))  # 8, 4, 2: the descent
VOXEL_CHUNK = 65536  # voxels evaluated per call at the last level (stays in cache)
LIPSCHITZ_SAFETY = 1.05  # margin on node Lipschitz bounds; correctness never hinges on 1.0
BOUND_SLACK = 1e-3  # block lower bounds are lowered by this plus RELATIVE_SLACK |centre value|
RELATIVE_SLACK = 1e-4  # (both cover float32 rounding)


class Bounded(Protocol):
    """A function of local points with gradient bounds (every :class:`SDF3` is one)."""

    @property
    def lipschitz(self) -> float: ...

    def __call__(self, q: Vec3) -> torch.Tensor: ...

    def lipschitz_near(self, q: Vec3, radius: float) -> float | torch.Tensor: ...

    def floor_near(self, q: Vec3, radius: float) -> torch.Tensor | None: ...


@functools.cache
def _child_offsets(size: int, device: torch.device) -> torch.Tensor:
    """``(3, 1, 8)`` offsets (rows z, y, x) of the eight sub-blocks of ``size`` in a block."""
    corners = torch.cartesian_prod(*[torch.tensor([0, size], device=device)] * 3)
    return corners.T.contiguous().view(3, 1, 8)


@functools.cache
def _block_grid(shape: tuple[int, int, int], device: torch.device) -> torch.Tensor:
    """``(3, nz, ny, nx)`` origins (rows z, y, x) of the ``BLOCK``³ blocks covering a grid of
    ``shape``, from its origin."""
    axes = [torch.arange(0, n, BLOCK, device=device) for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"))


def split_blocks(origins: torch.Tensor, size: int) -> torch.Tensor:
    """``(3, 8 M)`` origins of the eight sub-blocks of ``size`` of each block at ``origins``
    (``(3, M)``, rows z, y, x), block by block: sub-blocks of a block are adjacent, so the
    voxels that survive come in a spatially coherent order for the gathers that follow."""
    return (origins.view(3, -1, 1) + _child_offsets(size, origins.device)).view(3, -1)


def flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Ascending flat positions of the true entries of a boolean ``mask``.

    On the CPU numpy's ``flatnonzero`` is three to five times faster than ``torch.nonzero``
    on the masks of the culling; other devices use torch's.
    """
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return mask.reshape(-1).nonzero().squeeze(1)


def _sum_gathered(tables: list[torch.Tensor], indices: tuple[torch.Tensor, ...],
                  shapes: tuple[tuple[int, ...], ...]) -> Vec3:
    """``q`` from per-world-axis tables (x, y, z; three rows each, one per local axis): the
    columns ``indices`` of each, viewed as ``(3, *shape)`` and summed in
    :func:`~fdif_core.nodes.base.apply_linear`'s order."""
    q = None
    for table, index, shape in zip(tables, indices, shapes, strict=True):
        term = table.index_select(1, index).view(3, *shape)
        q = term if q is None else q + term
    return tuple(q.unbind(0))


def linear_index(index: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Flat C-order positions of ``(3, N)`` voxel indices (rows z, y, x) in an array of
    ``shape``."""
    return (index * _strides(shape, index.device)).sum(0)


@functools.cache
def _strides(shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """``(3, 1)`` C-order strides of a 3D ``shape``."""
    return torch.tensor([[shape[1] * shape[2]], [shape[2]], [1]], device=device)


@functools.cache
def _pair_columns(n: int, device: torch.device) -> torch.Tensor:
    """Columns ``p, p + 1`` (``(2, L)`` flattened) of an ``n``-column table for ``p`` below
    ``n`` rounded up to whole ``BLOCK``s, clamped to the last column."""
    start = torch.arange(-(-n // BLOCK) * BLOCK, device=device)
    return torch.stack([start, start + 1]).clamp_max_(n - 1).view(-1)


@functools.cache
def _ragged_end(shape: tuple[int, int, int], device: torch.device) -> torch.Tensor | None:
    """The grid ``shape`` as a ``(3, 1)`` column when it is not whole ``BLOCK``s along some
    axis (then sub-blocks may start past its end), else ``None``."""
    if not any(n % BLOCK for n in shape):
        return None
    return torch.tensor(shape, device=device).view(3, 1)


@functools.cache
def _pair_offsets(shape: tuple[int, int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(0, 1)`` as a ``(2, 1)`` column, and the ``(8, 1)`` flat offsets of the voxels of a
    2-block (z, y, x offsets, x fastest) in a grid of ``shape``."""
    _, h, w = shape
    pair = torch.arange(2, device=device).view(2, 1)
    child = pair.view(2, 1, 1) * (h * w) + pair.view(1, 2, 1) * w + pair.view(1, 1, 2)
    return pair, child.view(8, 1)


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

    @cached_property
    def stretch(self) -> float:
        """``||A||_2`` (from above): the largest local length of a unit world length."""
        return spectral_norm3(self.A)

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
        """``q = A (p - t)`` from the offsets ``p - t`` (see :func:`apply_linear`)."""
        return apply_linear(self.A, offsets)

    def local(self, box: IndexBox | None = None) -> Vec3:
        """Local coordinates of every voxel of ``box`` as broadcastable tensors."""
        xs, ys, zs = self._axes(box or self.full_box)
        return self._combine((xs.view(1, 1, -1), ys.view(1, -1, 1), zs.view(-1, 1, 1)))

    def evaluate_box(self, fn: Callable[[Vec3], torch.Tensor], box: IndexBox) -> torch.Tensor:
        """``fn`` at every voxel of ``box``, flat in C order, evaluated slab by slab along z
        (about ``VOXEL_CHUNK`` voxels each, so a kernel's temporaries stay in cache); bitwise
        the values of one call on the whole box, as kernels work point by point."""
        z0, z1, y0, y1, x0, x1 = box
        depth = max(1, VOXEL_CHUNK // ((y1 - y0) * (x1 - x0)))
        slabs = []
        for z in range(z0, z1, depth):
            slab = (z, min(z + depth, z1), y0, y1, x0, x1)
            shape = (slab[1] - z, y1 - y0, x1 - x0)
            slabs.append(fn(self.local(slab)).expand(shape).reshape(-1))
        return slabs[0] if len(slabs) == 1 else torch.cat(slabs)

    @cached_property
    def _tables(self) -> list[torch.Tensor]:
        """Per world axis ``j``, a ``(3, n_j)`` table whose row ``i`` holds ``A_ij (p_j - t_j)``.

        ``q_i`` of a voxel is the sum of its three entries, added in the order
        :func:`apply_linear` adds them; a zero ``A_ij`` gives ``-0.0`` entries, which leave any
        sum bitwise unchanged as the skipped term does (a unit one multiplies exactly).
        Gathered coordinates are thus bitwise those of :meth:`local`.
        """
        columns = torch.tensor(self.A.T, dtype=torch.float32, device=self.device).unsqueeze(2)
        tables = []
        for j, axis in enumerate(self._axes(self.full_box)):
            table = columns[j] * axis  # (3, 1) * (n,): a float32 factor, as a scalar one is
            zero = [i for i in range(3) if self.A[i, j] == 0.0]
            if zero:
                table[zero] = -0.0
            tables.append(table)
        return tables

    @cached_property
    def _pair_tables(self) -> list[torch.Tensor]:
        """Per world axis, ``(6, L)``: rows ``2 i + k`` hold entry ``p + k`` of row ``i`` of
        :attr:`_tables` at column ``p``, so the two voxels of a 2-block along the axis are
        gathered by the block's origin. ``L`` rounds the axis up to whole ``BLOCK``s (blocks
        may reach past the grid); entries past the grid repeat its last voxel."""
        return [table.index_select(1, _pair_columns(table.shape[1], self.device)).view(6, -1)
                for table in self._tables]

    def _block_voxels(self, origins: torch.Tensor) -> Vec3:
        """Local coordinates of the voxels of the 2-blocks at ``origins`` (3, m), laid out
        ``(2, 2, 2, m)`` (z, y, x offset in the block, then block); bitwise :meth:`local`'s."""
        if self._native:
            return native.block_voxels(self._pair_tables, origins)
        m = origins.shape[1]
        return _sum_gathered(self._pair_tables, (origins[2], origins[1], origins[0]),
                             ((1, 1, 2, m), (1, 2, 1, m), (2, 1, 1, m)))

    def local_points(self, index: torch.Tensor) -> Vec3:
        """Local coordinates of the voxels ``index`` (a ``(3, N)`` long tensor, rows z, y, x)."""
        return _sum_gathered(self._tables, (index[2], index[1], index[0]), (index.shape[1:],) * 3)

    def unravel(self, flat: torch.Tensor) -> torch.Tensor:
        """``(3, N)`` voxel indices (rows z, y, x) of flat C-order grid positions."""
        _, h, w = self.grid.shape
        return torch.stack((flat // (h * w), flat // w % h, flat % w))

    def world_box(self, lo: np.ndarray, hi: np.ndarray) -> IndexBox | None:
        """Index box of the grid voxels that may lie in the local box ``[lo, hi]``.

        Returns ``None`` when the box misses the grid.
        """
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                            for z in (lo[2], hi[2])])
        world = corners @ inverse3(self.A).T + self.t  # (8, 3) as x, y, z
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

    @cached_property
    def _centre_affines(self) -> dict[int, torch.Tensor]:
        """Per block size ``s`` of the descent, the float64 ``(3, 4)`` matrix ``[B | c_s]``:
        voxel indices ``o`` (z, y, x) lie at local points ``B o + b``, and blocks of ``s``
        voxels at ``o`` are centred at ``B o + c_s`` with ``c_s = b + (s - 1) B 1 / 2``. One
        tensor per domain."""
        b = self._zyx_to_local.tolist()
        a = self.A.tolist()  # in Python floats: a dozen numbers, cheaper than numpy calls
        starts = [self.grid.start[axis] - float(self.t[2 - axis]) for axis in range(3)]  # z y x
        first = [a[i][2] * starts[0] + a[i][1] * starts[1] + a[i][0] * starts[2] for i in range(3)]
        half_diagonal = [sum(row) / 2 for row in b]
        table = [[b[i] + [first[i] + (size - 1) * half_diagonal[i]] for i in range(3)]
                 for size in BLOCK_SIZES]
        return dict(zip(BLOCK_SIZES, torch.tensor(table, dtype=torch.float64, device=self.device)
                        .unbind(0), strict=True))

    def _block_centres(self, origins: torch.Tensor, size: int) -> Vec3:
        """Local coordinates (float32) of the centres of blocks of ``size`` voxels at ``origins``
        (``(3, M)``, rows z, y, x).

        They only feed bounds, which carry a slack far above the rounding here, so one float64
        affine map serves instead of :func:`apply_linear`'s element-wise sums.
        """
        affine = self._centre_affines[size]
        if self._native:
            return native.block_centres(affine, origins)
        return tuple(torch.addmm(affine[:, 3:], affine[:, :3], origins.to(torch.float64))
                     .to(torch.float32).unbind(0))

    @cached_property
    def _native(self) -> bool:
        """Whether native kernels serve this domain's float32 coordinates."""
        return native.available(torch.float32, self.device)

    @cached_property
    def _zyx_to_local(self) -> np.ndarray:
        """``B``: a step of one voxel along grid axis z, y or x (columns) in local coordinates."""
        return self.A[:, ::-1] * np.asarray(self.grid.step)

    @cached_property
    def _corner_reach(self) -> float:
        """Local distance from a block's centre to its farthest voxel, per voxel of edge.

        A block's voxels span a parallelepiped in local coordinates, whose farthest point
        from the centre is a vertex, ``B s / 2`` for a sign vector ``s``; this is at most
        ``stretch`` times the world half-diagonal, and less when the placement stretches
        unevenly."""
        signs = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)])
        corners = self._zyx_to_local @ signs.T
        return 0.5 * float(np.sqrt((corners * corners).sum(axis=0)).max())

    def _radius(self, size: int) -> float:
        """Local radius of a block of ``size`` voxels about its centre."""
        return (size - 1) * self._corner_reach

    def _block_bounds(self, fn: Bounded, origins: torch.Tensor,
                      size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``fn`` at the centres of the blocks of ``size`` at ``origins``, and a lower bound of
        ``fn`` over each block: the centre value minus the local gradient bound times the
        block's radius in local coordinates (or ``fn.floor_near`` where higher), minus a
        float32 slack."""
        centres = self._block_centres(origins, size)
        exact = fn(centres).expand(origins.shape[1])
        radius = self._radius(size)
        reach = LIPSCHITZ_SAFETY * radius
        lipschitz = fn.lipschitz_near(centres, radius)
        if isinstance(lipschitz, torch.Tensor):
            lower = torch.add(exact, lipschitz, alpha=-reach).sub_(BOUND_SLACK)
        else:
            lower = exact - (reach * lipschitz + BOUND_SLACK)
        floor = fn.floor_near(centres, radius + BOUND_SLACK)  # the slack as a wider radius
        if floor is not None:
            lower = torch.maximum(lower, floor)
        return exact, torch.sub(lower, exact.abs(), alpha=RELATIVE_SLACK)

    def block_floors(self, fn: Bounded) -> torch.Tensor:
        """A lower bound of ``fn`` over each block of ``BLOCK``³ voxels of the whole grid
        (blocks start at multiples of ``BLOCK``), shape ``ceil(grid shape / BLOCK)``;
        ``-inf`` everywhere when ``fn``'s gradient bound is infinite."""
        counts = [-(-n // BLOCK) for n in self.grid.shape]
        if not math.isfinite(fn.lipschitz * self.stretch):
            return torch.full(counts, -math.inf, device=self.device)
        return self._block_bounds(fn, self._block_origins(self.full_box), BLOCK)[1].view(counts)

    def _block_origins(self, box: IndexBox) -> torch.Tensor:
        """``(3, M)`` origins (rows z, y, x; x fastest) of the grid-aligned ``BLOCK``³ blocks
        covering ``box``: a slice of the grid's table (one copy instead of building it)."""
        z0, z1, y0, y1, x0, x1 = box
        table = _block_grid(self.grid.shape, self.device)
        return table[:, z0 // BLOCK:-(-z1 // BLOCK), y0 // BLOCK:-(-y1 // BLOCK),
                     x0 // BLOCK:-(-x1 // BLOCK)].reshape(3, -1)

    def _voxels(self, origins: torch.Tensor, box: IndexBox, fn: Callable[[Vec3], torch.Tensor],
                threshold: Threshold, offset: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact values of the voxels of 2-blocks at ``origins`` that lie in ``box``.

        Returns the flat grid positions and values (``fn`` plus the flat field ``offset``
        at those positions) of those with
        value ``<= threshold``. The voxels are laid out ``(2, 2, 2, M)`` (offset in the block,
        then block), so coordinates are gathered per block axis and broadcast along a long
        contiguous last dimension, and work goes in chunks that stay in cache.
        """
        if not origins.shape[1]:
            empty = torch.zeros(0, device=self.device)
            return empty.long(), empty
        first, last = (v.tolist() for v in torch.aminmax(origins, dim=1))
        z0, z1, y0, y1, x0, x1 = box
        past_box = (first[0] < z0 or first[1] < y0 or first[2] < x0
                    or last[0] + 1 >= z1 or last[1] + 1 >= y1 or last[2] + 1 >= x1)
        flats, values = [], []
        for chunk in origins.split(VOXEL_CHUNK // 8, dim=1):
            f = fn(self._block_voxels(chunk)).expand(2, 2, 2, chunk.shape[1]).reshape(-1)
            flat, kept = self._keep(chunk, f, box, past_box, threshold, offset)
            flats.append(flat)
            values.append(kept)
        return torch.cat(flats), torch.cat(values)

    def _keep(self, chunk: torch.Tensor, f: torch.Tensor, box: IndexBox, past_box: bool,
              threshold: Threshold, offset: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat positions and values (``f`` plus ``offset``) of the voxels of the 2-blocks at
        ``chunk`` (values ``f`` laid out ``(2, 2, 2, m)``, flat) with value ``<= threshold``,
        inside ``box`` where ``past_box`` says some may lie outside it."""
        if self._native and f.dtype == torch.float32 and (offset is None
                                                          or offset.dtype == torch.float32):
            if offset is not None:  # the same steps, in native code
                f = native.add_at_voxels(f, chunk, self.grid.shape, offset)
            return native.keep_voxels(f, chunk, self.grid.shape, float(threshold(None, 1, f)),
                                      box)
        z0, z1, y0, y1, x0, x1 = box
        m = chunk.shape[1]
        pair, child = _pair_offsets(self.grid.shape, self.device)
        flat = (child + linear_index(chunk, self.grid.shape)).view(-1)
        if offset is not None:  # voxels of blocks past the grid's end read its last one
            ragged = _ragged_end(self.grid.shape, self.device) is not None
            f = f + offset.index_select(0, flat.clamp_max(offset.numel() - 1) if ragged else flat)
        keep = f <= threshold(None, 1, f)
        if past_box:
            iz, iy, ix = (row + pair for row in chunk)  # (2, m) each
            keep &= (((iz >= z0) & (iz < z1)).view(2, 1, 1, m)
                     & ((iy >= y0) & (iy < y1)).view(1, 2, 1, m)
                     & ((ix >= x0) & (ix < x1)).view(1, 1, 2, m)).view(-1)
        sel = flat_nonzero(keep)
        return flat.index_select(0, sel), f.index_select(0, sel)

    def descend(self, fn: Bounded, box: IndexBox, threshold: Threshold,
                offset: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Branch and bound over blocks of 8, 4 and 2 voxels covering ``box``, then voxels.

        Blocks are aligned to multiples of their size in the grid. At each block level ``fn``
        is evaluated at the block centres; a block survives when its lower bound
        (:meth:`_block_bounds`) is at most
        ``threshold(origins, size, values)`` (a number or one per block). Survivors are split
        in eight. The voxels of the surviving 2-blocks that lie in ``box`` are evaluated
        exactly (bitwise the full-grid values), the flat field ``offset`` is added when given, and
        they are kept where ``value <= threshold(None, 1, values)``; ``values`` there may also
        hold voxels just past the box. Block centres past the box are still points of space,
        so their bounds hold.

        Returns
        -------
        flat : Tensor
            Flat C-order grid positions (N,) of the kept voxels.
        values : Tensor
            ``fn`` (plus ``offset``) at those voxels.
        """
        origins = self._block_origins(box)
        size = BLOCK
        while True:
            exact, lower = self._block_bounds(fn, origins, size)
            child = size // 2 if size > 2 else 0
            origins = self._select(lower, threshold(origins, size, exact), origins, child)
            if not child:
                return self._voxels(origins, box, fn, threshold, offset)
            size = child

    def _select(self, lower: torch.Tensor, threshold: float | torch.Tensor, origins: torch.Tensor,
                child: int) -> torch.Tensor:
        """Origins of the blocks whose ``lower`` bound is at most ``threshold``; with ``child``
        > 0, of their sub-blocks of ``child`` voxels that start inside the grid."""
        end = _ragged_end(self.grid.shape, self.device)
        if self._native and lower.dtype == torch.float32:  # the same steps, in native code
            return native.select_blocks(lower, threshold, origins, child,
                                        None if end is None else self.grid.shape)
        origins = origins.index_select(1, flat_nonzero(lower <= threshold))
        if not child:
            return origins
        origins = split_blocks(origins, child)
        if end is not None:  # sub-blocks starting past the grid hold no voxel
            origins = origins.index_select(1, flat_nonzero((origins < end).all(0)))
        return origins

    def min_over_grid(self, fn: Bounded) -> float:
        """Exact minimum of ``fn(local(p))`` over every grid point ``p``.

        ``fn``'s gradient bounds hold in local coordinates. Blocks
        whose lower bound is above the best voxel value found so far cannot hold the minimum
        (:meth:`descend`); the last level is single voxels, evaluated exactly as a full-grid
        evaluation would. An infinite constant falls back to evaluating every voxel.
        """
        if not math.isfinite(fn.lipschitz * self.stretch):
            return float(fn(self.local()).min())
        upper = torch.tensor(self.grid.shape, device=self.device) - 1
        best = math.inf

        def threshold(origins: torch.Tensor | None, size: int, values: torch.Tensor) -> float:
            nonlocal best
            if size == 1:
                best = min(best, float(values.min()))
            elif size == BLOCK:  # the voxel nearest the most promising centre gives an upper
                # bound; probing again at finer levels costs more than it prunes
                centre = origins[:, int(values.argmin())] + (size - 1) // 2
                voxel = torch.minimum(centre, upper).view(3, 1)
                best = min(best, float(fn(self.local_points(voxel)).min()))
            return best

        self.descend(fn, self.full_box, threshold)
        return best
