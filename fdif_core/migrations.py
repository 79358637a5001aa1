"""Schema migrations: old shape and preset files keep loading.

Each file carries ``schema_version``. A migration turns version ``n`` data into version
``n + 1``; files newer than this program are refused with a clear message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fdif_core.errors import FileFormatError

SHAPE_VERSION = 1
PRESET_VERSION = 1


def _check(data: dict[str, Any], path: Path | str, current: int) -> dict[str, Any]:
    version = data.get("schema_version", current)
    if not isinstance(version, int) or version < 1:
        raise FileFormatError(f"{path}: schema_version: {version!r} is not a positive integer")
    if version > current:
        raise FileFormatError(f"{path}: schema_version {version} is newer than this program "
                              f"understands ({current}); upgrade fdif-studio")
    return data


def migrate_shape(data: dict[str, Any], path: Path | str) -> dict[str, Any]:
    """Bring shape-class data to the current schema."""
    return _check(data, path, SHAPE_VERSION)


def migrate_preset(data: dict[str, Any], path: Path | str) -> dict[str, Any]:
    """Bring preset data to the current schema."""
    return _check(data, path, PRESET_VERSION)
