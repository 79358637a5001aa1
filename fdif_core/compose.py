"""Composing one synthetic sample: K placed objects into an image and a label volume (spec §11).

Sample ``i`` of a dataset depends only on ``(preset, seed, i)``: the sample's draws (object
count, class ids) come from ``SeedSequence(seed, spawn_key=(i,))`` and object ``k``'s draws
(placement, shape parameters, displacement, mapper, noise seed) from
``SeedSequence(seed, spawn_key=(i, k))``, so nothing depends on other samples, on worker
count or on generation order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from fdif_core.displacements import DISPLACEMENTS, NONE, get_displacement
from fdif_core.domain import BLOCK, flat_nonzero
from fdif_core.grid import Grid
from fdif_core.mappers import PEAK, get_mapper
from fdif_core.nodes.mapper import class_mapper
from fdif_core.objects import DisplacementCache, Evaluated, evaluate_object
from fdif_core.placement import Placement, sample_placement
from fdif_core.presets import ClassEntry, LoadedPreset, Preset, class_table
from fdif_core.shapes import sample_class

HALO_NEAR = 8.0  # halos are evaluated exactly where f <= HALO_NEAR
FLOAT_SLACK = 1e-3  # covers float32 rounding of sums below 128 (ulp 7.6e-6 at 128)


def sample_rng(seed: int, index: int, *obj: int) -> np.random.Generator:
    """The generator of sample ``index`` (no ``obj``) or of object ``obj[0]`` in it."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index, *obj))))


@dataclass
class ObjectPlan:
    """Everything drawn for one object; rendering it needs no randomness."""

    entry: ClassEntry
    params: dict[str, float]
    tree: dict[str, Any]
    placement: Placement
    displacement: str
    mapper: str
    noise_seed: int

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description (class, parameters, transform, mapper, displacement)."""
        return {"class_id": self.entry.id, "class": self.entry.display_name,
                "shape": self.entry.shape.name, "params": self.params, "tree": self.tree,
                "placement": self.placement.to_dict(), "displacement": self.displacement,
                "mapper": self.mapper, "noise_seed": self.noise_seed}


@dataclass
class Sample:
    """One composed sample."""

    image: np.ndarray  # uint8 (D, H, W)
    label: np.ndarray  # int32 (D, H, W), or (D, H, W, T) for multi-task labels
    objects: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    index: int = 0
    #: int16 (D, H, W): 1 + the position of the object whose label each voxel holds, 0 for
    #: background; made only when asked for (``Composer.render(..., owners=True)``)
    owner: np.ndarray | None = None


def surface_warnings(index: int, objects: list[dict[str, Any]], voxels: int) -> list[str]:
    """Warnings for the objects of sample ``index`` that have no surface in the grid.

    ``objects`` is a sample's metadata (:attr:`Sample.objects`, each with its ``volume``: the
    voxels where ``f <= 0``); ``voxels`` the grid's voxel count. An object inside no voxel
    (too small, outside the grid, or NaN everywhere) or inside every voxel adds nothing a
    network could segment. Objects are numbered from 0, as in the metadata.
    """
    out = []
    for k, meta in enumerate(objects):
        volume = meta.get("volume")
        if volume == 0:
            what = "covers no voxel (too small, outside the grid, or NaN everywhere)"
        elif volume == voxels:
            what = "covers every voxel of the grid"
        else:
            continue
        out.append(f"sample {index}: objects[{k}] (class {meta['class_id']} "
                   f"{meta['class']!r}, shape {meta['shape']}) has no surface in the grid: "
                   f"it {what}")
    return out


def _pick(rng: np.random.Generator, names: list[str], weights: list[float]) -> str:
    """One of ``names`` with probability proportional to ``weights`` (validated non-negative
    with a positive sum when the preset loads): the draw of numpy's ``Generator.choice`` with
    ``p`` (one uniform against the normalised cumulative weights), without its per-call
    checks, which cost ten times the draw."""
    p = np.asarray(weights, dtype=np.float64)
    cdf = (p / p.sum()).cumsum()
    cdf /= cdf[-1]
    return names[int(cdf.searchsorted(rng.random(), side="right"))]


class Composer:
    """Draws and renders samples of one preset.

    Parameters
    ----------
    loaded : LoadedPreset
        Preset and the library its classes resolve in.
    device : str or torch.device
        Compute device (``cpu`` or ``cuda``).
    """

    def __init__(self, loaded: LoadedPreset, device: torch.device | str = "cpu") -> None:
        self.preset: Preset = loaded.preset
        self.grid = Grid.reference(self.preset.grid)
        self.table = class_table(self.preset, loaded.library)
        self.device = torch.device(device)
        self.cache = DisplacementCache()
        self._class_p = np.array([e.weight for e in self.table], dtype=np.float64)
        if self._class_p.sum() <= 0:
            raise ValueError("every class has weight 0")
        self._class_p /= self._class_p.sum()
        self.vocab = multi_task_vocabularies(self.table) if self.preset.label_mode == "multi_task" \
            else None

    # -- drawing ---------------------------------------------------------------------------
    def plan(self, seed: int, index: int) -> list[ObjectPlan]:
        """Draw every random choice of sample ``index``."""
        preset = self.preset
        rng = sample_rng(seed, index)
        lo, hi = preset.objects
        count = int(rng.integers(lo, hi, endpoint=True))
        uniform = np.allclose(self._class_p, self._class_p[0])
        ids = rng.integers(0, len(self.table), size=count) if uniform else \
            rng.choice(len(self.table), size=count, p=self._class_p)
        return [self.plan_object(self.table[int(c)], sample_rng(seed, index, k))
                for k, c in enumerate(ids)]

    def plan_object(self, entry: ClassEntry, rng: np.random.Generator) -> ObjectPlan:
        """Draw placement, parameters, displacement and mapper of one object of ``entry``."""
        preset = self.preset
        placement = sample_placement(rng, self.grid, preset.transform)
        params, tree = sample_class(entry.shape, rng, self.grid.size)
        if preset.displacement_mode == "augmentation" and preset.displacements:
            names = [d.name for d in preset.displacements] + [NONE]
            weights = [d.weight for d in preset.displacements]
            if preset.none_probability is None:
                weights.append(float(np.mean(weights)))
            else:
                total = sum(weights)
                weights = [w / total * (1 - preset.none_probability) for w in weights]
                weights.append(preset.none_probability)
            displacement = _pick(rng, names, weights)
        else:
            displacement = entry.displacement or NONE
        drawn = _pick(rng, [m.name for m in preset.mappers], [m.weight for m in preset.mappers])
        mapper = class_mapper(tree) or entry.mapper or drawn  # the draw always happens
        noise_seed = int(rng.integers(0, 2**31 - 1))
        return ObjectPlan(entry, params, tree, placement, displacement, mapper, noise_seed)

    # -- rendering ---------------------------------------------------------------------------
    def evaluate(self, plan: ObjectPlan, full: bool = False, near: float = 0.0) -> Evaluated | None:
        """The object's SDF on its box (or the full grid), exact wherever ``f <= near``."""
        return evaluate_object(plan.tree, plan.placement, self.grid, plan.displacement,
                               plan.noise_seed, self.device, full=full, near=near,
                               cache=self.cache)

    @torch.inference_mode()
    def render(self, plans: list[ObjectPlan], seed: int = 0, index: int = 0,
               owners: bool = False) -> Sample:
        """Compose planned objects into an image and labels (and, with ``owners``, the map of
        which object each voxel's label comes from: :attr:`Sample.owner`).

        The intensity is ``uint8(floor(clamp(S + H, 0, 128)))`` where ``S`` sums the mapped
        values of the objects whose mapper vanishes outside and ``H`` those of the halo
        (``inverse_cube``) objects, each sum in object order. A halo reaches every voxel, but
        beyond ``f > HALO_NEAR`` it is below ``128 / (HALO_NEAR^3 + 1)``, and far less far
        away (:meth:`omitted_halo_bound`): halos are evaluated exactly near their object,
        and elsewhere only at the voxels where the omitted amount could change the truncated
        result (:meth:`resolve_halos`), so the image is exactly the one a full-grid
        evaluation gives.
        """
        grid_shape = self.grid.shape
        image = torch.zeros(grid_shape, dtype=torch.float32, device=self.device)
        halo = torch.zeros_like(image)
        halos: list[tuple[Evaluated | None, ObjectPlan]] = []
        painted: list[tuple[torch.Tensor, ObjectPlan]] = []  # inside voxels, object
        metadata = []
        for plan in plans:
            mapper = get_mapper(plan.mapper)
            evaluated = self.evaluate(plan, near=HALO_NEAR if mapper.has_halo else 0.0)
            meta = plan.metadata()
            metadata.append(meta)
            if mapper.has_halo:
                halos.append((evaluated, plan))
            if evaluated is None:
                meta["volume"] = 0
                continue
            in_mask = evaluated.values <= 0
            all_inside = bool(in_mask.all())
            inside = evaluated.index if all_inside else evaluated.index.masked_select(in_mask)
            meta["volume"] = len(inside)
            target = halo if mapper.has_halo else image
            target.view(-1).index_add_(0, evaluated.index, mapper(evaluated.values, all_inside))
            if len(inside):
                painted.append((inside, plan, len(metadata)))
        if halos:
            quantized = self.resolve_halos(image, halo, self.omitted_halo_bound(halos), halos)
        else:
            quantized = quantize(image)
        label = self._paint(painted)
        owner = self._owners(painted).cpu().numpy() if owners else None
        return Sample(quantized.cpu().numpy(), label.cpu().numpy(), metadata, seed, index, owner)

    def omitted_halo_bound(self, halos: list) -> torch.Tensor:
        """Per voxel, an upper bound of the halo values left out of the evaluated halo sum.

        Halo object ``k`` is left out where it was not evaluated. There ``f > HALO_NEAR``, and
        ``f`` is at least the object's floor over the voxel's block (``block_floors``), so
        its value is at most ``bound_beyond(max(HALO_NEAR, floor))``: far from every halo
        object the bound is small, and few voxels need their exact halo.
        """
        omitted = torch.zeros(self.grid.shape, dtype=torch.float32, device=self.device)
        for evaluated, plan in halos:
            mapper = get_mapper(plan.mapper)
            if evaluated is None:
                omitted += mapper.bound_beyond(HALO_NEAR)
                continue
            bound = mapper.bound_beyond(evaluated.block_floors().clamp_min(HALO_NEAR))
            per_voxel = _blocks_to_voxels(bound, self.grid.shape)
            per_voxel.view(-1).index_fill_(0, evaluated.index, 0.0)
            omitted += per_voxel
        return omitted

    def resolve_halos(self, image: torch.Tensor, halo: torch.Tensor, omitted: torch.Tensor,
                      halos: list) -> torch.Tensor:
        """The quantized image (:func:`quantize`) of ``image + H``, with ``H`` exact wherever
        it can change the result.

        ``halo`` holds the halo sum without the omitted far parts, ``omitted`` a per-voxel
        upper bound of those parts. Where quantizing ``image + halo`` and ``image + halo +
        omitted`` (plus a float32 slack above) disagree, ``H`` is recomputed from the exact
        values of every halo object, in object order. ``halo`` and ``omitted`` are used up.
        """
        total = halo.add_(image)
        # The omitted terms are >= 0 and rounding is monotone, so the exact sum is never below
        # ``total``; above, it is at most the omitted bound plus float32 rounding.
        low = quantize(total)
        high = quantize(omitted.add_(total).add_(FLOAT_SLACK))
        flat = flat_nonzero(low != high)
        if len(flat):
            exact = torch.zeros(len(flat), dtype=torch.float32, device=self.device)
            for evaluated, plan in halos:
                f = evaluated.exact_at(flat) if evaluated is not None else \
                    self.evaluate(plan, full=True).exact_at(flat)
                exact += get_mapper(plan.mapper)(f)
            low.view(-1).index_copy_(0, flat, quantize(image.view(-1).index_select(0, flat) + exact))
        return low

    def paint_key(self, volume, position, slots: int):
        """Where objects overlap, the one with the smallest key gets the voxel: the preset's
        overlap policy as a number (ints, or integer tensors alike).

        ``volume`` counts the object's voxels with ``f <= 0``, ``position`` is its place in
        the sample (``0 <= position < slots``); ties go to the later object.
        """
        later_first = slots - 1 - position
        policy = self.preset.overlap
        if policy == "smaller_wins":
            return volume * slots + later_first
        if policy == "larger_wins":
            return (math.prod(self.grid.shape) - volume) * slots + later_first
        return later_first

    def _paint_order(self, painted: list) -> list[int]:
        """Positions in ``painted`` in the order they are painted (the smallest key last)."""
        slots = len(painted)
        keys = [self.paint_key(len(item[0]), i, slots) for i, item in enumerate(painted)]
        return sorted(range(slots), key=lambda i: -keys[i])

    def _owners(self, painted: list) -> torch.Tensor:
        """int16 map: 1 + the object position whose label each voxel holds (0: background)."""
        owner = torch.zeros(self.grid.shape, dtype=torch.int16, device=self.device)
        for i in self._paint_order(painted):
            inside, _, position = painted[i]
            owner.view(-1).index_fill_(0, inside, position)
        return owner

    def _paint(self, painted: list) -> torch.Tensor:
        tasks = 1 if self.vocab is None else len(self.vocab)
        planes = torch.zeros((tasks, *self.grid.shape), dtype=torch.int32, device=self.device)
        for i in self._paint_order(painted):
            inside, plan, _ = painted[i]
            values = [plan.entry.id] if self.vocab is None else task_ids(plan, self.vocab)
            for plane, value in zip(planes, values, strict=True):
                plane.view(-1).index_fill_(0, inside, value)
        return planes[0] if self.vocab is None else planes.permute(1, 2, 3, 0).contiguous()

    def sample(self, seed: int, index: int) -> Sample:
        """Draw and render sample ``index`` of the dataset with ``seed``."""
        return self.render(self.plan(seed, index), seed, index)


def quantize(intensity: torch.Tensor) -> torch.Tensor:
    """``uint8(floor(clamp(intensity, 0, PEAK)))``, the stored image (spec §11)."""
    return intensity.clamp(0, PEAK).to(torch.uint8)


def _blocks_to_voxels(blocks: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Per-voxel copy of per-block values (blocks of ``BLOCK``³ voxels from the origin),
    cut to the grid ``shape``; one axis at a time, the last first, keeps the copies small."""
    for axis in (2, 1, 0):
        blocks = blocks.repeat_interleave(BLOCK, dim=axis).narrow(axis, 0, shape[axis])
    return blocks


# -- multi-task labels (spec §11.4) ------------------------------------------------------------
def multi_task_vocabularies(table: list[ClassEntry]) -> dict[str, dict[str, int]]:
    """Task vocabularies: shape (alphabetical), displacement (``none`` first), mapper (sorted)."""
    shapes = sorted({e.shape.display_name for e in table})
    disp_names = sorted({get_displacement(e.displacement).long_name for e in table
                         if e.displacement is not None})
    mappers = sorted({e.mapper for e in table if e.mapper is not None})
    vocab = {"shape": {name: i + 1 for i, name in enumerate(shapes)}}
    if disp_names:
        vocab["displacement"] = {"none": 1, **{n: i + 2 for i, n in enumerate(disp_names)}}
    if len(mappers) > 1 or not disp_names:
        vocab["mapper"] = {name: i + 1 for i, name in enumerate(mappers)}
    return vocab


def task_ids(plan: ObjectPlan, vocab: dict[str, dict[str, int]]) -> list[int]:
    """The object's label in each task."""
    out = []
    for task, names in vocab.items():
        if task == "shape":
            out.append(names[plan.entry.shape.display_name])
        elif task == "displacement":
            key = plan.displacement
            out.append(names["none" if key == NONE else DISPLACEMENTS[key].long_name])
        else:
            out.append(names[plan.mapper])
    return out
