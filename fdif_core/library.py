"""Shape and preset libraries: where names resolve and in which order.

Search order (first match wins): the built-in library (``shapes/`` and ``presets/`` of this
package), the user library (``$FDIF_USER_LIBRARY`` or ``$XDG_DATA_HOME/fdif-studio``, default
``~/.local/share/fdif-studio``), then each folder given with ``--library`` in order. A later
library may add classes but never silently replace one: a name or alias that is already taken
is an error naming both files.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fdif_core.errors import FdifError
from fdif_core.files import parse_model, read_toml
from fdif_core.shapes import ShapeClass

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
INSTALLED_ROOT = Path(sys.prefix) / "share" / "fdif-studio"


def builtin_root() -> Path:
    """Folder holding the built-in ``shapes/`` and ``presets/``.

    ``$FDIF_BUILTIN_LIBRARY`` if set; else the source checkout (editable installs); else the
    copy a wheel installs under ``<prefix>/share/fdif-studio``.
    """
    if "FDIF_BUILTIN_LIBRARY" in os.environ:
        return Path(os.environ["FDIF_BUILTIN_LIBRARY"])
    if (PACKAGE_ROOT / "shapes" / "fdif").is_dir():
        return PACKAGE_ROOT
    return INSTALLED_ROOT


def user_root() -> Path:
    """The user library folder (created on first write, not here)."""
    if "FDIF_USER_LIBRARY" in os.environ:
        return Path(os.environ["FDIF_USER_LIBRARY"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "fdif-studio"


def library_roots(extra: tuple[Path, ...] = ()) -> list[Path]:
    """Library folders in resolution order."""
    return [builtin_root(), user_root(), *extra]


@dataclass
class ShapeLibrary:
    """Every shape class found in the library roots, by canonical name and alias."""

    classes: dict[str, ShapeClass] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def add(self, shape: ShapeClass, source: Path) -> None:
        """Register a class; a taken name or alias raises :class:`FdifError`."""
        for key in [shape.name, *shape.aliases]:
            owner = self.aliases.get(key)
            if owner is not None:
                raise FdifError(f"{source}: shape name {key!r} is already defined by "
                                f"{self.sources[owner]}; rename the class")
        self.classes[shape.name] = shape
        self.sources[shape.name] = source
        for key in [shape.name, *shape.aliases]:
            self.aliases[key] = shape.name

    def get(self, name: str) -> ShapeClass:
        """Resolve a canonical name or alias."""
        try:
            return self.classes[self.aliases[name]]
        except KeyError:
            raise FdifError(f"unknown shape class {name!r} (see 'fdif shapes list')") from None

    def ordered(self) -> list[ShapeClass]:
        """FDIF classes by id, then the others by name."""
        return sorted(self.classes.values(),
                      key=lambda c: (c.fdif_id is None, c.fdif_id or 0, c.name))


def load_shape_file(path: Path) -> ShapeClass:
    """Read and validate one shape class file."""
    from fdif_core.migrations import migrate_shape

    return parse_model(ShapeClass, migrate_shape(read_toml(path), path), str(path))


@lru_cache(maxsize=8)
def _load_library(roots: tuple[Path, ...]) -> ShapeLibrary:
    library = ShapeLibrary()
    for root in roots:
        folder = root / "shapes"
        if folder.is_dir():
            for path in sorted(folder.rglob("*.toml")):
                library.add(load_shape_file(path), path)
    return library


def shape_library(extra: tuple[Path, ...] = ()) -> ShapeLibrary:
    """The shape library for the default roots plus ``extra`` folders (cached)."""
    return _load_library(tuple(library_roots(tuple(Path(p) for p in extra))))


def clear_cache() -> None:
    """Forget loaded libraries (after files changed on disk)."""
    _load_library.cache_clear()


def resolve_shape(name_or_path: str | Path, extra: tuple[Path, ...] = ()) -> ShapeClass:
    """A shape class by canonical name or alias, or read from a ``.toml`` file path.

    A string that names an existing file, or ends in ``.toml``, is read as a shape file;
    anything else resolves in the library (:func:`shape_library` with ``extra`` folders).
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise FdifError(f"shape file {str(path)!r} does not exist")
        return load_shape_file(path)
    return shape_library(extra).get(str(name_or_path))


# Families of the built-in FDIF classes (spec §5), by their file's category, in browser order.
FAMILIES: dict[str, tuple[str, ...]] = {
    "Basic": ("basic",),
    "Revolution": ("revolution",),
    "Prisms": ("sector_polygon_prism", "star_polygon_prism"),
    "Convex prisms": ("convex_sector_polygon_prism", "star_convex_prism"),
    "Concave prisms": ("concave_sector_polygon_prism", "star_concave_prism"),
    "Cone prisms": ("cone_sector_polygon_prism", "star_cone_prism"),
    "Tori": ("sector_polygon_torus", "star_torus"),
    "Onioned": ("onioned_sector_polygon_prism", "onioned_star_polygon_prism",
                "onioned_convex_sector_polygon_prism", "onioned_star_convex_prism",
                "onioned_concave_sector_polygon_prism", "onioned_star_concave_prism",
                "onioned_cone_sector_polygon_prism", "onioned_star_cone_prism"),
}


def family_of(shape: ShapeClass) -> str | None:
    """The FDIF family (a key of :data:`FAMILIES`) of a built-in class, else ``None``."""
    if shape.fdif_id is None:
        return None
    for family, categories in FAMILIES.items():
        if shape.category in categories:
            return family
    return None


def save_user_shape(shape: ShapeClass, overwrite: bool = False) -> Path:
    """Write ``shape`` into the user library as ``shapes/<name>.toml``, atomically.

    Raises
    ------
    FdifError
        When the name or an alias is taken by a class in another file (a class never shadows
        another), or the file exists and ``overwrite`` is false.
    """
    from fdif_core.files import write_toml

    path = user_root() / "shapes" / f"{shape.name}.toml"
    library = shape_library()
    for key in [shape.name, *shape.aliases]:
        owner = library.aliases.get(key)
        if owner is not None and library.sources[owner].resolve() != path.resolve():
            raise FdifError(f"shape name {key!r} is already defined by {library.sources[owner]}; "
                            "choose another name")
    if path.exists() and not overwrite:
        raise FdifError(f"{path} already exists; overwrite it or choose another name")
    write_toml(path, shape)
    clear_cache()
    return path


FILE_KINDS = ("shape", "preset", "bundle")


def file_kind(path: str | Path) -> str:
    """What an FDIF file holds: ``"shape"`` (a class), ``"preset"`` or ``"bundle"``.

    A ``.fdifbundle`` is a bundle; a TOML file with a ``shape`` table is a class, one with
    ``classes`` a preset.

    Raises
    ------
    FdifError
        When the file is missing, is not TOML, or is none of the three.
    """
    path = Path(path)
    if not path.is_file():
        raise FdifError(f"{path} does not exist")
    if path.suffix == ".fdifbundle":
        return "bundle"
    data = read_toml(path)
    if "shape" in data:
        return "shape"
    if "classes" in data:
        return "preset"
    raise FdifError(f"{path}: neither a shape class (no [shape] table) nor a preset (no classes)")
