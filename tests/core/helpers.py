"""Small helpers shared by the engine tests."""

from __future__ import annotations

import numpy as np

from fdif_core.grid import Grid
from fdif_core.library import shape_library
from fdif_core.objects import evaluate_object
from fdif_core.placement import Placement
from fdif_core.shapes import sample_class

GRID96 = Grid.reference((96, 96, 96))


def class_sdf(name: str, params: dict, grid: Grid = GRID96, placement: Placement | None = None,
              displacement: str = "none") -> np.ndarray:
    """Full-grid SDF of a library class with explicit parameters, centred, untransformed."""
    shape = shape_library().get(name)
    _, tree = sample_class(shape, np.random.default_rng(0), grid.size, params)
    return evaluate_object(tree, placement or Placement(), grid, displacement,
                           full=True).sdf.numpy()


def tree_sdf(tree: dict, grid: Grid = GRID96, placement: Placement | None = None) -> np.ndarray:
    """Full-grid SDF of a concrete tree."""
    return evaluate_object(tree, placement or Placement(), grid, full=True).sdf.numpy()
