"""Edits of a generation preset as data: what the studio's preset editor does, without Qt.

A preset is edited as its JSON-ready dictionary (``Preset.model_dump(mode="json")``). Every
edit returns a new dictionary — the input is never changed — and only after the result
validates as a :class:`~fdif_core.presets.Preset` whose classes resolve in the given shape
library (:func:`~fdif_core.presets.class_table`), so an edit either gives a preset that
``fdif presets validate`` and ``fdif generate`` accept or raises
:class:`~fdif_core.errors.FdifError` saying why. ``fdif presets edit`` applies the same edits
from the command line.
"""

from __future__ import annotations

import copy
from typing import Any

from fdif_core.errors import FdifError
from fdif_core.files import parse_model
from fdif_core.library import ShapeLibrary
from fdif_core.presets import Preset, class_table

Data = dict[str, Any]
#: the preset's weighted lists: classes, mappers, displacements
LISTS = ("classes", "mappers", "displacements")
#: fields :func:`set_field` changes (``dataset.*`` are the dataset defaults)
FIELDS = ("name", "description", "grid", "objects", "transform", "mapper_mode",
          "displacement_mode", "none_probability", "label_mode", "overlap", "combined_unions",
          "union_seed", "dataset.seed", "dataset.num_samples", "dataset.num_val_samples",
          "dataset.format")


def validated_preset(data: Data, library: ShapeLibrary, source: str = "preset") -> Data:
    """``data`` as the core normalises it, checked against ``library``; or ``FdifError``."""
    preset = parse_model(Preset, data, source)
    try:
        class_table(preset, library)
    except FdifError as err:
        raise FdifError(f"{source}: {err}") from None
    return preset.model_dump(mode="json")


def blank_preset(library: ShapeLibrary, name: str = "untitled") -> Data:
    """A new preset: 64³, 2–5 objects of one sphere class, the paper's default mapper."""
    return validated_preset({"name": name, "description": "", "grid": [64, 64, 64],
                             "objects": [2, 5], "classes": ["sphere"]}, library)


def set_field(data: Data, field: str, value: Any, library: ShapeLibrary) -> Data:
    """Set one of :data:`FIELDS` (``"dataset.seed"`` sets a dataset default)."""
    if field not in FIELDS:
        raise FdifError(f"unknown preset field {field!r} (known: {', '.join(FIELDS)})")
    out = copy.deepcopy(data)
    target, key = (out.setdefault("dataset", {}), field.split(".", 1)[1]) if "." in field \
        else (out, field)
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
    return validated_preset(out, library)


def _entries(data: Data, list_name: str) -> list[Data]:
    if list_name not in LISTS:
        raise FdifError(f"unknown preset list {list_name!r} (known: {', '.join(LISTS)})")
    return data.get(list_name, [])


def _position(entries: list[Data], list_name: str, name: str) -> int:
    for i, entry in enumerate(entries):
        if entry["name"] == name:
            return i
    raise FdifError(f"{list_name}: {name!r} is not in the preset")


def _canonical_class(name: str, library: ShapeLibrary) -> str:
    """The canonical name of class ``name`` (an alias is accepted), or ``FdifError``."""
    return library.get(name).name


def add_entry(data: Data, list_name: str, name: str, library: ShapeLibrary,
              weight: float = 1.0) -> Data:
    """Add ``name`` with ``weight`` to a list (a class by canonical name or alias)."""
    if list_name == "classes":
        name = _canonical_class(name, library)
    out = copy.deepcopy(data)
    entries = out.setdefault(list_name, [])
    if any(entry["name"] == name for entry in _entries(out, list_name)):
        raise FdifError(f"{list_name}: {name!r} is already in the preset")
    entries.append({"name": name, "weight": weight})
    return validated_preset(out, library)


def remove_entry(data: Data, list_name: str, name: str, library: ShapeLibrary) -> Data:
    """Remove ``name`` from a list (a preset keeps at least one class and one mapper)."""
    out = copy.deepcopy(data)
    entries = _entries(out, list_name)
    del entries[_position(entries, list_name, name)]
    needed = {"classes": "class", "mappers": "mapper"}.get(list_name)
    if not entries and needed:
        raise FdifError(f"{list_name}: {name!r} is the last {needed} of the preset; add another "
                        "before removing it")
    if list_name == "classes":
        out.get("class_hashes", {}).pop(name, None)
    return validated_preset(out, library)


def set_weight(data: Data, list_name: str, name: str, weight: float,
               library: ShapeLibrary) -> Data:
    """Set the sampling weight of ``name`` in a list."""
    out = copy.deepcopy(data)
    entries = _entries(out, list_name)
    entries[_position(entries, list_name, name)]["weight"] = weight
    return validated_preset(out, library)


def move_entry(data: Data, list_name: str, name: str, offset: int, library: ShapeLibrary) -> Data:
    """Move ``name`` by ``offset`` places in its list (class ids follow the class order)."""
    out = copy.deepcopy(data)
    entries = _entries(out, list_name)
    i = _position(entries, list_name, name)
    j = i + offset
    if not 0 <= j < len(entries):
        raise FdifError(f"{list_name}: {name!r} cannot move {offset:+d} places")
    entries.insert(j, entries.pop(i))
    return validated_preset(out, library)


def label_summary(data: Data, library: ShapeLibrary) -> tuple[dict[str, list[int]], int,
                                                              dict[str, int]]:
    """What the labels of a preset are (spec §11.3–11.4), for the preset editor.

    Returns
    -------
    ids : dict
        The class ids (label ids in single-task mode) of each listed class, in order: one
        per mapper in mapper class mode, plus its displaced hybrids in displacement class mode.
    count : int
        The number of classes of the table (listed classes, hybrids and unions).
    tasks : dict
        Multi-task labels only: the number of labels of each task (``shape``,
        ``displacement``, ``mapper``); empty in single-task mode.
    """
    from fdif_core.compose import multi_task_vocabularies  # torch: only when asked

    preset = Preset.model_validate(data)
    table = class_table(preset, library)
    listed = {library.get(entry.name).name: entry.name for entry in preset.classes}
    ids: dict[str, list[int]] = {entry.name: [] for entry in preset.classes}
    for entry in table:
        if entry.shape.name in listed:
            ids[listed[entry.shape.name]].append(entry.id)
    tasks = {} if preset.label_mode == "single" else \
        {task: len(names) for task, names in multi_task_vocabularies(table).items()}
    return ids, len(table), tasks
