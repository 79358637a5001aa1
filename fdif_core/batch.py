"""Rendering many samples in one pass: objects of the same shape structure, from all samples of
a batch, share each kernel call (the GPU path).

:meth:`fdif_core.compose.Composer.render` renders one sample with a few thousand small tensor
operations per object (block culling), which suits a CPU. On a GPU each operation costs a
launch of several microseconds whatever its size, so :class:`BatchRenderer` evaluates densely
instead, many objects per call:

* every object of a batch whose shape tree is built from batchable nodes
  (:class:`~fdif_core.nodes.base.Batchable`) and whose displacement is none or a world field
  joins the group of its tree's signature; a group is evaluated in calls of at most
  ``max_points`` voxels, each node's numbers gathered per voxel from its object;
* an object is evaluated at every voxel of its bounding box, a halo (``inverse_cube``) object
  at every voxel of the grid;
* an onion's thickness comes from the minimum of its cross-section over the whole grid,
  evaluated densely for all onions of a group at once;
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
from dataclasses import dataclass

import numpy as np
import torch

from fdif_core.compose import HALO_NEAR, Composer, ObjectPlan, Sample, quantize, task_ids
from fdif_core.displacements import WorldDisplacement, get_displacement
from fdif_core.domain import Domain, IndexBox
from fdif_core.mappers import Mapper, get_mapper
from fdif_core.nodes.base import SDF3
from fdif_core.nodes.fdif import Extrude
from fdif_core.shapes import compile_tree

MAX_POINTS = {"cpu": 1 << 21, "cuda": 1 << 23}  # voxels per kernel call, which bounds the
# temporaries (8 or 32 MB each in float32)


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
    box: IndexBox | None = None
    index: torch.Tensor | None = None  # flat grid positions evaluated, C order within the box
    values: torch.Tensor | None = None  # the SDF there


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

    # -- public ------------------------------------------------------------------------------
    def sample(self, seed: int, indices: list[int]) -> list[Sample]:
        """Draw and render samples ``indices`` of the dataset with ``seed``."""
        plans = [self.composer.plan(seed, i) for i in indices]
        return self.render(plans, seed, indices)

    @torch.inference_mode()
    def render(self, plans: list[list[ObjectPlan]], seed: int, indices: list[int]) -> list[Sample]:
        """Render planned samples; sample ``j`` is ``plans[j]``, numbered ``indices[j]``."""
        objects = [[self._object(plan) for plan in sample] for sample in plans]
        flat = [obj for sample in objects for obj in sample]
        batched = [obj for obj in flat if obj.signature is not None]
        self._fix_onions(batched)
        for obj in batched:
            obj.box = self._box(obj)
        self._evaluate_groups(batched)
        for obj in flat:
            if obj.signature is None:
                self._evaluate_alone(obj)
        return self._compose(objects, seed, indices)

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

    def _box(self, obj: _Object) -> IndexBox | None:
        """The voxels to evaluate: the grid for a halo object, else the bounding box of
        ``f <= 0`` (as :func:`~fdif_core.objects.evaluate_object` finds it)."""
        if obj.mapper.has_halo:
            return obj.domain.full_box
        bounds = obj.sdf.bounds(obj.dip)
        return obj.domain.full_box if bounds is None else obj.domain.world_box(*bounds)

    def _evaluate_alone(self, obj: _Object) -> None:
        halo = obj.mapper.has_halo
        evaluated = self.composer.evaluate(obj.plan, full=halo, near=HALO_NEAR if halo else 0.0)
        if evaluated is not None:
            obj.index, obj.values = evaluated.index, evaluated.values

    # -- dense evaluation ----------------------------------------------------------------------
    def _upload(self, values: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``values`` on the device, without waiting for the device (pinned, non-blocking)."""
        host = torch.from_numpy(np.ascontiguousarray(values))
        if self.device.type == "cpu":
            return host.to(dtype)
        return host.to(dtype).pin_memory().to(self.device, non_blocking=True)

    def _chunks(self, objects: list[_Object]) -> list[list[_Object]]:
        """``objects`` by decreasing box volume, in runs whose padded block (every box grown to
        the run's largest extents) has at most ``max_points`` voxels, or one object."""
        chunks, current, extents = [], [], (0, 0, 0)
        for obj in sorted(objects, key=lambda o: -_volume(o.box)):
            grown = tuple(map(max, extents, _extents(obj.box)))
            if current and (len(current) + 1) * math.prod(grown) > self.max_points:
                chunks.append(current)
                current, grown = [], _extents(obj.box)
            current.append(obj)
            extents = grown
        if current:
            chunks.append(current)
        return chunks

    def _block(self, chunk: list[_Object], boxes: list[IndexBox]):
        """The boxes (one per object of ``chunk``) padded to their largest extents: per voxel of
        the ``(G, dz, dy, dx)`` block, its local coordinates and flat grid position (padding
        voxels repeat the grid's last index; they are never read back), and per object its
        row of the world displacement table.

        Local coordinates are bitwise those of :meth:`Domain.local_points`: per world axis a
        table of ``A_ij (p_j - t_j)`` (``-0.0`` where ``A_ij = 0``), summed x, y, z.
        """
        count = len(chunk)
        extents = [max(e) for e in zip(*map(_extents, boxes), strict=True)]  # dz, dy, dx
        host = np.empty((count, 16), dtype=np.float64)  # A, t, origins x y z, displacement row
        for g, (obj, b) in enumerate(zip(chunk, boxes, strict=True)):
            host[g, :9] = obj.domain.A.ravel()
            host[g, 9:12] = obj.domain.t
            host[g, 12:] = (b[4], b[2], b[0], obj.displacement_row)
        table = self._upload(host, torch.float64)
        zero = (table[:, :9] == 0.0).view(count, 3, 3)
        a32 = table[:, :9].float().view(count, 3, 3)
        t32 = table[:, 9:12].float()  # (G, 3) as x, y, z
        origins = table[:, 12:15].long()
        rows = table[:, 15].long()
        shapes = ((count, 1, 1, -1), (count, 1, -1, 1), (count, -1, 1, 1))
        q = index = None
        for j, axis in enumerate((2, 1, 0)):  # world x, y, z
            coords = self.grid.axis(axis, self.device)
            n, extent = coords.shape[0], extents[2 - j]
            at = (origins[:, j:j + 1] + torch.arange(extent, device=self.device)).clamp_max_(n - 1)
            offsets = coords.index_select(0, at.view(-1)).view(count, extent) - t32[:, j:j + 1]
            products = a32[:, :, j:j + 1] * offsets.unsqueeze(1)  # (G, 3, extent)
            products.masked_fill_(zero[:, :, j:j + 1], -0.0)
            terms = [term.view(shapes[j]) for term in products.unbind(1)]
            q = terms if q is None else [qi + term for qi, term in zip(q, terms, strict=True)]
            stride = self.grid.shape[2] if axis == 1 else \
                self.grid.shape[1] * self.grid.shape[2] if axis == 0 else 1
            part = (at * stride).view(shapes[j])
            index = part if index is None else index + part
        return tuple(q), index, rows

    def _gather(self, count: int):
        """``gather`` of :meth:`Batchable.batched` for a block of ``count`` objects: float64
        ``(G, ...)`` to float32 ``(..., G, 1, 1, 1)``."""

        def gather(values: np.ndarray) -> torch.Tensor:
            table = self._upload(np.moveaxis(values, 0, -1))
            return table.view(*table.shape[:-1], count, 1, 1, 1)

        return gather

    def _fix_onions(self, objects: list[_Object]) -> None:
        """Each top-level onion's thickness from its cross-section's minimum over the grid,
        all onions of a signature in shared calls over the whole grid."""
        onions = [obj for obj in objects if obj.sdf.domain_dependent]
        groups = defaultdict(list)
        for obj in onions:
            groups[obj.signature].append(obj)
        minima = []
        box = (0, self.grid.shape[0], 0, self.grid.shape[1], 0, self.grid.shape[2])
        for members in groups.values():
            per_call = max(1, self.max_points // _volume(box))
            for i in range(0, len(members), per_call):
                chunk = members[i:i + per_call]
                q, _, _ = self._block(chunk, [box] * len(chunk))
                nodes = [obj.sdf for obj in chunk]
                for node in nodes:
                    node.onion_t = 0.0  # not read by the cross-section; a number to batch
                section = nodes[0].batched(nodes, self._gather(len(chunk))).cross_section()
                minima.append(section(q).view(len(chunk), -1).amin(1))
        ordered = [obj for members in groups.values() for obj in members]
        if ordered:
            for obj, deepest in zip(ordered, torch.cat(minima).tolist(), strict=True):
                obj.sdf.set_deepest(deepest)

    def _world_table(self) -> torch.Tensor:
        """Row 0: ``-0.0`` (adding it changes no value); row i: world displacement i's field."""
        if self._table is None:
            rows = [torch.full(self.grid.shape, -0.0, device=self.device).view(-1)]
            for key in self._displacements:
                disp = get_displacement(key)
                rows.append(self.composer.cache.field(disp, self.grid, self.device).view(-1))
            self._table = torch.cat(rows)
        return self._table

    def _evaluate_groups(self, objects: list[_Object]) -> None:
        groups = defaultdict(list)
        for obj in objects:
            if obj.box is not None:
                groups[obj.signature].append(obj)
        world = self._world_table()
        size = self.grid.shape[0] * self.grid.shape[1] * self.grid.shape[2]
        for members in groups.values():
            for chunk in self._chunks(members):
                q, index, rows = self._block(chunk, [obj.box for obj in chunk])
                nodes = [obj.sdf for obj in chunk]
                values = nodes[0].batched(nodes, self._gather(len(chunk)))(q)
                shift = index + rows.view(-1, 1, 1, 1) * size
                values = values + world.index_select(0, shift.view(-1)).view(shift.shape)
                for g, obj in enumerate(chunk):
                    dz, dy, dx = _extents(obj.box)
                    obj.index = index[g, :dz, :dy, :dx].reshape(-1)
                    obj.values = values[g, :dz, :dy, :dx].reshape(-1)

    # -- composition ---------------------------------------------------------------------------
    def _compose(self, objects: list[list[_Object]], seed: int, indices: list[int]) -> list[Sample]:
        composer = self.composer
        shape = self.grid.shape
        size = shape[0] * shape[1] * shape[2]
        batch = len(objects)
        slots = max((len(sample) for sample in objects), default=0)
        image = torch.zeros((batch, size), dtype=torch.float32, device=self.device)
        halo = torch.zeros_like(image)
        winner = torch.full((batch, size), slots, dtype=torch.int64, device=self.device)
        inside = []
        for j, sample in enumerate(objects):
            for obj in sample:
                if obj.values is None:
                    inside.append(None)
                    continue
                target = halo[j] if obj.mapper.has_halo else image[j]
                target.index_add_(0, obj.index, obj.mapper(obj.values))
                inside.append((obj.values <= 0).sum())
        counted = [v for v in inside if v is not None]
        volumes = iter(torch.stack(counted).tolist() if counted else [])
        tasks = 1 if composer.vocab is None else len(composer.vocab)
        lut = np.zeros((batch, slots + 1, tasks), dtype=np.int64)
        samples_meta = []
        for j, sample in enumerate(objects):
            metadata, painted = [], []
            for obj in sample:
                meta = obj.plan.metadata()
                meta["volume"] = next(volumes) if obj.values is not None else 0
                metadata.append(meta)
                if meta["volume"]:
                    painted.append((meta["volume"], obj))
            order = composer.paint_order(painted)
            for position, (_, obj) in enumerate(order):
                key = len(order) - 1 - position  # the last painted has the smallest key
                lut[j, key] = [obj.plan.entry.id] if composer.vocab is None else \
                    task_ids(obj.plan, composer.vocab)
                mask = torch.where(obj.values <= 0, key, slots)
                winner[j].scatter_reduce_(0, obj.index, mask, "amin")
            samples_meta.append(metadata)
        table = self._upload(lut, torch.int64).view(batch, -1)
        label = table.gather(1, winner.mul_(tasks).unsqueeze(2).add(
            torch.arange(tasks, device=self.device)).view(batch, -1))
        quantized = _to_host(quantize(halo.add_(image)).view(batch, *shape))
        label = _to_host(label.to(torch.int32).view(batch, *shape, tasks))
        if self.device.type == "cuda":
            torch.cuda.current_stream(self.device).synchronize()
        quantized, label = quantized.numpy(), label.numpy()
        out = []
        for j in range(batch):
            lab = label[j, ..., 0] if composer.vocab is None else label[j]
            out.append(Sample(quantized[j], np.ascontiguousarray(lab), samples_meta[j], seed,
                              indices[j]))
        return out


def _to_host(tensor: torch.Tensor) -> torch.Tensor:
    """A host copy of ``tensor``; from a GPU into pinned memory, without waiting for it."""
    if tensor.device.type == "cpu":
        return tensor
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    return host.copy_(tensor, non_blocking=True)


def _extents(box: IndexBox) -> tuple[int, int, int]:
    z0, z1, y0, y1, x0, x1 = box
    return z1 - z0, y1 - y0, x1 - x0


def _volume(box: IndexBox) -> int:
    return math.prod(_extents(box))
