"""One instance of a shape class on a grid: what the studio shows and ``fdif preview`` writes.

An instance is drawn exactly as ``fdif sdf`` draws it: one generator seeded with the instance
seed draws the placement (spec §3), then the class parameters, then the noise seed of a
gradient-noise displacement. The placement is either *centred* (at the origin, no rotation or
shear: the setting of the spec's golden values) or *random* (the paper's translation, rotation
and shear). The preview's image is the uint8 image the composer writes for this one object
with its mapper, ``uint8(floor(clamp(g(f), 0, 128)))``, and its label marks ``f <= 0`` — a test
compares both with :meth:`fdif_core.compose.Composer.render` of the same object.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from fdif_core.compose import quantize
from fdif_core.displacements import get_displacement
from fdif_core.errors import FdifError
from fdif_core.grid import Grid
from fdif_core.mappers import get_mapper
from fdif_core.memory import grid_label, object_bytes, require
from fdif_core.nodes.mapper import class_mapper
from fdif_core.nodes.registry import finite_number
from fdif_core.objects import evaluate_object
from fdif_core.placement import PLACEMENT_PARAMS, Placement, sample_placement
from fdif_core.shapes import ShapeClass, sample_class

PLACEMENTS = ("centred", "random")
DEFAULT_MAPPER = "inverse_cube"


@dataclass(frozen=True)
class InstanceSettings:
    """How to draw and show one instance of a class.

    Parameters
    ----------
    seed : int
        Seed of the instance's generator (placement, then class parameters, then noise seed).
    grid : tuple of int
        ``(D, H, W)`` of the reference grid the class's sizes refer to.
    placement : str
        ``"centred"`` (origin, no transform) or ``"random"`` (the paper's placement).
    displacement : str
        Displacement key (:data:`fdif_core.displacements.DISPLACEMENTS`) or ``"none"``.
    mapper : str
        Mapper key used when the class does not fix its own (a ``mapper`` root node).
    """

    seed: int = 0
    grid: tuple[int, int, int] = (96, 96, 96)
    placement: str = "centred"
    displacement: str = "none"
    mapper: str = DEFAULT_MAPPER

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement {self.placement!r}: use one of {', '.join(PLACEMENTS)}")
        if not 0 <= int(self.seed) < 2**63:
            raise ValueError(f"seed {self.seed}: must be between 0 and 2**63 - 1")
        get_displacement(self.displacement)  # KeyError naming the known keys
        get_mapper(self.mapper)
        Grid.reference(self.grid)  # ValueError for a grid that is too small


@dataclass(frozen=True)
class Instance:
    """Everything drawn for one instance: rendering it needs no randomness."""

    params: dict[str, float]
    tree: dict[str, Any]
    placement: Placement
    displacement: str
    mapper: str
    noise_seed: int


def draw_instance(shape: ShapeClass, grid: Grid, seed: int, *, transform: bool, centred: bool,
                  displacement: str = "none", mapper: str = DEFAULT_MAPPER,
                  overrides: dict[str, float] | None = None) -> Instance:
    """Draw an instance of ``shape`` on ``grid`` from ``seed``.

    Parameters
    ----------
    shape : ShapeClass
        The class.
    grid : Grid
        Grid whose quantities the class's sizes refer to.
    seed : int
        Seed of the generator.
    transform : bool
        Draw the paper's rotation and shear (else none; they are drawn either way).
    centred : bool
        Put the object at the origin instead of the drawn translation.
    displacement : str
        Displacement key or ``"none"``.
    mapper : str
        Mapper used when the class does not fix one.
    overrides : dict, optional
        Values for class parameters or placement values (:data:`PLACEMENT_PARAMS`) by name.

    Returns
    -------
    Instance
    """
    values = dict(overrides or {})
    for name, value in values.items():
        try:
            finite_number(value)
        except ValueError as err:
            raise FdifError(f"{shape.name}: {name}: {err}") from None
    placement_set = {k: values.pop(k) for k in list(values) if k in PLACEMENT_PARAMS}
    if centred:
        placement_set = {"tx": 0.0, "ty": 0.0, "tz": 0.0, **placement_set}
    rng = np.random.default_rng(seed)
    placement = sample_placement(rng, grid, transform, placement_set)
    params, tree = sample_class(shape, rng, grid.size, values)
    noise_seed = int(rng.integers(0, 2**31 - 1))
    return Instance(params, tree, placement, displacement, class_mapper(tree) or mapper, noise_seed)


def settings_instance(shape: ShapeClass, settings: InstanceSettings) -> Instance:
    """:func:`draw_instance` with the choices of ``settings``."""
    random = settings.placement == "random"
    return draw_instance(shape, Grid.reference(settings.grid), settings.seed, transform=random,
                         centred=not random, displacement=settings.displacement,
                         mapper=settings.mapper)


@dataclass
class Preview:
    """One instance evaluated on the whole grid.

    ``sdf`` is float32 ``(D, H, W)`` (axis 0 is z), the displaced signed distance; ``image``
    the uint8 image the composer writes for this object alone; ``label`` uint8, 1 where
    ``sdf <= 0``. ``timings`` holds milliseconds per step.
    """

    instance: Instance
    grid: Grid
    sdf: np.ndarray
    image: np.ndarray
    label: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def inside(self) -> int:
        """Number of voxels with ``sdf <= 0``."""
        return int(self.label.sum(dtype=np.int64))

    @property
    def distance_range(self) -> tuple[float, float]:
        """Smallest and largest signed distance on the grid."""
        return float(self.sdf.min()), float(self.sdf.max())

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description of the instance and the grid."""
        inst = self.instance
        lo, hi = self.distance_range
        return {"params": inst.params, "tree": inst.tree, "placement": inst.placement.to_dict(),
                "displacement": inst.displacement, "mapper": inst.mapper,
                "noise_seed": inst.noise_seed, "grid": list(self.grid.shape),
                "inside_voxels": self.inside, "distance_range": [lo, hi]}


@torch.inference_mode()
def evaluate_instance(instance: Instance, grid: Grid, device: torch.device | str = "cpu") -> Preview:
    """Evaluate ``instance`` on every voxel of ``grid`` and map it as the composer does.

    Raises
    ------
    FdifError
        When the grid needs more memory than is available (:func:`fdif_core.memory.require`).
    """
    require(object_bytes(grid.shape, instance.displacement), f"grid {grid_label(grid.shape)}",
            "use a smaller grid", device)
    start = time.perf_counter()
    evaluated = evaluate_object(instance.tree, instance.placement, grid, instance.displacement,
                                instance.noise_seed, device, full=True)
    sdf = evaluated.sdf
    evaluated_at = time.perf_counter()
    image = quantize(get_mapper(instance.mapper)(sdf)).cpu().numpy()
    label = (sdf <= 0).to(torch.uint8).cpu().numpy()
    done = time.perf_counter()
    timings = {"evaluate": (evaluated_at - start) * 1e3, "map": (done - evaluated_at) * 1e3}
    return Preview(instance, grid, sdf.cpu().numpy(), image, label, timings)


def preview_class(shape: ShapeClass, settings: InstanceSettings,
                  device: torch.device | str = "cpu") -> Preview:
    """Draw an instance of ``shape`` with ``settings`` and evaluate it (see the module)."""
    start = time.perf_counter()
    instance = settings_instance(shape, settings)
    drawn = time.perf_counter()
    preview = evaluate_instance(instance, Grid.reference(settings.grid), device)
    preview.timings = {"draw": (drawn - start) * 1e3, **preview.timings}
    return preview


def mapper_curve(mapper: str, lo: float, hi: float, points: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """``(d, g(d))`` of a mapper at ``points`` distances from ``lo`` to ``hi`` (float32 math,
    as the composer maps)."""
    d = torch.linspace(lo, hi, points, dtype=torch.float32)
    return d.numpy(), get_mapper(mapper)(d).numpy()
