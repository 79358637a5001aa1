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
from fdif_core.domain import BOUND_SLACK, LIPSCHITZ_SAFETY, Domain, IndexBox
from fdif_core.mappers import Mapper, get_mapper
from fdif_core.nodes.base import SDF3
from fdif_core.nodes.fdif import Extrude
from fdif_core.shapes import compile_tree

MAX_POINTS = {"cpu": 1 << 21, "cuda": 1 << 23}  # voxels per kernel call, which bounds the
# temporaries (8 or 32 MB each in float32)
ONION_BLOCK = 4  # voxels per block edge of the onion minimum's first pass


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
class _Canvas:
    """What a batch of ``B`` samples accumulates while its objects are evaluated.

    ``layers`` holds ``L`` planes of ``B * V`` voxels (``V`` per grid), flat, then one trash
    voxel that padding writes to: an object's SDF goes to its plane at its sample's voxels,
    ``+inf`` where it was not evaluated. Each sample's objects get distinct planes, those whose
    mapper vanishes outside first, in object order, then its halo objects. ``winner`` holds,
    per voxel of the batch (and a trash voxel), the smallest paint key
    (:meth:`Composer.paint_key`) of the objects holding it. ``volumes`` collects each block's
    per-object voxel counts with ``f <= 0``, in ``order``.
    """

    layers: torch.Tensor
    winner: torch.Tensor
    planes: int
    plain: int  # planes of objects whose mapper vanishes outside; the halo planes follow
    slots: int  # most objects in a sample
    volumes: list[torch.Tensor]
    order: list[_Object]


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
        for obj in batched:
            obj.box = self._box(obj)
        self._evaluate_groups(batched, canvas)
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
        """Number the objects (sample, position, plane) and make the batch's canvas."""
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
        winner = torch.full((self._trash + 1,), self._no_key(slots), dtype=torch.int64,
                            device=self.device)
        return _Canvas(layers, winner, plain + halos, plain, slots, [], [])

    def _no_key(self, slots: int) -> int:
        """A paint key above every one :meth:`Composer.paint_key` gives (a volume is at most
        the grid's voxels)."""
        return (self._size + 1) * slots

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
        if evaluated is None:
            return
        index = (evaluated.index + obj.sample * self._size).view(1, -1)
        self._deposit(canvas, [obj], evaluated.values.view(1, -1), index,
                      index + obj.layer * self._trash)

    def _deposit(self, canvas: _Canvas, objects: list[_Object], values: torch.Tensor,
                 index: torch.Tensor, slots: torch.Tensor) -> None:
        """Add a block's values (one row per object; padding ``+inf`` at the trash voxels) to
        the canvas: volumes, paint keys and values in its planes."""
        count = len(objects)
        inside = values <= 0
        volumes = inside.sum(1)
        canvas.volumes.append(volumes)
        canvas.order.extend(objects)
        positions = self._upload(np.array([obj.position for obj in objects]), torch.int64)
        keys = self.composer.paint_key(volumes, positions, canvas.slots)
        none = torch.full((), self._no_key(canvas.slots), dtype=torch.int64, device=self.device)
        canvas.winner.scatter_reduce_(0, index.view(-1),
                                      torch.where(inside, keys.view(count, 1), none).view(-1),
                                      "amin")
        canvas.layers.index_put_((slots.view(-1),), values.view(-1))

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

    def _block(self, chunk: list[_Object], boxes: list[IndexBox], planes: int):
        """The boxes (one per object of ``chunk``) padded to their largest extents ``(dz, dy,
        dx)``: :meth:`_coordinates` of the ``(G, dz, dy, dx)`` block, whose padding voxels go
        to the trash voxels."""
        extents = [max(e) for e in zip(*map(_extents, boxes), strict=True)]  # dz, dy, dx
        lows = np.array([b[0::2] for b in boxes])  # z, y, x
        highs = np.array([b[1::2] for b in boxes])
        at = [lows[:, axis:axis + 1] + np.arange(extents[axis]) for axis in range(3)]
        padding = [at[axis] >= highs[:, axis:axis + 1] for axis in range(3)]
        return self._coordinates(chunk, at, padding, planes)

    def _coordinates(self, chunk: list[_Object], at: list[np.ndarray],
                     padding: list[np.ndarray] | None, planes: int):
        """Per row ``g`` (object ``chunk[g]``) the voxels ``(at[0][g, i], at[1][g, j],
        at[2][g, k])`` (grid indices along z, y, x, clamped to the grid): their local
        coordinates, shaped ``(G, dz, dy, dx)``, and their positions among the batch's voxels,
        in the world displacement table (whose trash is its last voxel, ``+inf``) and in the
        ``planes`` planes of values (:class:`_Canvas`). Voxels marked in ``padding`` go to the
        trash voxel of each.

        The tables are made on the host and sent in one copy. Local coordinates are bitwise
        those of :meth:`Domain.local_points`: per world axis ``A_ij (p_j - t_j)`` in float32
        (``-0.0`` where ``A_ij = 0``), summed x, y, z on the device.
        """
        count = len(chunk)
        matrices = np.stack([obj.domain.A for obj in chunk])
        a32 = matrices.astype(np.float32)
        t32 = np.stack([obj.domain.t for obj in chunk]).astype(np.float32)  # x, y, z
        table_end = (len(self._displacements) + 1) * self._size
        ends = (self._trash, table_end, planes * self._trash)  # the trash voxels
        floats, ints = [], []
        for j, axis in enumerate((2, 1, 0)):  # world x, y, z
            n = self.grid.shape[axis]
            offsets = self._axes[axis][np.minimum(at[axis], n - 1)] - t32[:, j:j + 1]
            products = a32[:, :, j:j + 1] * offsets[:, None, :]  # (G, 3, extent)
            products[matrices[:, :, j] == 0.0] = -0.0
            floats.append(products.ravel())
            part = at[axis] * math.prod(self.grid.shape[axis + 1:])
            if padding is not None:
                part[padding[axis]] = max(ends)  # past every end
            ints.append(part)
        z_part = ints.pop()
        offsets = np.array([[obj.sample * self._size, obj.displacement_row * self._size,
                             obj.sample * self._size + obj.layer * self._trash] for obj in chunk])
        ints += [z_part + offsets[:, i:i + 1] for i in range(3)]
        index_host = np.concatenate([part.ravel() for part in ints]).astype(np.int64)
        float_host = np.concatenate(floats).astype(np.float32)
        packed = np.concatenate([index_host.view(np.uint8), float_host.view(np.uint8)])
        table = self._upload(packed, torch.uint8)
        dz, dy, dx = (a.shape[1] for a in at)
        ix, iy, *iz = table[:index_host.nbytes].view(torch.int64).split(
            [count * dx, count * dy] + [count * dz] * 3)
        xy = ix.view(count, 1, 1, dx) + iy.view(count, 1, dy, 1)
        index, shift, slots = ((xy + part.view(count, dz, 1, 1)).clamp_max_(end)
                               for part, end in zip(iz, ends, strict=True))
        px, py, pz = table[index_host.nbytes:].view(torch.float32).split(
            [3 * count * dx, 3 * count * dy, 3 * count * dz])
        terms = (px.view(count, 3, 1, 1, dx).unbind(1), py.view(count, 3, 1, dy, 1).unbind(1),
                 pz.view(count, 3, dz, 1, 1).unbind(1))
        q = tuple(x + y + z for x, y, z in zip(*terms, strict=True))
        return q, index, shift, slots

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

    def _sections(self, objects: list[_Object], rows: torch.Tensor | None = None):
        """The cross-sections of onions ``objects`` (one signature) batched per object, or per
        entry of ``rows``."""
        nodes = [obj.sdf for obj in objects]
        for node in nodes:
            node.onion_t = 0.0  # not read by the cross-section; a number to batch
        return nodes[0].batched(nodes, self._gather(len(nodes), rows)).cross_section()

    def _fix_onions(self, objects: list[_Object]) -> None:
        """Each top-level onion's thickness from its cross-section's minimum over the grid.

        Exact, as :meth:`Domain.min_over_grid` (spec §5.6), in two batched passes. First one
        probe voxel per :data:`ONION_BLOCK`³ block of the grid: the smallest probe value is
        an upper bound of the minimum, and each probe value minus the cross-section's gradient
        bound times the probe's farthest distance to its block's voxels (plus the float32
        slack of :meth:`Domain._block_bounds`) is a lower bound over its block. Then every
        voxel of the blocks whose lower bound is at most that upper bound: the minimum is
        among them, and they are evaluated exactly as a full-grid evaluation would.
        """
        onions = [obj for obj in objects if obj.sdf.domain_dependent]
        if not onions:
            return
        groups = defaultdict(list)
        for obj in onions:
            groups[obj.signature].append(obj)
        groups = list(groups.values())
        size = ONION_BLOCK
        probes = [np.minimum(np.arange(0, n, size) + size // 2, n - 1) for n in self.grid.shape]
        reach = size // 2 * math.sqrt(sum(step * step for step in self.grid.step))
        survive = []
        for members in groups:
            count = len(members)
            q = self._coordinates(members, [np.tile(p, (count, 1)) for p in probes], None, 0)[0]
            values = self._sections(members)(q).view(count, -1)
            slack = np.array([LIPSCHITZ_SAFETY * reach * obj.domain.stretch *
                              obj.sdf.perp_lipschitz + BOUND_SLACK for obj in members])
            lower = (values - self._upload(slack).view(count, 1)).sub_(values.abs(), alpha=1e-4)
            survive.append(lower <= values.amin(1, keepdim=True))
        kept = torch.cat(survive).nonzero().cpu().numpy()  # (object, block) pairs, in order
        counts = [len(p) for p in probes]
        blocks = np.stack(np.unravel_index(kept[:, 1], counts), axis=1) * size  # z, y, x
        minima = torch.full((len(onions),), math.inf, device=self.device)
        first = 0
        for members in groups:
            mine = (kept[:, 0] >= first) & (kept[:, 0] < first + len(members))
            rows, origins = kept[mine, 0] - first, blocks[mine]
            per_call = max(1, self.max_points // size ** 3)
            for i in range(0, len(rows), per_call):
                part, start = rows[i:i + per_call], origins[i:i + per_call]
                at = [start[:, axis:axis + 1] + np.arange(size) for axis in range(3)]
                q = self._coordinates([members[r] for r in part], at, None, 0)[0]
                on_device = self._upload(part, torch.int64)
                values = self._sections(members, on_device)(q).view(len(part), -1).amin(1)
                minima.scatter_reduce_(0, on_device + first, values, "amin")
            first += len(members)
        ordered = [obj for members in groups for obj in members]
        for obj, deepest in zip(ordered, minima.tolist(), strict=True):
            obj.sdf.set_deepest(deepest)

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

    def _evaluate_groups(self, objects: list[_Object], canvas: _Canvas) -> None:
        groups = defaultdict(list)
        for obj in objects:
            if obj.box is not None:
                groups[obj.signature].append(obj)
        world = self._world_table()
        for members in groups.values():
            for chunk in self._chunks(members):
                q, index, shift, slots = self._block(chunk, [obj.box for obj in chunk],
                                                        canvas.planes)
                nodes = [obj.sdf for obj in chunk]
                values = nodes[0].batched(nodes, self._gather(len(chunk)))(q)
                values = values + world.index_select(0, shift.view(-1)).view(shift.shape)
                count = len(chunk)
                self._deposit(canvas, chunk, values.view(count, -1), index.view(count, -1),
                              slots.view(count, -1))

    # -- composition ---------------------------------------------------------------------------
    def _finish(self, objects: list[list[_Object]], canvas: _Canvas, seed: int,
                indices: list[int]) -> list[Sample]:
        """Images, labels and metadata of the batch from its canvas."""
        composer = self.composer
        shape = self.grid.shape
        batch = len(objects)
        image = self._intensity(objects, canvas)
        tasks = 1 if composer.vocab is None else len(composer.vocab)
        lut = np.zeros((batch, canvas.slots + 1, tasks), dtype=np.int64)  # position: ids
        for j, sample in enumerate(objects):
            for obj in sample:
                lut[j, obj.position] = [obj.plan.entry.id] if composer.vocab is None else \
                    task_ids(obj.plan, composer.vocab)
        winner = canvas.winner[:self._trash]  # the winning key's position; no object: the
        position = torch.where(winner == self._no_key(canvas.slots), canvas.slots,  # zero row
                               (canvas.slots - 1) - winner.remainder(canvas.slots))
        table = self._upload(lut, torch.int64).view(batch, -1)
        label = table.gather(1, position.view(batch, -1).mul_(tasks).unsqueeze(2).add(
            torch.arange(tasks, device=self.device)).view(batch, -1))
        quantized = _to_host(quantize(image).view(batch, *shape))
        label = _to_host(label.to(torch.int32).view(batch, *shape, tasks))
        counted = torch.cat(canvas.volumes).tolist() if canvas.volumes else []
        volumes = {id(obj): v for obj, v in zip(canvas.order, counted, strict=True)}
        if self.device.type == "cuda":
            torch.cuda.current_stream(self.device).synchronize()
        quantized, label = quantized.numpy(), label.numpy()
        out = []
        for j, sample in enumerate(objects):
            metadata = []
            for obj in sample:
                meta = obj.plan.metadata()
                meta["volume"] = volumes.get(id(obj), 0)
                metadata.append(meta)
            lab = label[j, ..., 0] if composer.vocab is None else label[j]
            out.append(Sample(quantized[j], np.ascontiguousarray(lab), metadata, seed, indices[j]))
        return out

    def _intensity(self, objects: list[list[_Object]], canvas: _Canvas) -> torch.Tensor:
        """The unquantized images, ``(B, V)``: each sample's plain planes mapped and summed in
        order, plus its halo planes mapped and summed in order, as :meth:`Composer.render`
        adds them (a voxel an object does not hold adds a zero, which changes no sum). Each
        mapper maps all the planes of its objects in one call."""
        batch = len(objects)
        planes = canvas.layers[:-1].view(-1, self._size)  # plane k of sample j: row k * B + j
        by_mapper = defaultdict(list)
        for sample in objects:
            for obj in sample:
                by_mapper[obj.mapper.key].append(obj.layer * batch + obj.sample)
        held = set()
        for key, rows in by_mapper.items():
            at = self._upload(np.array(rows), torch.int64)
            planes.index_copy_(0, at, get_mapper(key)(planes.index_select(0, at)))
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


def _volume(box: IndexBox) -> int:
    return math.prod(_extents(box))
