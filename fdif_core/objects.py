"""Evaluating one placed object: its SDF (with displacement) on the grid or inside its box.

Only voxels inside the object's world bounding box can have ``f <= 0``: the box is the local
bounds of ``{f_loc <= c}`` (``c`` is the most negative value the displacement can take), mapped
through the placement and grown by one voxel. Evaluating there gives exactly the values a
full-grid evaluation gives at those voxels. Inside the box, blocks of voxels whose Lipschitz
lower bound proves ``f > 0`` are skipped (:meth:`fdif_core.domain.Domain.descend`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from fdif_core.displacements import GradientNoise, WorldDisplacement, get_displacement
from fdif_core.domain import BLOCK, Domain, IndexBox, linear_index
from fdif_core.grid import Grid
from fdif_core.nodes.base import SDF3
from fdif_core.placement import Placement
from fdif_core.shapes import compile_tree

CULL_MIN_VOXELS = 4096  # smaller boxes are evaluated whole


@dataclass
class Evaluated:
    """An object's SDF over an index box of the grid, stored sparsely.

    ``index`` holds flat C-order grid positions inside ``box`` and ``values`` the SDF there,
    exactly as a full-grid evaluation gives it; every voxel of the box not listed was proved
    to be beyond the requested level. ``exact_at(flat)`` evaluates any voxels (flat C-order
    grid positions) exactly; ``block_floors()`` gives a lower bound of the SDF over each block
    of :data:`~fdif_core.domain.BLOCK`³ voxels of the whole grid (see
    :meth:`~fdif_core.domain.Domain.block_floors`).
    """

    box: IndexBox
    index: torch.Tensor
    values: torch.Tensor
    grid_shape: tuple[int, int, int]
    exact_at: Callable[[torch.Tensor], torch.Tensor] = field(repr=False)
    block_floors: Callable[[], torch.Tensor] = field(repr=False)

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        z0, z1, y0, y1, x0, x1 = self.box
        return slice(z0, z1), slice(y0, y1), slice(x0, x1)

    @property
    def sdf(self) -> torch.Tensor:
        """The box as a dense tensor, ``+inf`` at the voxels that were not evaluated."""
        grid = torch.full(self.grid_shape, math.inf, dtype=self.values.dtype,
                          device=self.values.device)
        grid.view(-1).index_copy_(0, self.index, self.values)
        return grid[self.slices].contiguous()


class DisplacementCache:
    """Full-grid fields of the world-space displacements, computed once per grid and device,
    and their minima over the grid-aligned blocks the culling descends through."""

    def __init__(self) -> None:
        self._fields: dict[tuple, torch.Tensor] = {}
        self._minima: dict[tuple, torch.Tensor] = {}

    def field(self, disp: WorldDisplacement, grid: Grid, device: torch.device) -> torch.Tensor:
        key = (disp.key, grid, str(device))
        if key not in self._fields:
            x = grid.axis(2, device).view(1, 1, -1)
            y = grid.axis(1, device).view(1, -1, 1)
            z = grid.axis(0, device).view(-1, 1, 1)
            self._fields[key] = disp.field(x, y, z, grid).expand(grid.shape).contiguous()
        return self._fields[key]

    def block_minima(self, disp: WorldDisplacement, grid: Grid, device: torch.device,
                     size: int) -> torch.Tensor:
        """Minimum of the field over each block of ``size``³ voxels starting at multiples of
        ``size`` (blocks at the far faces are cut by the grid), shape ``ceil(shape / size)``."""
        key = (disp.key, grid, str(device), size)
        if key not in self._minima:
            field = self.field(disp, grid, device)
            self._minima[key] = -torch.nn.functional.max_pool3d(
                -field[None, None], size, size, ceil_mode=True)[0, 0]
        return self._minima[key]


def _block_lookup(minima: torch.Tensor, origins: torch.Tensor, size: int) -> torch.Tensor:
    """Entries of ``minima`` for blocks of ``size`` (a power of two) at grid-aligned ``origins``
    (3, M), rows z, y, x. A shift divides exactly there, ten times faster than integer division."""
    blocks = origins.bitwise_right_shift(size.bit_length() - 1)
    return minima.view(-1).index_select(0, linear_index(blocks, minima.shape))


@torch.inference_mode()
def evaluate_object(tree: dict[str, Any] | SDF3, placement: Placement, grid: Grid,
                    displacement: str = "none", noise_seed: int = 0,
                    device: torch.device | str = "cpu", full: bool = False, near: float = 0.0,
                    cache: DisplacementCache | None = None) -> Evaluated | None:
    """Evaluate a concrete shape tree placed on ``grid``.

    Parameters
    ----------
    tree : dict or SDF3
        Concrete node tree (or an already compiled one; it is prepared for this grid).
    placement : Placement
        World placement of the object.
    grid : Grid
        The sampling grid; it is also the domain of domain-dependent nodes (the onion).
    displacement : str
        Displacement key or ``"none"``.
    noise_seed : int
        Seed of a :class:`GradientNoise` displacement.
    device : str or torch.device
        Where to compute.
    full : bool
        Evaluate every voxel instead of the bounding box.
    near : float
        Every voxel with ``f <= near`` gets its exact value; others may hold ``+inf`` (0 is
        enough for labels and for mappers that vanish outside).
    cache : DisplacementCache, optional
        Reused world displacement fields.

    Returns
    -------
    Evaluated or None
        ``None`` when the bounding box misses the grid (no voxel has ``f <= near``).
    """
    device = torch.device(device)
    cache = cache or DisplacementCache()
    sdf = compile_tree(tree) if isinstance(tree, dict) else tree
    domain = Domain(grid, placement.world_to_local(), placement.translation, device)
    if sdf.domain_dependent:
        sdf.prepare(domain)
    disp = get_displacement(displacement)
    # f = f_loc + delta with delta >= -dip, so f <= near needs f_loc <= near + dip
    dip = max(-disp.lower_bound(grid), 0.0) if disp is not None else 0.0
    level = near + dip
    world = cache.field(disp, grid, device).view(-1) if isinstance(disp, WorldDisplacement) \
        else None

    def displaced(values: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        if isinstance(disp, GradientNoise):
            return values + disp.field(domain.local_points(domain.unravel(flat)), noise_seed)
        if world is not None:
            return values + world.index_select(0, flat)
        return values

    def exact_at(flat: torch.Tensor) -> torch.Tensor:
        values = sdf(domain.local_points(domain.unravel(flat))).expand(len(flat))
        return displaced(values, flat)

    def block_floors() -> torch.Tensor:
        floors = domain.block_floors(sdf)
        if world is not None:
            return floors + cache.block_minima(disp, grid, device, BLOCK)
        return floors - dip

    if full:
        box = domain.full_box
    else:
        bounds = sdf.bounds(level)
        box = domain.full_box if bounds is None else domain.world_box(*bounds)
        if box is None:
            return None
    z0, z1, y0, y1, x0, x1 = box
    if full or not math.isfinite(sdf.lipschitz) or (z1 - z0) * (y1 - y0) * (x1 - x0) < CULL_MIN_VOXELS:
        index = _box_index(box, grid.shape, device)
        f = domain.evaluate_box(sdf, box)
        return Evaluated(box, index, displaced(f, index), grid.shape, exact_at, block_floors)
    # Only voxels with f <= near matter: find them block-wise.
    if world is not None:  # the displacement is known at every voxel

        def threshold(origins: torch.Tensor | None, size: int, _: torch.Tensor):
            if origins is None:
                return near
            return near - _block_lookup(cache.block_minima(disp, grid, device, size), origins, size)

        index, values = domain.descend(sdf, box, threshold, world)
        return Evaluated(box, index, values, grid.shape, exact_at, block_floors)
    index, values = domain.descend(sdf, box, lambda *_: level)
    return Evaluated(box, index, displaced(values, index), grid.shape, exact_at, block_floors)


def _box_index(box: IndexBox, shape: tuple[int, int, int], device: torch.device) -> torch.Tensor:
    """Flat C-order grid positions of every voxel of ``box``."""
    z0, z1, y0, y1, x0, x1 = box
    _, h, w = shape
    z = torch.arange(z0, z1, device=device).view(-1, 1, 1) * (h * w)
    y = torch.arange(y0, y1, device=device).view(1, -1, 1) * w
    x = torch.arange(x0, x1, device=device).view(1, 1, -1)
    return (z + y + x).reshape(-1)
