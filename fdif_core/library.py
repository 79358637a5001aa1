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
