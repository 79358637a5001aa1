"""What each preset field does, as the preset editor's tooltips say it (spec §3, §11, §12),
and the tooltips of the names a preset lists (classes, mappers, displacements)."""

from __future__ import annotations

from fdif_core.displacements import DISPLACEMENTS
from fdif_core.errors import FdifError
from fdif_core.library import ShapeLibrary
from fdif_core.mappers import MAPPERS

TIPS = {
    "name": "The preset's name (letters, digits, '_', '.', '-'): its file name in the user "
            "library and what 'fdif generate --preset' takes.",
    "description": "One line saying what the preset is for ('fdif presets list' shows it).",
    "grid": "Voxels per axis of every sample, 8..1024 (the paper: 96³)",
    "objects": "Objects per sample: K is drawn uniformly from min..max, both included, for "
               "every sample (spec §11.2; the paper: 20 and 20)",
    "transform": "Draw a random rotation and shear of every object besides its translation "
                 "(spec §3; the paper: on). Off: objects are only moved, never turned.",
    "overlap": "Which object's label a voxel gets where objects overlap. smaller_wins: objects "
               "are painted by in-grid volume, largest first, so smaller objects win (the "
               "reference, spec §11.2). larger_wins: the opposite. last_wins: in drawing order.",
    "label_mode": "single: one label map of class ids (spec §11.3). multi_task: one label "
                  "channel per part — shape, displacement, mapper (spec §11.4); needs mapper "
                  "and displacement mode 'class'.",
    "mapper_mode": "augmentation: every object draws its mapper from the list by weight; the "
                   "classes are the shapes (the paper). class: every shape × mapper pair is a "
                   "class of its own (spec §11.3).",
    "displacement_mode": "augmentation: every object draws a displacement from the list or "
                         "none (the paper). class: every shape × displacement pair is a class "
                         "of its own and plain classes are never displaced (spec §11.3).",
    "none_probability": "Probability that an object gets no displacement (augmentation mode). "
                        "As the reference, 'none' is one more choice with the mean weight: "
                        "1/(|D|+1) of the objects (spec §11.2).",
    "combined_unions": "Union classes A ∪ B added after the listed classes: the first U ordered "
                       "pairs of listed classes after a shuffle by the union seed (spec §11.3; "
                       "the paper: 0).",
    "union_seed": "Seed of the shuffle that picks the union pairs.",
    "dataset.seed": "Default dataset seed of 'fdif generate': sample i depends only on "
                    "(preset, seed, i).",
    "dataset.num_samples": "Training samples 'fdif generate' writes by default (the paper: 5000).",
    "dataset.num_val_samples": "Validation samples written after the training ones, from the "
                               "same stream (indices num_samples and up).",
    "dataset.format": "Output layout: decathlon (MONAI data.json), nnunet (nnU-Net v2 dataset), "
                      "classification (one object per sample, Blosc2) (spec §12).",
    "classes": "Shape classes. Each object draws its class with probability ∝ weight (the "
               "paper: all equal); the order gives the class ids 1, 2, … (background 0). Drag "
               "classes here from the library browser.",
    "mappers": "Mappers turn an object's signed distance into intensity (spec §10).",
    "displacements": "Displacements add a field to an object's signed distance (spec §9).",
}
WEIGHT_TIPS = {
    "classes": "objects draw their class with probability ∝ weight",
    "mappers": "in augmentation mode objects draw their mapper with probability ∝ weight; in "
               "class mode it multiplies the weight of the class",
    "displacements": "in augmentation mode objects draw their displacement with probability ∝ "
                     "weight; in class mode it multiplies the weight of the class",
}


def describe_class(library: ShapeLibrary, name: str) -> str:
    """``"Torus: a ring …"`` (a class the library lacks says so)."""
    try:
        shape = library.get(name)
    except FdifError as err:
        return str(err)
    return f"{shape.display_name}: {shape.description}" if shape.description else shape.display_name


def describe_mapper(name: str) -> str:
    mapper = MAPPERS.get(name)
    return mapper.expression if mapper is not None else name


def describe_displacement(name: str) -> str:
    displacement = DISPLACEMENTS.get(name)
    if displacement is None:
        return name
    kind = (type(displacement).__doc__ or "").strip().splitlines()[0].replace("``", "")
    return f"{displacement.long_name}: {kind}"
