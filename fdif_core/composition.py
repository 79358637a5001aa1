"""One composed sample of a preset, as the studio's composition mode shows it.

:func:`preview_sample` renders sample ``index`` of the dataset with ``seed`` exactly as
``fdif generate`` writes it (the same :class:`~fdif_core.compose.Composer` draw and render; the
label in the integer type the dataset stores), and adds what a person needs to read it: which
object each labelled voxel comes from, a row per object (class, mapper, displacement, its
voxels, the voxels it holds in the label, its label), and the name of every label value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from fdif_core.compose import Composer, Sample, surface_warnings
from fdif_core.datasets.nifti import label_dtype
from fdif_core.displacements import NONE, get_displacement
from fdif_core.grid import Grid
from fdif_core.presets import LoadedPreset


@dataclass(frozen=True)
class ObjectRow:
    """One object of a sample, in drawing order (``position`` from 1).

    ``inside`` counts the voxels with ``f <= 0``; ``shown`` those whose label the object holds
    after overlaps; ``labels`` its label in each task (one entry for single labels);
    ``centre`` the mean voxel index ``(z, y, x)`` of the voxels it holds (``None`` if none).
    """

    position: int
    class_id: int
    class_name: str
    shape: str
    mapper: str
    displacement: str
    inside: int
    shown: int
    labels: tuple[int, ...]
    centre: tuple[float, float, float] | None


@dataclass
class SamplePreview:
    """A composed sample and what the studio shows beside it.

    ``image`` and ``label`` are the arrays ``fdif generate`` writes for this index (``label``
    ``(D, H, W)`` or ``(D, H, W, T)`` for multi-task labels, in the dataset's label type);
    ``owner`` is int16 ``(D, H, W)``: 1 + the position of the object whose label a voxel holds.
    ``tasks`` names the label channels; ``label_names[t]`` maps each value of channel ``t`` to
    its name. ``timings`` holds milliseconds per step.
    """

    preset: str
    seed: int
    index: int
    grid: Grid
    image: np.ndarray
    label: np.ndarray
    owner: np.ndarray
    objects: list[ObjectRow]
    tasks: list[str]
    label_names: list[dict[int, str]]
    metadata: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: what ``fdif generate`` warns about this sample (objects with no surface in the grid)
    warnings: list[str] = field(default_factory=list)

    def task_label(self, task: int = 0) -> np.ndarray:
        """The ``(D, H, W)`` label volume of channel ``task``."""
        return self.label if self.label.ndim == 3 else self.label[..., task]

    @property
    def empty_objects(self) -> list[ObjectRow]:
        """Objects that hold no voxel of the label (outside the grid, or hidden by others)."""
        return [row for row in self.objects if row.shown == 0]


def label_names(composer: Composer) -> tuple[list[str], list[dict[int, str]]]:
    """The label channels of a preset and the name of each label value in each."""
    if composer.vocab is None:
        return ["class"], [{0: "background", **{e.id: e.display_name for e in composer.table}}]
    tasks = list(composer.vocab)
    names = [{0: "background", **{v: k for k, v in composer.vocab[t].items()}} for t in tasks]
    return tasks, names


def stored_label_dtype(composer: Composer) -> np.dtype:
    """The integer type ``fdif generate`` stores this preset's labels in (``auto``)."""
    if composer.vocab is None:
        top = len(composer.table)
    else:
        top = max(max(v.values()) for v in composer.vocab.values())
    return label_dtype(top)


def _rows(sample: Sample, composer: Composer) -> list[ObjectRow]:
    """One :class:`ObjectRow` per object: voxel counts and centres from the owner map."""
    owner = sample.owner.reshape(-1).astype(np.int64)
    count = len(sample.objects)
    shown = np.bincount(owner, minlength=count + 1)
    coords = np.indices(sample.owner.shape, dtype=np.float64).reshape(3, -1)
    sums = [np.bincount(owner, weights=c, minlength=count + 1) for c in coords]
    flat_label = sample.label.reshape(-1, 1 if sample.label.ndim == 3 else sample.label.shape[-1])
    some_voxel = np.zeros(count + 1, dtype=np.int64)
    held = np.flatnonzero(owner)
    some_voxel[owner[held]] = held  # a voxel each object holds: all hold the object's label
    rows = []
    for k, meta in enumerate(sample.objects, start=1):
        n = int(shown[k])
        centre = tuple(float(s[k] / n) for s in sums) if n else None
        if n:
            labels = tuple(int(v) for v in flat_label[some_voxel[k]])
        else:
            labels = (meta["class_id"],) if composer.vocab is None else ()
        disp = meta["displacement"]
        rows.append(ObjectRow(k, meta["class_id"], meta["class"], meta["shape"], meta["mapper"],
                              "none" if disp == NONE else get_displacement(disp).long_name,
                              int(meta.get("volume", 0)), n, labels, centre))
    return rows


@torch.inference_mode()
def preview_sample(loaded: LoadedPreset, seed: int, index: int,
                   device: torch.device | str = "cpu", composer: Composer | None = None,
                   ) -> SamplePreview:
    """Render sample ``index`` of the dataset with ``seed`` as ``fdif generate`` writes it.

    Parameters
    ----------
    loaded : LoadedPreset
        The preset and the library its classes resolve in.
    seed, index : int
        Dataset seed and sample index (``>= 0``).
    device : str or torch.device
        Compute device.
    composer : Composer, optional
        A composer of ``loaded`` to reuse (its class table and displacement cache).

    Returns
    -------
    SamplePreview
    """
    if index < 0 or seed < 0:
        raise ValueError(f"seed {seed} and index {index} must be >= 0")
    start = time.perf_counter()
    composer = composer or Composer(loaded, device)
    plans = composer.plan(seed, index)
    planned = time.perf_counter()
    sample = composer.render(plans, seed, index, owners=True)
    rendered = time.perf_counter()
    label = sample.label.astype(stored_label_dtype(composer), copy=False)
    tasks, names = label_names(composer)
    rows = _rows(sample, composer)
    done = time.perf_counter()
    timings = {"draw": (planned - start) * 1e3, "render": (rendered - planned) * 1e3,
               "tables": (done - rendered) * 1e3}
    return SamplePreview(loaded.preset.name, seed, index, composer.grid, sample.image, label,
                         sample.owner, rows, tasks, names, sample.objects, timings,
                         surface_warnings(index, sample.objects, sample.image.size))
