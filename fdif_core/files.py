"""Reading and writing the project's TOML files, with errors that name the file and field."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import tomli_w
from pydantic import BaseModel, ValidationError

from fdif_core.errors import FdifError, FileFormatError

Model = TypeVar("Model", bound=BaseModel)


MAX_NESTING = 100  # tables and arrays inside each other; tomllib itself recurses past ~200
MAX_VALUES = 100_000  # values in one file, all tables and arrays together
MAX_SHOWN = 60  # characters of a value quoted in a message

# Pydantic's labels of union members and wrapped validators in an error location: not fields.
_LABELS = {"float", "int", "str", "bool", "list", "dict", "tuple", "none", "is-instance",
           "function-after", "function-before", "function-wrap", "function-plain",
           "lax-or-strict", "json-or-python", "constrained-float", "constrained-int"}
# Error types that only say "the value is not of this union member's type".
_MISMATCH = re.compile(r".*_(type|parsing)$|union_tag_not_found$")


def _location(loc: tuple) -> str:
    """``("params", "r", "tagged-union[...]", "uniform", "low")`` → ``params.r.low``."""
    out = ""
    after_tagged_union = False
    for part in loc:
        skip = after_tagged_union or "[" in str(part) or part in _LABELS
        after_tagged_union = str(part).startswith("tagged-union[")
        if skip:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def _problem(item: dict[str, Any]) -> str:
    """What is wrong, in words, with the offending value where pydantic leaves it out."""
    kind, value = item["type"], item.get("input")
    if kind == "finite_number":
        return f"{_shown(value)} is not a finite number"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    msg = item["msg"].removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error") or isinstance(value, (dict, list)):
        return msg
    return f"{msg} (got {_shown(value)})"


def _ancestors(loc: str) -> list[str]:
    """The field paths that hold ``loc``: ``a.b[0]`` → ``a``, ``a.b``."""
    return [loc[:i] for i, char in enumerate(loc) if char in ".[" and i]


def problems(err: ValidationError) -> list[tuple[str, str]]:
    """The distinct ``(field path, problem)`` pairs of a validation error, union noise folded.

    A value tried against a union (a number, a product expression or a distribution) fails
    each member; a member that only says "not my type" is dropped when another member got
    further (a deeper field, or a real reason at the same field).
    """
    items = [(_location(tuple(item["loc"])), item) for item in
             err.errors(include_url=False, include_context=False)]
    outer: set[str] = set()  # paths with a problem further in
    real: set[str] = set()  # paths with a problem that is not a type mismatch
    for loc, item in items:
        outer.update(_ancestors(loc))
        if not _MISMATCH.match(item["type"]):
            real.add(loc)
    found: dict[str, str] = {}  # one problem per field: the first real one
    for loc, item in items:
        if loc in found or (_MISMATCH.match(item["type"]) and (loc in outer or loc in real)):
            continue
        found[loc] = _problem(item)
    return list(found.items())


def validation_message(source: str, err: ValidationError) -> str:
    """One line: ``source: field.path: what is wrong`` and how many other problems there are."""
    found = problems(err)
    loc, problem = found[0] if found else ("", str(err))
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"{source}: {loc + ': ' if loc else ''}{problem}{more}"


def _submodel(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """``(model, is_list)`` when a field holds a model or a list of models."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) is list:
        args = get_args(annotation)
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0], True
    return None, False


def unknown_fields(model: type[BaseModel], data: Any, path: str = "",
                   depth: int = 0) -> list[str]:
    """Paths of the keys that ``model`` (``extra="forbid"``) and its nested models refuse.

    Checked before pydantic, which would build one error per key: a file of a million bad
    keys would take gigabytes to report.
    """
    if not isinstance(data, dict) or depth > MAX_NESTING:
        return []
    found = []
    if model.model_config.get("extra") == "forbid":
        found = [f"{path}.{key}" if path else str(key) for key in data
                 if key not in model.model_fields]
    for name, field in model.model_fields.items():
        sub, many = _submodel(field.annotation)
        value = data.get(name)
        if sub is None or value is None:
            continue
        where = f"{path}.{name}" if path else name
        if not many:
            found += unknown_fields(sub, value, where, depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                found += unknown_fields(sub, item, f"{where}[{i}]", depth + 1)
    return found


def parse_model(model: type[Model], data: dict[str, Any], source: str) -> Model:
    """Validate ``data`` as ``model``; raise :class:`FileFormatError` naming ``source``.

    The message is one line: the first problem (file, field, what is wrong) and the number of
    others.
    """
    if isinstance(data, dict) and not data and \
            any(field.is_required() for field in model.model_fields.values()):
        raise FileFormatError(f"{source}: empty (no fields)")
    unknown = unknown_fields(model, data)
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise FileFormatError(f"{source}: {unknown[0]}: unknown field{more}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise FileFormatError(validation_message(source, err)) from None


def check_structure(data: Any, source: str, depth_limit: int = MAX_NESTING,
                    size_limit: int = MAX_VALUES) -> None:
    """Refuse data with tables or arrays nested deeper than ``depth_limit``, or with more than
    ``size_limit`` values in all (no shape, preset, bundle or config comes near; validating
    millions would take gigabytes). Checked without recursion, so any depth is refused
    cleanly."""
    stack = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        if depth > depth_limit:
            raise FileFormatError(f"{source}: nesting deeper than {depth_limit} levels")
        items = value.values() if isinstance(value, dict) else value
        count += len(items)
        if count > size_limit:
            raise FileFormatError(f"{source}: more than {size_limit} values in one file")
        stack.extend((item, depth + 1) for item in items if isinstance(item, (dict, list)))


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors and too deep nesting into
    :class:`FileFormatError`."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise FileFormatError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise FileFormatError(f"{path}: nesting deeper than {MAX_NESTING} levels") from None
    except OSError as err:
        raise FileFormatError(f"{path}: cannot read: {err.strerror}") from None
    check_structure(data, str(path))
    return data


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
