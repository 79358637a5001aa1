"""Checks of a Decathlon dataset before training (``fdif train`` / ``fdif finetune --data``).

Mistakes in a dataset would otherwise surface mid-run as long MONAI tracebacks (or not at all in
a short run). Each check raises :class:`~fdif_core.errors.FdifError` with one line naming the
dataset file, the case, the file and the problem.

* :func:`dataset_file`: ``--data`` may be the ``data.json`` / ``dataset.json`` file or a folder
  holding exactly one of them.
* :func:`check_headers`, from NIfTI headers only (no voxel data, about a millisecond a file):
  every image and label exists and is readable, the images of a case have ``in_channels``
  channels in all (MONAI reads a 4-D NIfTI as channels last), the label is one 3-D volume,
  and image and label have the same shape and voxel spacing. Files in formats nibabel does not
  read (``.nrrd``, ``.mha`` …) are only checked to exist.
* :func:`check_label_values`: label values need the voxels, so they are checked on each label
  as it is loaded for training (a min/max pass over data already in memory; the whole set of
  values only where the allowed ids have gaps). With ``cache`` on (the default) every volume is
  loaded before the first step, so every value is checked then.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fdif_core.errors import FdifError
from fdif_core.events import Event
from fdif_core.training.progress import PREPARE_EVERY_S, Throttle, progress

DATASET_FILES = ("dataset.json", "data.json")
#: suffixes whose headers nibabel reads
NIBABEL_SUFFIXES = (".nii", ".nii.gz", ".mgh", ".mgz", ".hdr", ".img")
SPACING_TOLERANCE = 1e-3  # relative


def dataset_file(path: str | Path) -> Path:
    """The Decathlon file ``path`` names: the file itself, or the one ``data.json`` /
    ``dataset.json`` in the folder ``path``."""
    path = Path(path)
    if path.is_dir():
        found = [path / name for name in DATASET_FILES if (path / name).is_file()]
        if len(found) == 1:
            return found[0]
        if found:
            raise FdifError(f"--data {path}: the folder holds both dataset.json and data.json; "
                            "give the file to use")
        raise FdifError(f"--data {path}: the folder holds no dataset.json or data.json; give "
                        "a Decathlon dataset file (or its folder)")
    if not path.is_file():
        raise FdifError(f"dataset file {str(path)!r} does not exist")
    return path


@dataclass(frozen=True)
class Case:
    """One entry of a Decathlon list: its files (resolved) and where it is, for messages."""

    where: str  # "DATASET_FILE: training case K"
    images: tuple[Path, ...]
    label: Path
    base: Path  # the dataset folder, to show paths as the file writes them

    def shown(self, path: Path) -> str:
        """``path`` relative to the dataset folder where it lies inside it."""
        try:
            return str(path.relative_to(self.base))
        except ValueError:
            return str(path)

    def files(self) -> dict[str, Any]:
        """``{"image": path or [paths], "label": path}`` for ``LoadImaged``."""
        images = [str(p) for p in self.images]
        return {"image": images[0] if len(images) == 1 else images, "label": str(self.label)}


def cases(dataset: Path, split: str, entries: Any) -> list[Case]:
    """The cases of the list ``split`` of a dataset file; relative paths start at its folder.

    Raises
    ------
    FdifError
        The list or an entry is malformed (not ``{"image": path or [paths], "label": path}``).
    """
    if not isinstance(entries, list):
        raise FdifError(f"{dataset}: '{split}' is not a list of cases")
    base = dataset.parent
    out = []
    for k, entry in enumerate(entries):
        where = f"{dataset}: {split} case {k}"
        fields = entry if isinstance(entry, dict) else {}
        images = fields.get("image")
        images = images if isinstance(images, list) else [images]
        if not all(isinstance(p, str) and p for p in images):
            raise FdifError(f"{where}: needs an 'image' path (or a list of paths)")
        if not isinstance(fields.get("label"), str) or not fields["label"]:
            raise FdifError(f"{where}: needs a 'label' path")
        out.append(Case(where, tuple(_resolve(base, p) for p in images),
                        _resolve(base, fields["label"]), base))
    return out


def _resolve(base: Path, path: str) -> Path:
    return Path(os.path.normpath(base / path))


@dataclass(frozen=True)
class Header:
    """What a NIfTI header says about a volume."""

    shape: tuple[int, ...]  # spatial (first three axes)
    channels: int
    spacing: tuple[float, ...]


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(n) for n in shape)


def read_header(case: Case, path: Path, role: str) -> Header | None:
    """The header of ``path`` (``None`` for a format nibabel does not read).

    Raises
    ------
    FdifError
        The file does not exist, is not a readable image, or has other than 3 or 4 axes.
    """
    if not path.is_file():
        raise FdifError(f"{case.where}: {role} file {case.shown(path)} does not exist")
    if not path.name.lower().endswith(NIBABEL_SUFFIXES):
        return None
    import nibabel as nib

    try:
        image = nib.load(str(path))
        shape = tuple(int(n) for n in image.shape)
        zooms = tuple(float(z) for z in image.header.get_zooms())
    except Exception as err:  # noqa: BLE001 - nibabel raises many types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FdifError(f"{case.where}: {role} {case.shown(path)} is not a readable image "
                        f"({reason})") from None
    if len(shape) not in (3, 4):
        raise FdifError(f"{case.where}: {role} {case.shown(path)} has {len(shape)} axes "
                        f"(shape {_dims(shape)}); expected a 3-D volume, or 4-D with the "
                        "channels last")
    return Header(shape[:3], shape[3] if len(shape) == 4 else 1, zooms[:3])


def check_case(case: Case, in_channels: int) -> None:
    """Header checks of one case (see the module docs); raises :class:`FdifError`."""
    heads = [(p, read_header(case, p, "image")) for p in case.images]
    label = read_header(case, case.label, "label")
    known = [(p, h) for p, h in heads if h is not None]
    if len(known) == len(heads):
        channels = sum(h.channels for _, h in known)
        if channels != in_channels:
            files = ", ".join(case.shown(p) for p in case.images)
            shape = ", ".join(_dims(h.shape + ((h.channels,) if h.channels > 1 else ()))
                              for _, h in known)
            raise FdifError(f"{case.where}: image {files} has {channels} channel"
                            f"{'s' if channels != 1 else ''} (shape {shape}) but the model "
                            f"takes in_channels = {in_channels}")
    if label is not None and label.channels != 1:
        raise FdifError(f"{case.where}: label {case.shown(case.label)} has {label.channels} "
                        f"channels (shape {_dims(label.shape + (label.channels,))}); a label is "
                        "one 3-D volume of class ids")
    if label is None:
        return
    for path, head in known:
        if head.shape != label.shape:
            raise FdifError(f"{case.where}: image {case.shown(path)} is {_dims(head.shape)} "
                            f"but its label {case.shown(case.label)} is {_dims(label.shape)}")
        if not all(math.isclose(a, b, rel_tol=SPACING_TOLERANCE)
                   for a, b in zip(head.spacing, label.spacing, strict=True)):
            raise FdifError(f"{case.where}: image {case.shown(path)} has spacing "
                            f"{_spacing(head.spacing)} but its label "
                            f"{case.shown(case.label)} has {_spacing(label.spacing)}")


def _spacing(spacing: Sequence[float]) -> str:
    return "x".join(f"{s:g}" for s in spacing)


def check_headers(all_cases: Sequence[Case], in_channels: int) -> Iterator[Event]:
    """Check every case's headers, yielding ``prepare`` progress about once a second.

    Raises
    ------
    FdifError
        At the first case with a problem (see :func:`check_case`).
    """
    throttle = Throttle(PREPARE_EVERY_S)
    total = len(all_cases)
    for done, case in enumerate(all_cases):
        if throttle.due():
            yield progress("prepare", done, total, "case", task="checking dataset files")
        check_case(case, in_channels)
    yield progress("prepare", total, total, "case", task="checking dataset files")


def allowed_labels(names: dict[int, str], num_classes: int) -> tuple[int, ...]:
    """Class ids a label may hold: the dataset's ``labels`` below ``num_classes``, or every
    id below ``num_classes`` where the dataset names none."""
    if names:
        return tuple(sorted(i for i in names if 0 <= i < num_classes))
    return tuple(range(num_classes))


def check_label_values(label: torch.Tensor, allowed: Sequence[int], num_classes: int,
                       where: str) -> None:
    """Raise :class:`FdifError` if ``label`` holds a value that is not an allowed class id.

    Parameters
    ----------
    label : torch.Tensor
        The loaded label volume.
    allowed : sequence of int
        Sorted allowed ids (:func:`allowed_labels`).
    num_classes : int
        Output channels of the model (background included).
    where : str
        Case and file, for the message.
    """
    flat = label.reshape(-1)
    lo, hi = float(flat.min()), float(flat.max())
    contiguous = list(allowed) == list(range(len(allowed)))
    if (contiguous and lo >= 0 and hi < len(allowed)
            and not bool(torch.any(flat != torch.round(flat)))):
        return
    allowed_set = set(allowed)
    for value in torch.unique(flat).tolist():
        if value != int(value) or value < 0:
            raise FdifError(f"{where} holds the value {value:g}, which is not a class id")
        if value >= num_classes:
            raise FdifError(f"{where} holds the value {int(value)}, but num_classes is "
                            f"{num_classes} (ids 0..{num_classes - 1})")
        if int(value) not in allowed_set:
            ids = ", ".join(str(i) for i in allowed)
            raise FdifError(f"{where} holds the value {int(value)}, which the dataset's "
                            f"labels do not name ({ids})")
