"""Reading and writing the project's TOML files, with errors that name the file and field."""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import tomli_w
from pydantic import BaseModel, ValidationError

from fdif_core.errors import FdifError, FileFormatError

Model = TypeVar("Model", bound=BaseModel)


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_message(source: str, err: ValidationError) -> str:
    """One line per problem: ``source: field.path: what is wrong``."""
    lines = []
    for item in err.errors():
        loc = _location(tuple(p for p in item["loc"] if not str(p).startswith(
            ("constant", "uniform", "normal", "randint", "choice", "float", "int", "str",
             "union", "tagged-union", "list", "dict", "is-instance", "json-or-python"))))
        msg = item["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {loc + ': ' if loc else ''}{msg}")
    return "\n".join(dict.fromkeys(lines))


def parse_model(model: type[Model], data: dict[str, Any], source: str) -> Model:
    """Validate ``data`` as ``model``; raise :class:`FileFormatError` naming ``source``."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise FileFormatError(validation_message(source, err)) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into :class:`FileFormatError`."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise FileFormatError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise FileFormatError(f"{path}: cannot read: {err.strerror}") from None


def _umask() -> int:
    """The process umask, read once at import (setting it is not thread-safe later)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open(path, "w") gives


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place.

    The file gets the permissions a plain ``open`` would give it (not ``mkstemp``'s 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def output_file(out: Path, default_name: str) -> Path:
    """Where a command that writes one file writes it, checked before any work is done.

    ``out`` itself, or ``out / default_name`` when ``out`` is an existing folder. Missing
    parent folders are created, and the folder is proved writable by creating and removing a
    temporary file in it.

    Raises
    ------
    FdifError
        ``"cannot write PATH: REASON"`` with the operating system's reason.
    """
    path = Path(out)
    if path.is_dir():
        path = path / default_name
    if path.is_dir():
        raise FdifError(f"cannot write {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FdifError(f"cannot write {path}: cannot create the folder {err.filename}: "
                        f"{err.strerror or err}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise FdifError(f"cannot write {path}: {err.strerror or err}") from None
    return path


def write_toml(path: Path, model: BaseModel) -> None:
    """Save a model as TOML atomically (``None`` fields are left out)."""
    data = model.model_dump(mode="json", exclude_none=True)
    atomic_write_bytes(path, tomli_w.dumps(data).encode())
