"""Generation presets: what a synthetic dataset is made of (spec §11).

A preset names the grid, the number of objects, the shape classes (with optional weights),
mappers and displacements (weights, probability of none, augmentation or separate classes),
the label mode, the overlap policy and dataset defaults. :func:`class_table` expands it into
the numbered classes of spec §11.3.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from fdif_core.displacements import DISPLACEMENTS, get_displacement
from fdif_core.errors import FdifError
from fdif_core.files import parse_model, read_toml
from fdif_core.library import ShapeLibrary, library_roots, shape_library, user_root
from fdif_core.mappers import MAPPERS
from fdif_core.migrations import PRESET_VERSION, migrate_preset
from fdif_core.shapes import ShapeClass

MAX_WEIGHT = 1e6  # weights are relative; products of three stay far from overflow


class Weighted(BaseModel):
    """A name with a sampling weight."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str
    weight: float = Field(default=1.0, ge=0, le=MAX_WEIGHT)


def _as_tables(items: object) -> object:
    """Names written as plain strings become ``{name}`` tables (before validation)."""
    if not isinstance(items, list):
        return items
    return [{"name": item} if isinstance(item, str) else item for item in items]


def _distinct_with_weight(items: list[Weighted]) -> list[Weighted]:
    names = [w.name for w in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{dupes[0]!r} is listed twice")
    if items and sum(w.weight for w in items) <= 0:
        raise ValueError("the weights sum to zero")
    return items


class DatasetDefaults(BaseModel):
    """Defaults of ``fdif generate`` for this preset."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    seed: int = Field(default=0, ge=0)
    num_samples: int = Field(default=100, ge=1)
    num_val_samples: int = Field(default=0, ge=0)
    format: Literal["decathlon", "nnunet", "classification"] = "decathlon"


class Preset(BaseModel):
    """A generation preset file (``presets/*.toml``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    schema_version: int = PRESET_VERSION
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    grid: tuple[int, int, int] = (96, 96, 96)
    objects: tuple[int, int] = (20, 20)
    transform: bool = True
    classes: list[Weighted] = Field(min_length=1)
    mappers: list[Weighted] = Field(default_factory=lambda: [Weighted(name="inverse_cube")])
    mapper_mode: Literal["augmentation", "class"] = "augmentation"
    displacements: list[Weighted] = Field(default_factory=list)
    displacement_mode: Literal["augmentation", "class"] = "augmentation"
    none_probability: float | None = Field(default=None, ge=0, le=1)
    label_mode: Literal["single", "multi_task"] = "single"
    overlap: Literal["smaller_wins", "larger_wins", "last_wins"] = "smaller_wins"
    combined_unions: int = Field(default=0, ge=0, le=10000)
    union_seed: int = Field(default=0, ge=0)
    class_hashes: dict[str, str] = Field(default_factory=dict)
    dataset: DatasetDefaults = Field(default_factory=DatasetDefaults)

    @field_validator("classes", "mappers", "displacements", mode="before")
    @classmethod
    def _names(cls, v: object) -> object:
        return _as_tables(v)

    @field_validator("classes", "mappers", "displacements")
    @classmethod
    def _weights(cls, v: list[Weighted]) -> list[Weighted]:
        return _distinct_with_weight(v)

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: tuple[int, int, int]) -> tuple[int, int, int]:
        if min(v) < 8 or max(v) > 1024:
            raise ValueError(f"grid {list(v)} is outside 8..1024 voxels per axis")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Preset:
        lo, hi = self.objects
        if not 1 <= lo <= hi <= 1000:
            raise ValueError(f"objects: [{lo}, {hi}] must satisfy 1 <= min <= max <= 1000")
        if not self.mappers:
            raise ValueError("mappers: at least one mapper is needed")
        for m in self.mappers:
            if m.name not in MAPPERS:
                raise ValueError(f"mappers: unknown mapper {m.name!r} (known: {', '.join(MAPPERS)})")
        for d in self.displacements:
            if d.name not in DISPLACEMENTS:
                raise ValueError(f"displacements: unknown displacement {d.name!r} "
                                 f"(known: {', '.join(DISPLACEMENTS)})")
        if self.label_mode == "multi_task" and "augmentation" in (self.mapper_mode,
                                                                  self.displacement_mode):
            raise ValueError("label_mode: multi_task needs mapper_mode and displacement_mode "
                             "'class' (spec §11.4)")
        if self.none_probability is not None and self.displacement_mode != "augmentation":
            raise ValueError("none_probability only applies to displacement_mode 'augmentation'")
        return self

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the preset (recorded in manifests)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ClassEntry:
    """One numbered output class (spec §11.3)."""

    id: int
    shape: ShapeClass
    mapper: str | None  # None: drawn per object (augmentation)
    displacement: str | None  # None: drawn per object (augmentation) or never (class mode)
    weight: float
    hybrid_name: str
    display_name: str


def class_table(preset: Preset, library: ShapeLibrary) -> list[ClassEntry]:
    """Expand a preset into its numbered classes, ids from 1 (background is 0)."""
    shapes = [(library.get(c.name), c.weight) for c in preset.classes]
    for shape, _ in shapes:
        pinned = preset.class_hashes.get(shape.name)
        if pinned is not None and pinned != shape.content_hash:
            raise FdifError(f"preset {preset.name!r} pins shape {shape.name!r} to hash "
                            f"{pinned[:12]}…, but the library has {shape.content_hash[:12]}…")
    mapper_aug = preset.mapper_mode == "augmentation"
    mappers = [("inverse_cube", 1.0)] if mapper_aug else [(m.name, m.weight) for m in preset.mappers]
    entries: list[ClassEntry] = []

    def add(shape: ShapeClass, weight: float, mapper: str, disp: str | None) -> None:
        label = shape.display_name
        if disp is None:
            hybrid, display = f"{label}_{mapper}", f"{label} + {mapper}"
        else:
            long = get_displacement(disp).long_name
            hybrid = f"{label}_disp_{long}_{mapper}"
            display = f"{label} + displacement({long}) + {mapper}"
        entries.append(ClassEntry(len(entries) + 1, shape, None if mapper_aug else mapper, disp,
                                  weight, hybrid, display))

    for shape, weight in shapes:
        for mapper, mweight in mappers:
            add(shape, weight * mweight, mapper, None)
    if preset.displacements and preset.displacement_mode == "class":
        for shape, weight in shapes:
            for d in preset.displacements:
                for mapper, mweight in mappers:
                    add(shape, weight * d.weight * mweight, mapper, d.name)
    if preset.combined_unions:
        from fdif_core.unions import union_catalogue

        for union in union_catalogue([s for s, _ in shapes], preset.combined_unions,
                                     preset.union_seed):
            a_name, b_name = union.display_name.split("_union_")
            for mapper, mweight in mappers:
                entries.append(ClassEntry(
                    len(entries) + 1, union, None if mapper_aug else mapper, None, mweight,
                    f"{union.aliases[0]}_{mapper}", f"({a_name} \u222a {b_name}) + {mapper}"))
    return entries


@dataclass(frozen=True)
class LoadedPreset:
    """A preset with the shape library its class names resolve in."""

    preset: Preset
    library: ShapeLibrary
    source: str


def load_preset(name_or_path: str | Path, extra_libraries: tuple[Path, ...] = ()) -> LoadedPreset:
    """Load a preset by file path, bundle path, or name (see :mod:`fdif_core.library`).

    A bundle (``.fdifbundle``) brings its own shape classes, checked against their hashes.
    """
    path = Path(name_or_path)
    if path.suffix == ".fdifbundle":
        from fdif_core.bundles import load_bundle

        return load_bundle(path)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise FdifError(f"preset file {str(path)!r} does not exist")
        preset = preset_from_file(path)
        return LoadedPreset(preset, shape_library(extra_libraries), str(path))
    for root in library_roots(extra_libraries):
        candidate = root / "presets" / f"{name_or_path}.toml"
        if candidate.is_file():
            return LoadedPreset(preset_from_file(candidate), shape_library(extra_libraries),
                                str(candidate))
    known = sorted({p.stem for root in library_roots(extra_libraries)
                    for p in (root / "presets").glob("*.toml")})
    raise FdifError(f"unknown preset {str(name_or_path)!r} (known: {', '.join(known)})")


def preset_from_file(path: Path) -> Preset:
    """Read and validate a preset TOML file."""
    return parse_model(Preset, migrate_preset(read_toml(path), path), str(path))


def save_user_preset(preset: Preset, overwrite: bool = False) -> Path:
    """Write ``preset`` into the user library as ``presets/<name>.toml``, atomically.

    Raises
    ------
    FdifError
        When another library already has a preset of that name (a preset never shadows
        another), or the file exists and ``overwrite`` is false.
    """
    path = user_root() / "presets" / f"{preset.name}.toml"
    for root in library_roots():
        other = root / "presets" / f"{preset.name}.toml"
        if other.is_file() and other.resolve() != path.resolve():
            raise FdifError(f"preset name {preset.name!r} is already defined by {other}; "
                            "choose another name")
    if path.exists() and not overwrite:
        raise FdifError(f"{path} already exists; overwrite it or choose another name")
    write_preset(path, preset)
    return path


def write_preset(path: Path, preset: Preset) -> None:
    """Save ``preset`` as TOML atomically, as a person would write it: a list entry of weight
    1 as its bare name, empty and unset fields left out. It reads back as the same preset."""
    import tomli_w

    from fdif_core.files import atomic_write_bytes

    data = preset.model_dump(mode="json", exclude_none=True)
    for key in ("classes", "mappers", "displacements"):
        data[key] = [e["name"] if e["weight"] == 1.0 else e for e in data[key]]
    if not data["class_hashes"]:
        del data["class_hashes"]
    atomic_write_bytes(Path(path), tomli_w.dumps(data).encode())
