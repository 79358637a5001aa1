"""Small helpers shared by the engine tests."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
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


def write_decathlon(root: Path, n_train: int = 2, n_val: int = 1, classes: int = 3,
                    shape=(20, 20, 20)) -> Path:
    """A tiny Decathlon dataset (relative paths, labels map)."""
    rng = np.random.default_rng(0)
    entries = []
    for i in range(n_train + n_val):
        image = rng.integers(0, 200, size=shape).astype(np.uint8)
        label = np.zeros(shape, dtype=np.int32)
        for c in range(1, classes):
            label[c * 5:c * 5 + 5, 4:16, 4:16] = c
        for kind, arr in (("imagesTr", image), ("labelsTr", label)):
            (root / kind).mkdir(parents=True, exist_ok=True)
            nib.save(nib.Nifti1Image(arr, np.eye(4)), root / kind / f"case_{i}.nii.gz")
        entries.append({"image": f"./imagesTr/case_{i}.nii.gz",
                        "label": f"./labelsTr/case_{i}.nii.gz"})
    labels = {str(c): f"class{c}" for c in range(classes)}
    path = root / "dataset.json"
    path.write_text(json.dumps({"labels": labels, "training": entries[:n_train],
                                "validation": entries[n_train:]}))
    return path
