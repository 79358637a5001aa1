"""Shape classes as data: file model, validation, sampling and compilation.

A shape class is a set of named parameters (numbers or distributions, drawn in file order) and a
tree of nodes ``{kind, params, children}`` whose parameters are numbers, choice strings, or the
name of a class parameter. :func:`sample_class` turns a class into a *concrete* tree (numbers
only); :func:`compile_tree` turns a concrete tree into a torch function.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fdif_core.distributions import ParamValue, draw
from fdif_core.grid import GRID_QUANTITIES
from fdif_core.nodes import node_kind
from fdif_core.nodes.base import SDF2, SDF3

SHAPE_SCHEMA_VERSION = 1


class NodeSpec(BaseModel):
    """One node of a shape tree."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    params: dict[str, float | int | str] = Field(default_factory=dict)
    children: list[NodeSpec] = Field(default_factory=list)


class ShapeClass(BaseModel):
    """A shape class file (``shapes/*.toml``)."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SHAPE_SCHEMA_VERSION
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display_name: str = ""
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    category: str = "custom"
    fdif_id: int | None = None
    params: dict[str, ParamValue] = Field(default_factory=dict)
    shape: NodeSpec

    @model_validator(mode="after")
    def _check_tree(self) -> ShapeClass:
        known: list[str] = []
        for pname, value in self.params.items():
            scale = getattr(value, "scale", None)
            if scale is not None and scale not in GRID_QUANTITIES and scale not in known:
                raise ValueError(f"params.{pname}.scale: {scale!r} is neither a grid quantity "
                                 f"({', '.join(GRID_QUANTITIES)}) nor an earlier parameter")
            known.append(pname)
        _check_node(self.shape, "shape", set(self.params), root=True)
        if not self.display_name:
            self.display_name = "".join(part.capitalize() for part in self.name.split("_"))
        return self

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the class (what presets pin)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _check_node(node: NodeSpec, path: str, class_params: set[str], root: bool = False) -> None:
    try:
        kind = node_kind(node.kind)
    except KeyError as err:
        raise ValueError(f"{path}.kind: {err.args[0]}") from None
    if root and kind.category == "profile":
        raise ValueError(f"{path}: the root must be a 3D node, not the 2D profile {node.kind!r}")
    names = {spec.name for spec in kind.params}
    for pname, value in node.params.items():
        if pname not in names:
            raise ValueError(f"{path}.params.{pname}: unknown parameter of {node.kind!r} "
                             f"(known: {', '.join(sorted(names)) or 'none'})")
        spec = kind.param(pname)
        if isinstance(value, str) and not spec.choices:
            if value not in class_params:
                raise ValueError(f"{path}.params.{pname}: {value!r} is not a class parameter")
        else:
            try:
                spec.check(value)
            except ValueError as err:
                raise ValueError(f"{path}.params.{pname}: {err}") from None
    for spec in kind.params:
        if spec.default is None and spec.name not in node.params:
            raise ValueError(f"{path}.params.{spec.name}: required parameter is missing")
    lo, hi = kind.children
    if not lo <= len(node.children) <= hi:
        want = str(lo) if lo == hi else f"{lo}..{hi}"
        raise ValueError(f"{path}.children: {node.kind!r} takes {want} children, "
                         f"got {len(node.children)}")
    for i, child in enumerate(node.children):
        cpath = f"{path}.children[{i}]"
        ckind = node_kind(child.kind) if child.kind in _known_kinds() else None
        if ckind is not None and kind.child_category is not None \
                and ckind.category != kind.child_category:
            raise ValueError(f"{cpath}: {node.kind!r} needs a {kind.child_category} child, "
                             f"not {child.kind!r}")
        if ckind is not None and kind.child_category is None and ckind.category == "profile":
            raise ValueError(f"{cpath}: {node.kind!r} needs 3D children, not the profile "
                             f"{child.kind!r}")
        _check_node(child, cpath, class_params)


def _known_kinds() -> set[str]:
    from fdif_core.nodes import NODE_KINDS

    return set(NODE_KINDS)


def sample_params(shape: ShapeClass, rng: np.random.Generator, grid_size: dict[str, float],
                  overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Draw every class parameter in file order; ``overrides`` replace draws by name."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(shape.params)
    if unknown:
        raise KeyError(f"{shape.name} has no parameter {sorted(unknown)[0]!r} "
                       f"(parameters: {', '.join(shape.params) or 'none'})")
    env = dict(grid_size)
    values: dict[str, float] = {}
    for pname, value in shape.params.items():
        drawn = draw(value, rng, env)  # always draw, so overrides do not shift the stream
        values[pname] = overrides.get(pname, drawn)
        env[pname] = values[pname]
    return values


def concrete_tree(node: NodeSpec, values: dict[str, float]) -> dict[str, Any]:
    """Substitute class parameter values into a node tree (numbers and choices only)."""
    kind = node_kind(node.kind)
    params = {}
    for pname, value in node.params.items():
        if isinstance(value, str) and not kind.param(pname).choices:
            value = values[value]
        params[pname] = value
    return {"kind": node.kind, "params": params,
            "children": [concrete_tree(child, values) for child in node.children]}


def sample_class(shape: ShapeClass, rng: np.random.Generator, grid_size: dict[str, float],
                 overrides: dict[str, float] | None = None) -> tuple[dict[str, float], dict]:
    """Sample a shape class into ``(parameter values, concrete tree)``."""
    values = sample_params(shape, rng, grid_size, overrides)
    return values, concrete_tree(shape.shape, values)


def compile_tree(tree: dict[str, Any]) -> SDF3 | SDF2:
    """Build the torch function of a concrete tree, validating every value."""
    kind = node_kind(tree["kind"])
    children = [compile_tree(child) for child in tree.get("children", [])]
    params = {}
    for spec in kind.params:
        if spec.name in tree.get("params", {}):
            try:
                params[spec.name] = spec.check(tree["params"][spec.name])
            except ValueError as err:
                raise ValueError(f"{tree['kind']}.{spec.name}: {err}") from None
        elif spec.default is not None:
            params[spec.name] = spec.default
    return kind.build(children=children, **params)
