"""Preset bundles: one TOML file (``.fdifbundle``) with a preset and every shape class it uses.

A bundle lets a machine that has only the package installed generate exactly what the author
generated: it carries the classes themselves (not their names) with their content hashes, and
the preset's hash. Loading refuses a bundle whose content does not match its hashes. A bundle's
classes resolve only among themselves, so no built-in, user or ``--library`` class can change
what it means.

Layout::

    format = "fdif-bundle"
    schema_version = 1
    created_by = "fdif-studio 0.1.0"
    preset_hash = "..."
    [preset]            # the preset file's content
    [[shapes]]          # one per class
    hash = "..."
    [shapes.shape]      # the shape file's content
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field

from fdif_core.errors import FdifError, FileFormatError
from fdif_core.files import atomic_write_bytes, output_file, parse_model, read_toml, write_toml
from fdif_core.library import ShapeLibrary, clear_cache, library_roots, shape_library, user_root
from fdif_core.migrations import migrate_preset, migrate_shape
from fdif_core.presets import LoadedPreset, Preset, class_table, load_preset, preset_from_file
from fdif_core.shapes import ShapeClass

BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".fdifbundle"
_HASH = r"^[0-9a-f]{64}$"


class BundledShape(BaseModel):
    """One shape class inside a bundle."""

    model_config = ConfigDict(extra="forbid")
    hash: str = Field(pattern=_HASH)
    shape: dict[str, Any]


class Bundle(BaseModel):
    """The bundle file model (classes and preset are validated separately, with migrations)."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["fdif-bundle"]
    schema_version: int = Field(ge=1)
    created_by: str = ""
    preset_hash: str = Field(pattern=_HASH)
    preset: dict[str, Any]
    shapes: list[BundledShape] = Field(min_length=1)


def _version() -> str:
    try:
        return metadata.version("fdif-studio")
    except metadata.PackageNotFoundError:
        return "unknown"


def bundle_data(loaded: LoadedPreset) -> dict[str, Any]:
    """The TOML-ready content of a bundle for a loaded preset.

    Every class the preset names is resolved in the preset's library (pinned hashes are checked
    by :func:`~fdif_core.presets.class_table`) and stored once with its content hash.
    """
    preset = loaded.preset
    class_table(preset, loaded.library)  # resolves every name and checks pinned hashes
    shapes: dict[str, ShapeClass] = {}
    for entry in preset.classes:
        shape = loaded.library.get(entry.name)
        shapes.setdefault(shape.name, shape)
    return {
        "format": "fdif-bundle",
        "schema_version": BUNDLE_VERSION,
        "created_by": f"fdif-studio {_version()}",
        "preset_hash": preset.content_hash,
        "preset": preset.model_dump(mode="json", exclude_none=True),
        "shapes": [{"hash": s.content_hash, "shape": s.model_dump(mode="json", exclude_none=True)}
                   for s in shapes.values()],
    }


def export_bundle(name_or_path: str | Path, out: Path,
                  extra_libraries: tuple[Path, ...] = ()) -> Path:
    """Write the bundle of a preset (name, ``.toml`` or bundle) to ``out`` atomically.

    Returns
    -------
    Path
        The file written: ``out`` (``.fdifbundle`` appended when it has another suffix), or
        ``out/<preset name>.fdifbundle`` when ``out`` is an existing folder.

    Raises
    ------
    FdifError
        An unknown preset, a class that does not resolve, or a path that cannot be written.
    """
    return write_bundle(load_preset(name_or_path, extra_libraries), out)


def write_bundle(loaded: LoadedPreset, out: Path) -> Path:
    """Write the bundle of a loaded preset (e.g. one being edited) to ``out`` atomically:
    ``.fdifbundle`` is appended when ``out`` has another suffix, and an existing folder gets
    ``<preset name>.fdifbundle``. Returns the path written."""
    out = Path(out)
    if not out.is_dir() and out.suffix != BUNDLE_SUFFIX:
        out = out.with_name(out.name + BUNDLE_SUFFIX)
    data = bundle_data(loaded)
    out = output_file(out, f"{loaded.preset.name}{BUNDLE_SUFFIX}")
    atomic_write_bytes(out, tomli_w.dumps(data).encode())
    return out


def load_bundle(path: str | Path) -> LoadedPreset:
    """Read and verify a bundle; its classes form the whole library of the preset.

    Raises
    ------
    FileFormatError
        When the file does not validate, a hash does not match its content, a class is
        missing or listed twice.
    """
    path = Path(path)
    if not path.is_file():
        raise FdifError(f"bundle file {str(path)!r} does not exist")
    raw = read_toml(path)
    if raw.get("format") != "fdif-bundle":
        raise FileFormatError(f"{path}: format: not an fdif bundle (expected 'fdif-bundle')")
    version = raw.get("schema_version")
    if isinstance(version, int) and version > BUNDLE_VERSION:
        raise FileFormatError(f"{path}: schema_version {version} is newer than this program "
                              f"understands ({BUNDLE_VERSION}); upgrade fdif-studio")
    bundle = parse_model(Bundle, raw, str(path))
    library = ShapeLibrary()
    for i, entry in enumerate(bundle.shapes):
        where = f"{path}: shapes[{i}].shape"
        shape = parse_model(ShapeClass, migrate_shape(dict(entry.shape), where), where)
        if shape.content_hash != entry.hash:
            raise FileFormatError(
                f"{path}: shapes[{i}].hash: class {shape.name!r} hashes to "
                f"{shape.content_hash[:12]}…, not {entry.hash[:12]}… as recorded; the bundle "
                "was modified or is corrupt, refusing it")
        try:
            library.add(shape, Path(f"{path}#{shape.name}"))
        except FdifError as err:
            raise FileFormatError(f"{path}: shapes[{i}]: {err}") from None
    where = f"{path}: preset"
    preset = parse_model(Preset, migrate_preset(dict(bundle.preset), where), where)
    if preset.content_hash != bundle.preset_hash:
        raise FileFormatError(f"{path}: preset_hash: the preset hashes to "
                              f"{preset.content_hash[:12]}…, not {bundle.preset_hash[:12]}… as "
                              "recorded; the bundle was modified or is corrupt, refusing it")
    for i, entry in enumerate(preset.classes):
        if entry.name not in library.aliases:
            raise FileFormatError(f"{path}: preset.classes[{i}]: class {entry.name!r} is not in "
                                  "the bundle")
    try:
        class_table(preset, library)
    except FdifError as err:
        raise FileFormatError(f"{path}: {err}") from None
    return LoadedPreset(preset, library, str(path))


@dataclass(frozen=True)
class ImportStep:
    """What importing does with one item of a bundle.

    ``action`` is ``"write"`` (new to the libraries), ``"replace"`` (a differing file of the
    user library, with ``force``), ``"same"`` (already there with identical content: nothing
    to write) or ``"refuse"`` (it would shadow a different class or preset; ``reason`` says
    which).
    """

    kind: str  # "class" or "preset"
    name: str
    action: str
    target: Path | None
    reason: str = ""


@dataclass(frozen=True)
class ImportPlan:
    """Every step of importing a bundle; :attr:`refused` lists what blocks it."""

    loaded: LoadedPreset
    steps: list[ImportStep]

    @property
    def refused(self) -> list[ImportStep]:
        return [step for step in self.steps if step.action == "refuse"]

    @property
    def writes(self) -> list[ImportStep]:
        return [step for step in self.steps if step.action in ("write", "replace")]


def _class_step(path: Path, name: str, shape: ShapeClass, existing: ShapeLibrary, root: Path,
                force: bool) -> ImportStep:
    owner = next((existing.aliases[k] for k in [name, *shape.aliases] if k in existing.aliases),
                 None)
    if owner is None:
        return ImportStep("class", name, "write", root / "shapes" / "imported" / f"{name}.toml")
    source = existing.sources[owner]
    if existing.classes[owner].content_hash == shape.content_hash and owner == name:
        return ImportStep("class", name, "same", source)
    if force and _inside(source, root) and owner == name:
        return ImportStep("class", name, "replace", source)
    return ImportStep("class", name, "refuse", None,
                      f"{path}: class {name!r} differs from {owner!r} already defined by "
                      f"{source}; it would shadow it (rename one"
                      f"{' or use --force' if _inside(source, root) else ''})")


def _preset_step(path: Path, preset: Preset, root: Path, force: bool,
                 extra_libraries: tuple[Path, ...]) -> ImportStep:
    target = root / "presets" / f"{preset.name}.toml"
    for lib in library_roots(extra_libraries):
        other = lib / "presets" / f"{preset.name}.toml"
        if not other.is_file():
            continue
        if preset_from_file(other).content_hash == preset.content_hash:
            return ImportStep("preset", preset.name, "same", other)
        if force and _inside(other, root):
            return ImportStep("preset", preset.name, "replace", other)
        return ImportStep("preset", preset.name, "refuse", None,
                          f"{path}: preset {preset.name!r} differs from {other}; it would "
                          "shadow it (rename the preset"
                          f"{' or use --force' if _inside(other, root) else ''})")
    return ImportStep("preset", preset.name, "write", target)


def plan_import(path: str | Path, force: bool = False,
                extra_libraries: tuple[Path, ...] = ()) -> ImportPlan:
    """What importing bundle ``path`` into the user library would do, writing nothing.

    A class that already resolves to identical content is not written again. A name that the
    libraries already use for different content is refused (no silent shadowing); ``force``
    only allows replacing files that are themselves in the user library.
    """
    loaded = load_bundle(path)
    root, existing = user_root(), shape_library(extra_libraries)
    steps = [_class_step(Path(path), name, shape, existing, root, force)
             for name, shape in loaded.library.classes.items()]
    steps.append(_preset_step(Path(path), loaded.preset, root, force, extra_libraries))
    return ImportPlan(loaded, steps)


def import_bundle(path: str | Path, force: bool = False,
                  extra_libraries: tuple[Path, ...] = ()) -> list[Path]:
    """Add a bundle's preset and classes to the user library (see :func:`plan_import`); a
    refused step raises ``FdifError`` before anything is written.

    Returns
    -------
    list of Path
        The files written.
    """
    plan = plan_import(path, force, extra_libraries)
    if plan.refused:
        raise FdifError(plan.refused[0].reason)
    written = []
    for step in plan.writes:
        model = plan.loaded.preset if step.kind == "preset" else plan.loaded.library.classes[step.name]
        write_toml(step.target, model)
        written.append(step.target)
    clear_cache()
    return written


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return False
    return True
