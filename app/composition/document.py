"""The preset being edited, with the shape library its classes resolve in."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject

from app.document import Data, Document
from fdif_core.library import ShapeLibrary, shape_library
from fdif_core.preset_editing import blank_preset, validated_preset
from fdif_core.presets import LoadedPreset, Preset, write_preset


class PresetDocument(Document):
    """A generation preset. ``library`` is where its classes resolve: the user's libraries,
    or a bundle's own classes for a preset opened from a bundle."""

    kind = "preset"

    def __init__(self, parent: QObject | None = None) -> None:
        self.library: ShapeLibrary = shape_library()
        self.source = "preset"
        super().__init__(blank_preset(self.library), parent)

    @property
    def preset(self) -> Preset:
        return self.model

    @property
    def loaded(self) -> LoadedPreset:
        """The preset as the core's generators take it."""
        return LoadedPreset(self.preset, self.library, self.source)

    def open(self, loaded: LoadedPreset, path: Path | None, read_only: bool) -> None:
        """Start editing a preset the core loaded (its library comes with it)."""
        self.library, self.source = loaded.library, loaded.source
        self.load(loaded.preset.model_dump(mode="json"), path, read_only)

    def validate(self, data: Data, source: str) -> Data:
        return validated_preset(data, self.library, source)

    def build(self, data: Data) -> Preset:
        return Preset.model_validate(data)

    def write(self, path: Path) -> None:
        write_preset(path, self.preset)

    def structure(self, data: Data) -> tuple:
        """What the editor's rows are built from: the names in each list and the modes."""
        lists = tuple(tuple(e["name"] for e in data[key])
                      for key in ("classes", "mappers", "displacements"))
        return lists, data["mapper_mode"], data["displacement_mode"], data["label_mode"]
