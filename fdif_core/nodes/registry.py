"""The node-kind registry: every kind of node a shape tree may contain.

A node kind is a small class with a ``build`` constructor registered by :func:`register_node`.
Its :class:`ParamSpec` list is the metadata an editor needs (range, unit, default, description).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

CATEGORIES = ("primitive", "profile", "construction", "csg", "domain", "displacement")
UNITS = ("voxel", "ratio", "count", "radian", "seed", "choice", "flag", "text", "voxel^-1")


@dataclass(frozen=True)
class ParamSpec:
    """Metadata of one node parameter.

    Parameters
    ----------
    name : str
        Parameter name as written in shape files.
    description : str
        One line for tooltips and ``fdif shapes show``.
    default : float or None
        Value used when a file leaves the parameter out; ``None`` makes it required.
    minimum, maximum : float or None
        Inclusive valid range of the concrete value.
    unit : str
        One of :data:`UNITS`: ``voxel`` (a length), ``ratio``, ``count``, ``radian``, ``seed``,
        ``choice``, ``flag`` (0 or 1), ``text`` (a string such as a formula) or ``voxel^-1``
        (a frequency or curvature).
    integer : bool
        The value must be an integer.
    choices : tuple of str
        For ``unit == "choice"``: the allowed values (written as strings in files).
    """

    name: str
    description: str
    default: float | str | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str = "voxel"
    integer: bool = False
    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> Any:
        """Return ``value`` if it is valid for this parameter, else raise ``ValueError``."""
        if self.unit == "text":
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not a string")
            return value
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{value!r} is not one of {list(self.choices)}")
            return value
        finite_number(value)
        if self.integer and float(value) != int(value):
            raise ValueError(f"{value} is not an integer")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{value} is below the minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{value} is above the maximum {self.maximum}")
        return int(value) if self.integer else float(value)


def finite_number(value: Any) -> float:
    """``value`` as a float if it is a finite number (not a bool), else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"an integer of {len(str(abs(value)))} digits is too large") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


@dataclass(frozen=True)
class NodeKind:
    """A registered node kind."""

    name: str
    category: str
    description: str
    params: tuple[ParamSpec, ...]
    children: tuple[int, int]
    child_category: str | None
    build: Callable[..., Any] = field(repr=False)
    extra_params: bool = False
    check: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)

    def param(self, name: str) -> ParamSpec:
        """The spec of parameter ``name`` (``KeyError`` if unknown)."""
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)


NODE_KINDS: dict[str, NodeKind] = {}


def register_node(
    name: str,
    *,
    category: str,
    description: str,
    params: Sequence[ParamSpec] = (),
    children: int | tuple[int, int] = 0,
    child_category: str | None = None,
    extra_params: bool = False,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Callable[[type], type]:
    """Class decorator that registers a node kind under ``name``.

    The class is instantiated as ``cls(children=[...], **params)``.

    Parameters
    ----------
    name : str
        Kind name as written in shape files.
    category : str
        One of :data:`CATEGORIES`.
    description : str
        One line for editors and ``fdif shapes show``.
    params : sequence of ParamSpec
        The declared parameters.
    children : int or (int, int)
        Exact number, or inclusive range, of children.
    child_category : str, optional
        Category every child must have (``None``: any 3D node).
    extra_params : bool
        Accept numeric parameters beyond ``params`` (named values of a formula); they are
        passed to the constructor as the dictionary ``extra``.
    check : callable, optional
        ``check(params)`` validates the parameters together (raising ``ValueError``); called
        with the file's values, where a number may still be the name of a class parameter.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown node category {category!r}")
    count = (children, children) if isinstance(children, int) else children

    def decorate(cls: type) -> type:
        if name in NODE_KINDS:
            raise ValueError(f"node kind {name!r} is registered twice")
        for spec in params:
            if spec.unit not in UNITS:
                raise ValueError(f"{name}.{spec.name}: unknown unit {spec.unit!r}")
        NODE_KINDS[name] = NodeKind(name, category, description, tuple(params), count,
                                    child_category, cls, extra_params, check)
        cls.kind = name
        return cls

    return decorate


def node_kind(name: str) -> NodeKind:
    """Look up a node kind, with an error that lists the known kinds."""
    try:
        return NODE_KINDS[name]
    except KeyError:
        known = ", ".join(sorted(NODE_KINDS))
        raise KeyError(f"unknown node kind {name!r} (known: {known})") from None
