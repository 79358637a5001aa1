"""Rendering many samples in one pass: objects of the same shape structure, from all samples of
a batch, share each kernel call (the GPU path).

:meth:`fdif_core.compose.Composer.render` renders one sample with a few thousand small tensor
operations per object (block culling, refined level by level), which suits a CPU. On a GPU
each operation costs a launch of several microseconds whatever its size, so
:class:`BatchRenderer` makes few, large calls instead:

* every object of a batch whose shape tree is built from batchable nodes
  (:class:`~fdif_core.nodes.base.Batchable`) and whose displacement is none or a world field
  joins the group of its tree's signature; a group is evaluated in calls of at most
  ``max_points`` voxels, each node's numbers gathered per row from its object;
* an object is culled in one level: one probe voxel per :data:`CULL_BLOCK`³ block of its
  bounding box bounds the SDF over the block, and only the blocks that may hold ``f <= 0``
  are evaluated, all of a group's surviving blocks in shared calls;
* a halo (``inverse_cube``) object is evaluated at every voxel of the grid;
* an onion's thickness comes from the minimum of its cross-section over the whole grid, found
  the same way for all onions of a group at once;
* other objects (gradient noise, nodes without batch support) are evaluated one by one as
  :meth:`~fdif_core.compose.Composer.evaluate` does.

Every voxel value is computed with the same float32 operations in the same order as in
:meth:`Composer.render`, the image sums add objects in the same order, and labels follow the
same overlap policy, so a batch gives bitwise the samples :meth:`Composer.render` gives on the
same device.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from fdif_core.compose import HALO_NEAR, Composer, ObjectPlan, Sample, quantize, task_ids
from fdif_core.displacements import WorldDisplacement, get_displacement
from fdif_core.domain import (
    BOUND_SLACK,
    LIPSCHITZ_SAFETY,
    RELATIVE_SLACK,
    Domain,
    IndexBox,
)
from fdif_core.mappers import Mapper, get_mapper
from fdif_core.nodes.base import SDF3, Vec3
from fdif_core.nodes.fdif import Extrude
from fdif_core.shapes import compile_tree

MAX_POINTS = {"cpu": 1 << 21, "cuda": 1 << 23}  # voxels per kernel call, which bounds the
# temporaries (8 or 32 MB each in float32)
MAP_VOXELS = 1 << 26  # voxels mapped per call (bounds the mappers' temporaries: 256 MB each)
CULL_BLOCK = 4  # voxels per block edge of the one-level culling (objects and onion minima)


@dataclass
class _Object:
    """One object of a batch, with what its evaluation needs."""

    plan: ObjectPlan
    sdf: SDF3
    domain: Domain
    mapper: Mapper
    dip: float  # how far the displacement can lower the SDF
    displacement_row: int  # row of the world displacement table (0: none)
    signature: tuple | None  # None: evaluated one by one
    sample: int = 0  # position of its sample in the batch
    position: int = 0  # position in its sample
    layer: int = 0  # its plane of values (:class:`_Canvas`)
    box: IndexBox | None = None


@dataclass
class _Rows:
    """Per object of a chunk, its placement (``A``, ``t``), where its values go (sample, world
    displacement row, plane) and its axis tables: per grid axis (z, y, x), ``(3, objects, n)``
    float32 terms ``A_ij (p_j - t_j)`` of each local component ``i`` for every grid coordinate
    ``p_j`` of that axis (``-0.0`` where ``A_ij = 0``), as :meth:`Domain.local_points` sums
    them. :meth:`BatchRenderer._coordinates` and :meth:`BatchRenderer._block_coordinates`
    read them."""

    A: np.ndarray  # (N, 3, 3) float64  # noqa: N815 - the placement's name
    t: np.ndarray  # (N, 3) float64, x y z
    sample: np.ndarray  # (N,) int64
    displacement_row: np.ndarray
    layer: np.ndarray
    axes: list[np.ndarray]

    @classmethod
    def of(cls, objects: list[_Object], grid_axes: list[np.ndarray]) -> _Rows:
        """One row per object; ``grid_axes``: the grid's coordinates along z, y, x."""
        matrices = np.stack([obj.domain.A for obj in objects])
        shifts = np.stack([obj.domain.t for obj in objects])
        a32, t32 = matrices.astype(np.float32), shifts.astype(np.float32)
        axes = [None, None, None]
        for j, axis in enumerate((2, 1, 0)):  # world x, y, z
            products = a32[:, :, j, None] * (grid_axes[axis] - t32[:, j, None])[:, None, :]
            products[matrices[:, :, j] == 0.0] = -0.0  # (objects, 3, n)
            axes[axis] = products.transpose(1, 0, 2)
        return cls(matrices, shifts,
                   *(np.array([getattr(obj, name) for obj in objects], dtype=np.int64)
                     for name in ("sample", "displacement_row", "layer")), axes)


@dataclass
class _Canvas:
    """The batch's planes of values: ``L`` planes of ``B * V`` voxels (``V`` per grid), flat,
    then one trash voxel that padding writes to. An object's SDF goes to its plane at its
    sample's voxels, ``+inf`` where it was not evaluated. Each sample's objects get distinct
    planes: those whose mapper vanishes outside first, in object order, then its halo
    objects."""

    layers: torch.Tensor
    planes: int
    plain: int  # planes of objects whose mapper vanishes outside; the halo planes follow
    slots: int  # most objects in a sample (at least 1)


class BatchRenderer:
    """Renders batches of planned samples of a :class:`~fdif_core.compose.Composer`.

    Parameters
    ----------
    composer : Composer
        Gives the preset, grid, device, class table and displacement fields.
    max_points : int, optional
        Voxels per kernel call (default :data:`MAX_POINTS` of the device type).
    """

    def __init__(self, composer: Composer, max_points: int | None = None) -> None:
        self.composer = composer
        self.grid = composer.grid
        self.device = composer.device
        self.max_points = max_points or MAX_POINTS.get(self.device.type, MAX_POINTS["cpu"])
        self._displacements: list[str] = []  # world displacement keys, row i + 1
        self._table: torch.Tensor | None = None
        self._axes = [self.grid.axis(i).numpy() for i in range(3)]  # z, y, x on the host
        self._size = math.prod(self.grid.shape)
        self._trash = 0  # voxels of the batch being rendered: where its padding is sent
        # a probe at most CULL_BLOCK // 2 voxels from every voxel of its block, per axis
        self._reach = CULL_BLOCK // 2 * math.sqrt(sum(step * step for step in self.grid.step))
        shape = self.grid.shape
        self._steps = torch.arange(CULL_BLOCK, device=self.device).view(1, 1, -1)
        self._last = torch.tensor(shape, device=self.device).view(1, 3, 1) - 1
        self._strides = torch.tensor([shape[1] * shape[2], shape[2], 1],
                                     device=self.device).view(1, 3, 1)
        self._ends_key: tuple[int, int, int] | None = None  # what _ends_table was made for
        self._ends_table: torch.Tensor | None = None

    # -- public ------------------------------------------------------------------------------
    def sample(self, seed: int, indices: list[int]) -> list[Sample]:
        """Draw and render samples ``indices`` of the dataset with ``seed``."""
        plans = [self.composer.plan(seed, i) for i in indices]
        return self.render(plans, seed, indices)

    @torch.inference_mode()
    def render(self, plans: list[list[ObjectPlan]], seed: int, indices: list[int]) -> list[Sample]:
        """Render planned samples; sample ``j`` is ``plans[j]``, numbered ``indices[j]``."""
        objects = [[self._object(plan) for plan in sample] for sample in plans]
        self._trash = len(plans) * self._size
        canvas = self._canvas(objects)
        flat = [obj for sample in objects for obj in sample]
        batched = [obj for obj in flat if obj.signature is not None]
        self._fix_onions(batched)
        groups = defaultdict(list)
        for obj in batched:
            obj.box = self._box(obj)
            if obj.box is not None:
                groups[obj.signature, obj.mapper.has_halo].append(obj)
        world = self._world_table()
        culled = []
        for (_, halo), members in groups.items():
            if halo:
                self._evaluate_dense(members, canvas, world)
            else:
                culled.append(members)
        self._evaluate_culled(culled, canvas, world)
        for obj in flat:
            if obj.signature is None:
                self._evaluate_alone(obj, canvas)
        return self._finish(objects, canvas, seed, indices)

    # -- objects -----------------------------------------------------------------------------
    def _object(self, plan: ObjectPlan) -> _Object:
        sdf = compile_tree(plan.tree)
        domain = Domain(self.grid, plan.placement.world_to_local(), plan.placement.translation,
                        self.device)
        disp = get_displacement(plan.displacement)
        signature = sdf.batch_signature()
        if disp is not None and not isinstance(disp, WorldDisplacement):
            signature = None
        if sdf.domain_dependent and not (isinstance(sdf, Extrude) and
                                         not sdf.profile2d.domain_dependent):
            signature = None  # only a top-level onion is fixed in batch
        dip = max(-disp.lower_bound(self.grid), 0.0) if disp is not None else 0.0
        row = 0
        if isinstance(disp, WorldDisplacement):
            if disp.key not in self._displacements:
                self._displacements.append(disp.key)
                self._table = None
            row = self._displacements.index(disp.key) + 1
        return _Object(plan, sdf, domain, get_mapper(plan.mapper), dip, row, signature)

    def _canvas(self, objects: list[list[_Object]]) -> _Canvas:
        """Number the objects (sample, position, plane) and make the batch's planes."""
        plain = halos = 0
        for j, sample in enumerate(objects):
            counts = [0, 0]
            for position, obj in enumerate(sample):
                obj.sample, obj.position = j, position
                obj.layer = counts[obj.mapper.has_halo]
                counts[obj.mapper.has_halo] += 1
            plain, halos = max(plain, counts[0]), max(halos, counts[1])
        for sample in objects:
            for obj in sample:
                obj.layer += plain if obj.mapper.has_halo else 0
        slots = max([1, *(len(sample) for sample in objects)])
        layers = torch.full(((plain + halos) * self._trash + 1,), math.inf, device=self.device)
        return _Canvas(layers, plain + halos, plain, slots)

    def _box(self, obj: _Object) -> IndexBox | None:
        """The voxels to evaluate: the grid for a halo object, else the bounding box of
        ``f <= 0`` (as :func:`~fdif_core.objects.evaluate_object` finds it)."""
        if obj.mapper.has_halo:
            return obj.domain.full_box
        bounds = obj.sdf.bounds(obj.dip)
        return obj.domain.full_box if bounds is None else obj.domain.world_box(*bounds)

    def _evaluate_alone(self, obj: _Object, canvas: _Canvas) -> None:
        halo = obj.mapper.has_halo
        evaluated = self.composer.evaluate(obj.plan, full=halo, near=HALO_NEAR if halo else 0.0)
        if evaluated is not None:
            offset = obj.sample * self._size + obj.layer * self._trash
            canvas.layers.index_put_((evaluated.index + offset,), evaluated.values)

    # -- coordinates and tables ----------------------------------------------------------------
    def _upload(self, values: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``values`` on the device, without waiting for the device (pinned, non-blocking)."""
        host = torch.from_numpy(np.ascontiguousarray(values))
        if self.device.type == "cpu":
            return host.to(dtype)
        return host.to(dtype).pin_memory().to(self.device, non_blocking=True)

    def _coordinates(self, rows: _Rows, at: list[np.ndarray], padding: list[np.ndarray] | None,
                     planes: int | None = None):
        """Per row ``g`` (object ``g`` of ``rows``) the voxels ``(at[0][g, i], at[1][g, j],
        at[2][g, k])`` (grid indices along z, y, x, clamped to the grid): their local
        coordinates, shaped ``(G, dz, dy, dx)``; with ``planes``, also their positions in the
        world displacement table (whose last voxel is ``+inf``) and in the ``planes`` planes of
        the canvas (:class:`_Canvas`), as one ``(2, G, dz, dy, dx)`` tensor, voxels marked in
        ``padding`` going to the last voxel of each.

        The tables are made on the host and sent in one copy. Local coordinates are bitwise
        those of :meth:`Domain.local_points`: per world axis ``A_ij (p_j - t_j)`` in float32
        (``-0.0`` where ``A_ij = 0``), summed x, y, z on the device.
        """
        count = len(at[0])
        which = np.arange(count)
        floats, ints = [], []
        tables = rows.axes
        for axis in (2, 1, 0):  # world x, y, z
            n, products = self.grid.shape[axis], tables[axis]
            voxels = which[:, None] * n + np.minimum(at[axis], n - 1)
            floats.append(products.reshape(3, -1)[:, voxels].ravel())
            if planes is not None:
                part = at[axis] * math.prod(self.grid.shape[axis + 1:])
                if padding is not None:
                    part[padding[axis]] = self._past_ends(planes)
                ints.append(part)
        float_host = np.concatenate(floats)
        if planes is not None:
            z_part = ints.pop()
            starts = (rows.displacement_row * self._size,
                      rows.sample * self._size + rows.layer * self._trash)
            ints.append(np.stack([z_part + start[:, None] for start in starts]))
            int_host = np.concatenate([part.ravel() for part in ints]).astype(np.int64)
            packed = np.concatenate([int_host.view(np.uint8), float_host.view(np.uint8)])
        else:
            int_host, packed = np.zeros(0, dtype=np.int64), float_host.view(np.uint8)
        table = self._upload(packed, torch.uint8)
        dz, dy, dx = (a.shape[1] for a in at)
        px, py, pz = table[int_host.nbytes:].view(torch.float32).split(
            [3 * count * dx, 3 * count * dy, 3 * count * dz])
        q = (px.view(3, count, 1, 1, dx) + py.view(3, count, 1, dy, 1)
             + pz.view(3, count, dz, 1, 1)).unbind(0)
        if planes is None:
            return q
        ix, iy, iz = table[:int_host.nbytes].view(torch.int64).split(
            [count * dx, count * dy, 2 * count * dz])
        positions = (ix.view(count, 1, 1, dx) + iy.view(count, 1, dy, 1)).add(
            iz.view(2, count, dz, 1, 1)).clamp_max_(self._ends(planes))
        return q, positions

    def _ends(self, planes: int) -> torch.Tensor:
        """The last voxels of the world displacement table and of ``planes`` planes of the
        batch being rendered, shaped ``(2, 1, 1, 1, 1)``."""
        key = (len(self._displacements), planes, self._trash)
        if self._ends_key != key:
            self._ends_key = key
            ends = np.array([(key[0] + 1) * self._size, planes * self._trash])
            self._ends_table = self._upload(ends, torch.int64).view(2, 1, 1, 1, 1)
        return self._ends_table

    def _past_ends(self, planes: int) -> int:
        """A position part that puts any voxel past both of :meth:`_ends` (padding)."""
        return self._trash * (planes + 1) + self._size * (len(self._displacements) + 1)

    def _block_coordinates(self, rows: _Rows, which: torch.Tensor, origins: torch.Tensor,
                           boxes: np.ndarray | None = None, planes: int | None = None):
        """:meth:`_coordinates` for blocks of :data:`CULL_BLOCK`³ voxels: block ``i`` at
        ``origins[i]`` (z, y, x) of object ``which[i]`` of ``rows`` (both on the device), with
        voxels outside the object's box (``boxes``, one row per object) as padding. Only
        per-object tables go to the device, where the blocks are expanded, so the host's work
        does not grow with the blocks. Returns the coordinates and the positions (with
        ``planes``, else ``None``)."""
        size, count, objects = CULL_BLOCK, len(which), len(rows.A)
        longest = max(self.grid.shape)
        tables = np.zeros((3, 3, objects, longest), dtype=np.float32)  # comp, axis, object, i
        for axis, products in enumerate(rows.axes):
            tables[:, axis, :, :products.shape[2]] = products
        per_object = np.zeros((objects, 8), dtype=np.int64)  # box lo, hi (z y x), starts
        if planes is not None:
            per_object[:, 0:3], per_object[:, 3:6] = boxes[:, 0::2], boxes[:, 1::2]
            per_object[:, 6] = rows.displacement_row * self._size
            per_object[:, 7] = rows.sample * self._size + rows.layer * self._trash
        ints = np.concatenate([per_object.ravel(), np.arange(3) * objects * longest])
        table = self._upload(np.concatenate([ints.view(np.uint8), tables.ravel().view(np.uint8)]),
                             torch.uint8)
        per_object, axis_base = table[:ints.nbytes].view(torch.int64).split([8 * objects, 3])
        at = origins.unsqueeze(2) + self._steps  # (N, 3, size) grid indices along z, y, x
        index = torch.minimum(at, self._last).add_((which * longest).view(count, 1, 1)) \
            .add_(axis_base.view(1, 3, 1))
        terms = table[ints.nbytes:].view(torch.float32).view(3, -1) \
            .index_select(1, index.view(-1)).view(3, count, 3, size)
        q = (terms[:, :, 2, None, None, :] + terms[:, :, 1, None, :, None]
             + terms[:, :, 0, :, None, None]).unbind(0)
        if planes is None:
            return q, None
        mine = per_object.view(objects, 8).index_select(0, which)  # (N, 8)
        outside = (at < mine[:, 0:3, None]).logical_or_(at >= mine[:, 3:6, None])
        part = (at * self._strides).masked_fill_(outside, self._past_ends(planes))
        z_part = part[:, 0].unsqueeze(0) + mine[:, 6:8].T.unsqueeze(2)  # (2, N, size)
        positions = (part[:, 2, None, None, :] + part[:, 1, None, :, None]) \
            .add(z_part.view(2, count, size, 1, 1)).clamp_max_(self._ends(planes))
        return q, positions

    def _gather(self, count: int, rows: torch.Tensor | None = None):
        """``gather`` of :meth:`Batchable.batched` for ``count`` objects: float64 ``(G, ...)``
        to float32 ``(..., G, 1, 1, 1)``; with ``rows`` (device indices of objects), one row
        per entry of ``rows`` instead."""

        def gather(values: np.ndarray) -> torch.Tensor:
            table = self._upload(np.moveaxis(values, 0, -1))
            if rows is not None:
                table = table.index_select(-1, rows)
            return table.view(*table.shape[:-1], -1, 1, 1, 1)

        return gather

    def _batched(self, objects: list[_Object], rows: torch.Tensor | None = None) -> SDF3:
        """The SDF of ``objects`` (one signature) batched per object, or per entry of
        ``rows``."""
        nodes = [obj.sdf for obj in objects]
        return nodes[0].batched(nodes, self._gather(len(nodes), rows))

    def _chunks(self, objects: list[_Object], extents: Callable[[_Object], tuple[int, ...]],
                limit: int) -> list[list[_Object]]:
        """``objects`` by decreasing ``extents`` volume, in runs whose padded block (every
        extent grown to the run's largest) has at most ``limit`` voxels, or one object."""
        chunks, current, largest = [], [], ()
        for obj in sorted(objects, key=lambda o: -math.prod(extents(o))):
            grown = tuple(map(max, largest, extents(obj))) if current else extents(obj)
            if current and (len(current) + 1) * math.prod(grown) > limit:
                chunks.append(current)
                current, grown = [], extents(obj)
            current.append(obj)
            largest = grown
        if current:
            chunks.append(current)
        return chunks

    # -- culling ---------------------------------------------------------------------------
    def _probes(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray],
                                                   list[np.ndarray]]:
        """The grid-aligned :data:`CULL_BLOCK`³ blocks covering each box (``(G, 6)``): per
        axis (z, y, x) the first block's start and the block counts, and per row a probe voxel
        index per block (its middle, clamped to the grid; rows padded to the largest count)
        with the padding marked."""
        size = CULL_BLOCK
        first = boxes[:, 0::2] // size * size
        counts = -(-(boxes[:, 1::2] - first) // size)
        at, padding = [], []
        for axis in range(3):
            steps = np.arange(counts[:, axis].max()) * size
            at.append(np.minimum(first[:, axis:axis + 1] + steps + size // 2,
                                 self.grid.shape[axis] - 1))
            padding.append(steps >= (counts[:, axis:axis + 1] * size))
        return first, counts, at, padding

    def _lower(self, values: torch.Tensor, margins: list[float]) -> torch.Tensor:
        """Lower bounds over the probes' blocks: probe ``values`` (one row per object) minus
        the row's margin (:meth:`_margin`) and the float32 slack of
        :meth:`Domain._block_bounds`."""
        shape = (len(margins),) + (1,) * (values.dim() - 1)
        return (values - self._upload(np.array(margins)).view(shape)) \
            .sub_(values.abs(), alpha=RELATIVE_SLACK)

    def _survivors(self, values: torch.Tensor, margins: list[float],
                   padding: list[np.ndarray]) -> torch.Tensor:
        """Which probe blocks may hold a value ``<= 0``: those whose lower bound
        (:meth:`_lower` of probe ``values`` ``(G, pz, py, px)``, the margins including the
        displacement's dip) is not above 0; padding probes never survive, a NaN bound keeps
        its block."""
        lower = self._lower(values, margins)
        valid = ~(padding[0][:, :, None, None] | padding[1][:, None, :, None]
                  | padding[2][:, None, None, :])
        return (lower > 0).logical_not_().logical_and_(self._upload(valid, torch.bool))

    def _kept(self, masks: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per mask, the flat positions of its true entries (on the device; one host sync for
        all)."""
        sizes = np.cumsum([0, *(mask.numel() for mask in masks)])
        kept = torch.cat([mask.view(-1) for mask in masks]).nonzero().view(-1)
        ends = torch.searchsorted(kept, self._upload(sizes, torch.int64)).tolist()
        return [kept[ends[i]:ends[i + 1]] - int(sizes[i]) for i in range(len(masks))]

    def _margin(self, obj: _Object, lipschitz: float, level: float) -> float:
        """How far below its probe a function with gradient bound ``lipschitz`` (local) may
        go within a block, plus ``level``."""
        return LIPSCHITZ_SAFETY * self._reach * obj.domain.stretch * lipschitz + BOUND_SLACK \
            + level

    def _fix_onions(self, objects: list[_Object]) -> None:
        """Each top-level onion's thickness from its cross-section's minimum over the grid.

        Exact, as :meth:`Domain.min_over_grid` (spec §5.6): the smallest probe value
        (:meth:`_probes` over the whole grid) is an upper bound of the minimum and each block
        whose lower bound is above it is left out; every voxel of the other blocks is
        evaluated exactly as a full-grid evaluation would, and the minimum is among them.
        """
        onions = [obj for obj in objects if obj.sdf.domain_dependent]
        if not onions:
            return
        for obj in onions:
            obj.sdf.onion_t = 0.0  # not read by the cross-section; a number to batch
        groups = defaultdict(list)
        for obj in onions:
            groups[obj.signature].append(obj)
        groups = list(groups.values())
        full = np.array([[0, n] for n in self.grid.shape]).ravel()
        _, counts, at, _ = self._probes(full[None, :])
        survive, tables = [], []
        for members in groups:
            count = len(members)
            tables.append(_Rows.of(members, self._axes))
            q = self._coordinates(tables[-1], [np.tile(a, (count, 1)) for a in at], None)
            values = self._batched(members).cross_section()(q).view(count, -1)
            margins = [self._margin(obj, obj.sdf.perp_lipschitz, 0.0) for obj in members]
            survive.append(self._lower(values, margins) <= values.amin(1, keepdim=True))
        minima = torch.full((len(onions),), math.inf, device=self.device)
        start = 0
        for members, table, mask, kept in zip(groups, tables, survive, self._kept(survive),
                                              strict=True):
            rows, *blocks = torch.unravel_index(kept, (len(mask), *counts[0].tolist()))
            origins = torch.stack(blocks, 1).mul_(CULL_BLOCK)
            self._onion_blocks(members, table, rows, origins, minima[start:])
            start += len(members)
        ordered = [obj for members in groups for obj in members]
        for obj, deepest in zip(ordered, minima.tolist(), strict=True):
            obj.sdf.set_deepest(deepest)

    def _onion_blocks(self, members: list[_Object], table: _Rows, rows: torch.Tensor,
                      origins: torch.Tensor, minima: torch.Tensor) -> None:
        """Lower ``minima[i]`` to the smallest cross-section value of onion ``members[i]`` over
        the blocks at ``origins`` (one per entry of ``rows``); voxels past the grid repeat its
        last ones."""
        per_call = max(1, self.max_points // CULL_BLOCK ** 3)
        for i in range(0, len(rows), per_call):
            part, start = rows[i:i + per_call], origins[i:i + per_call]
            q, _ = self._block_coordinates(table, part, start)
            values = self._batched(members, part).cross_section()(q)
            minima.scatter_reduce_(0, part, values.view(len(part), -1).amin(1), "amin")

    # -- evaluation ----------------------------------------------------------------------------
    def _world_table(self) -> torch.Tensor:
        """Row 0: ``-0.0`` (adding it changes no value); row i: world displacement i's field;
        then one ``+inf`` (padding voxels, which it moves out of every object)."""
        if self._table is None:
            rows = [torch.full(self.grid.shape, -0.0, device=self.device).view(-1)]
            for key in self._displacements:
                disp = get_displacement(key)
                rows.append(self.composer.cache.field(disp, self.grid, self.device).view(-1))
            rows.append(torch.full((1,), math.inf, device=self.device))
            self._table = torch.cat(rows)
        return self._table

    def _deposit(self, canvas: _Canvas, sdf: SDF3, q: Vec3, positions: torch.Tensor,
                 world: torch.Tensor) -> None:
        """Evaluate ``sdf`` at ``q``, add the world displacement and put the values into the
        canvas (``positions``: see :meth:`_coordinates`)."""
        shift, slots = positions.unbind(0)
        values = sdf(q) + world.index_select(0, shift.reshape(-1)).view(shift.shape)
        canvas.layers.index_put_((slots.reshape(-1),), values.view(-1))

    def _evaluate_dense(self, members: list[_Object], canvas: _Canvas,
                        world: torch.Tensor) -> None:
        """Every voxel of each object's box, boxes padded to their largest extents."""
        for chunk in self._chunks(members, lambda o: _extents(o.box), self.max_points):
            boxes = np.array([obj.box for obj in chunk])
            extents = (boxes[:, 1::2] - boxes[:, 0::2]).max(0)
            at = [boxes[:, 2 * axis:2 * axis + 1] + np.arange(extents[axis]) for axis in range(3)]
            padding = [at[axis] >= boxes[:, 2 * axis + 1:2 * axis + 2] for axis in range(3)]
            q, positions = self._coordinates(_Rows.of(chunk, self._axes), at, padding,
                                                canvas.planes)
            self._deposit(canvas, self._batched(chunk), q, positions, world)

    def _evaluate_culled(self, groups: list[list[_Object]], canvas: _Canvas,
                         world: torch.Tensor) -> None:
        """The voxels of each object's box in the blocks that may hold ``f <= 0``: a probe per
        block (:meth:`_probes`) bounds the SDF over it, the displacement lowering it by at
        most the object's dip; all groups' probes first, then one look at the survivors."""
        limit = self.max_points * CULL_BLOCK ** 3  # probes per call
        chunks, probes, survive = [], [], []
        for members in groups:
            for chunk in self._chunks(members, lambda o: _extents(o.box), limit):
                boxes = np.array([obj.box for obj in chunk])
                first, counts, at, padding = self._probes(boxes)
                table = _Rows.of(chunk, self._axes)
                q = self._coordinates(table, at, None)
                margins = [self._margin(obj, obj.sdf.lipschitz, obj.dip) for obj in chunk]
                survive.append(self._survivors(self._batched(chunk)(q), margins, padding))
                chunks.append(chunk)
                probes.append((boxes, first, table))
        if not chunks:
            return
        for chunk, (boxes, first, table), mask, kept in zip(chunks, probes, survive,
                                                            self._kept(survive), strict=True):
            rows, *blocks = torch.unravel_index(kept, tuple(mask.shape))
            origins = torch.stack(blocks, 1).mul_(CULL_BLOCK).add_(
                self._upload(first, torch.int64).index_select(0, rows))
            self._culled_blocks(chunk, table, boxes, rows, origins, canvas, world)

    def _culled_blocks(self, chunk: list[_Object], table: _Rows, boxes: np.ndarray,
                       rows: torch.Tensor, origins: torch.Tensor, canvas: _Canvas,
                       world: torch.Tensor) -> None:
        """Evaluate the blocks at ``origins`` (z, y, x), block ``i`` of object ``chunk[rows[i]]``
        whose box is ``boxes[rows[i]]``; voxels outside the box are padding."""
        per_call = max(1, self.max_points // CULL_BLOCK ** 3)
        for i in range(0, len(rows), per_call):
            part, start = rows[i:i + per_call], origins[i:i + per_call]
            q, positions = self._block_coordinates(table, part, start, boxes, canvas.planes)
            self._deposit(canvas, self._batched(chunk, part), q, positions, world)

    # -- composition ---------------------------------------------------------------------------
    def _finish(self, objects: list[list[_Object]], canvas: _Canvas, seed: int,
                indices: list[int]) -> list[Sample]:
        """Images, labels and metadata of the batch from its planes."""
        composer = self.composer
        shape = self.grid.shape
        batch = len(objects)
        planes = canvas.layers[:-1].view(canvas.planes, batch, self._size)
        # plane by plane: a reduction over all planes at once may convert them all to int64
        volumes = torch.stack([(plane <= 0).sum(1) for plane in planes]).tolist()
        slots = canvas.slots
        no_key = (self._size + 1) * slots  # above every key (a volume is at most the grid's)
        keys = np.full((canvas.planes, batch), no_key, dtype=np.int64)
        tasks = 1 if composer.vocab is None else len(composer.vocab)
        lut = np.zeros((batch, slots + 1, tasks), dtype=np.int64)  # position: ids
        metadata = []
        for j, sample in enumerate(objects):
            metadata.append([])
            for obj in sample:
                volume = volumes[obj.layer][j]
                meta = obj.plan.metadata()
                meta["volume"] = volume
                metadata[-1].append(meta)
                keys[obj.layer, j] = composer.paint_key(volume, obj.position, slots)
                lut[j, obj.position] = [obj.plan.entry.id] if composer.vocab is None else \
                    task_ids(obj.plan, composer.vocab)
        key_type = torch.int32 if no_key < 2**31 else torch.int64  # half the traffic if it fits
        winner = torch.full((batch, self._size), no_key, dtype=key_type, device=self.device)
        none = torch.full((), no_key, dtype=key_type, device=self.device)
        for plane, key in zip(planes, self._upload(keys, key_type), strict=True):
            torch.minimum(winner, torch.where(plane <= 0, key.view(batch, 1), none), out=winner)
        # the winning key's position; no object: the all-zero last row
        position = torch.where(winner == no_key, slots,
                               (slots - 1) - winner.remainder(slots)).long()
        table = self._upload(lut, torch.int64).view(batch, -1)
        label = table.gather(1, position.mul_(tasks).unsqueeze(2).add(
            torch.arange(tasks, device=self.device)).view(batch, -1))
        image = self._intensity(objects, canvas)
        quantized = _to_host(quantize(image).view(batch, *shape))
        label = _to_host(label.to(torch.int32).view(batch, *shape, tasks))
        if self.device.type == "cuda":
            torch.cuda.current_stream(self.device).synchronize()
        quantized, label = quantized.numpy(), label.numpy()
        out = []
        for j in range(batch):
            lab = label[j, ..., 0] if composer.vocab is None else label[j]
            out.append(Sample(quantized[j], np.ascontiguousarray(lab), metadata[j], seed,
                              indices[j]))
        return out

    def _intensity(self, objects: list[list[_Object]], canvas: _Canvas) -> torch.Tensor:
        """The unquantized images, ``(B, V)``: each sample's plain planes mapped and summed in
        order, plus its halo planes mapped and summed in order, as :meth:`Composer.render`
        adds them (a voxel an object does not hold adds a zero, which changes no sum). Each
        mapper maps the planes of its objects in calls of :data:`MAP_VOXELS` voxels."""
        batch = len(objects)
        planes = canvas.layers[:-1].view(-1, self._size)  # plane k of sample j: row k * B + j
        by_mapper = defaultdict(list)
        for sample in objects:
            for obj in sample:
                by_mapper[obj.mapper.key].append(obj.layer * batch + obj.sample)
        held = set()
        per_call = max(1, MAP_VOXELS // self._size)  # planes mapped at once
        for key, rows in by_mapper.items():
            mapper = get_mapper(key)
            on_device = self._upload(np.array(rows), torch.int64)
            for at in on_device.split(per_call):
                planes.index_copy_(0, at, mapper(planes.index_select(0, at)))
            held.update(rows)
        empty = [row for row in range(len(planes)) if row not in held]
        if empty:
            planes.index_fill_(0, self._upload(np.array(empty), torch.int64), 0.0)
        stacked = planes.view(-1, batch, self._size)
        image = torch.zeros((batch, self._size), dtype=torch.float32, device=self.device)
        for k in range(canvas.plain):
            image += stacked[k]
        halo = torch.zeros_like(image)
        for k in range(canvas.plain, len(stacked)):
            halo += stacked[k]
        return halo.add_(image)


def _to_host(tensor: torch.Tensor) -> torch.Tensor:
    """A host copy of ``tensor``; from a GPU into pinned memory, without waiting for it."""
    if tensor.device.type == "cpu":
        return tensor
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    return host.copy_(tensor, non_blocking=True)


def _extents(box: IndexBox) -> tuple[int, int, int]:
    z0, z1, y0, y1, x0, x1 = box
    return z1 - z0, y1 - y0, x1 - x0
