"""Shape classes as data: file model, validation, sampling and compilation.

A shape class is a set of named parameters (numbers, product expressions such as
``"0.2*min_grid"`` or distributions, drawn in file order) and a tree of nodes
``{kind, params, children}`` whose parameters are numbers, choice strings, text (a formula), or
the name of a class parameter. :func:`sample_class` turns a class into a *concrete* tree (numbers
only); :func:`compile_tree` turns a concrete tree into a torch function.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fdif_core.distributions import ParamValue, _Dist, eval_product, product_names
from fdif_core.errors import FdifError
from fdif_core.grid import GRID_QUANTITIES
from fdif_core.nodes import NODE_KINDS, node_kind
from fdif_core.nodes.base import SDF2, SDF3
from fdif_core.nodes.registry import finite_number

SHAPE_SCHEMA_VERSION = 1
MAX_NODE_DEPTH = 32  # nodes inside each other; shipped classes use at most 5


class NodeSpec(BaseModel):
    """One node of a shape tree."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: str
    params: dict[str, float | int | str] = Field(default_factory=dict)
    children: list[NodeSpec] = Field(default_factory=list)


class ShapeClass(BaseModel):
    """A shape class file (``shapes/*.toml``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    schema_version: int = SHAPE_SCHEMA_VERSION
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display_name: str = ""
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    category: str = "custom"
    fdif_id: int | None = None
    params: dict[str, ParamValue] = Field(default_factory=dict)
    shape: NodeSpec

    @model_validator(mode="before")
    @classmethod
    def _shallow_tree(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_tree_depth(data.get("shape"))
        return data

    @model_validator(mode="after")
    def _check_tree(self) -> ShapeClass:
        parameter_order(self.params)
        _check_node(self.shape, "shape", set(self.params), root=True)
        if not self.display_name:
            self.display_name = "".join(part.capitalize() for part in self.name.split("_"))
        return self

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the class (what presets pin)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def check_tree_depth(node: Any, limit: int = MAX_NODE_DEPTH) -> None:
    """Refuse a node tree (data, before validation) with nodes nested deeper than ``limit``.

    Checked without recursion, before anything recurses over the tree (validation, sampling,
    compilation and evaluation all do).
    """
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict):
            continue
        if depth > limit:
            raise ValueError(f"shape: nodes nested deeper than {limit} levels")
        children = item.get("children")
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in children)


def _references(value: ParamValue) -> tuple[str, str | None]:
    """``(field path suffix, product expression)`` of a parameter value."""
    if isinstance(value, str):
        return "", value
    return ".scale", getattr(value, "scale", None)


def parameter_order(params: dict[str, ParamValue]) -> list[str]:
    """Evaluation order of class parameters: each after the ones its expression names.

    Distributions always *draw* in file order (see :func:`sample_params`); this order only
    decides when scales and product expressions are applied, so a parameter may refer to one
    written later in the file (TOML writers put plain values before tables).

    Raises
    ------
    ValueError
        A reference to an unknown name, a syntax error or a cycle, naming the field.
    """
    deps: dict[str, list[str]] = {}
    for pname, value in params.items():
        suffix, expr = _references(value)
        deps[pname] = []
        if expr is None:
            continue
        try:
            names = product_names(expr)
        except ValueError as err:
            raise ValueError(f"params.{pname}{suffix}: {err}") from None
        for ref in names:
            if ref in GRID_QUANTITIES:
                continue
            if ref not in params:
                raise ValueError(f"params.{pname}{suffix}: {ref!r} is neither a grid quantity "
                                 f"({', '.join(GRID_QUANTITIES)}) nor a parameter")
            deps[pname].append(ref)
    order: list[str] = []
    state: dict[str, int] = {}  # 1: in progress, 2: done

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*chain[chain.index(name):], name])
            raise ValueError(f"params.{name}: circular reference {cycle}")
        state[name] = 1
        for ref in deps[name]:
            visit(ref, [*chain, name])
        state[name] = 2
        order.append(name)

    for pname in params:
        visit(pname, [])
    return order


def _check_node(node: NodeSpec, path: str, class_params: set[str], root: bool = False) -> None:
    try:
        kind = node_kind(node.kind)
    except KeyError as err:
        raise ValueError(f"{path}.kind: {err.args[0]}") from None
    if root and kind.category == "profile":
        raise ValueError(f"{path}: the root must be a 3D node, not the 2D profile {node.kind!r}")
    if not root and node.kind == "mapper":
        raise ValueError(f"{path}: a mapper node can only be the root of a class")
    names = {spec.name for spec in kind.params}
    for pname, value in node.params.items():
        if pname not in names:
            if not kind.extra_params:
                raise ValueError(f"{path}.params.{pname}: unknown parameter of {node.kind!r} "
                                 f"(known: {', '.join(sorted(names)) or 'none'})")
            _check_extra(value, f"{path}.params.{pname}", class_params)
            continue
        spec = kind.param(pname)
        if spec.unit == "text":
            if not isinstance(value, str):
                raise ValueError(f"{path}.params.{pname}: {value!r} is not a string")
            continue
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
    if kind.check is not None:
        try:
            kind.check(dict(node.params))
        except ValueError as err:
            raise ValueError(f"{path}.params.{err}") from None
    lo, hi = kind.children
    if not lo <= len(node.children) <= hi:
        want = str(lo) if lo == hi else f"{lo}..{hi}"
        raise ValueError(f"{path}.children: {node.kind!r} takes {want} children, "
                         f"got {len(node.children)}")
    for i, child in enumerate(node.children):
        cpath = f"{path}.children[{i}]"
        ckind = NODE_KINDS.get(child.kind)  # unknown kinds are reported by the recursion
        if ckind is not None and kind.child_category is not None \
                and ckind.category != kind.child_category:
            raise ValueError(f"{cpath}: {node.kind!r} needs a {kind.child_category} child, "
                             f"not {child.kind!r}")
        if ckind is not None and kind.child_category is None and ckind.category == "profile":
            raise ValueError(f"{cpath}: {node.kind!r} needs 3D children, not the profile "
                             f"{child.kind!r}")
        _check_node(child, cpath, class_params)


def _check_extra(value: Any, path: str, class_params: set[str]) -> None:
    """An extra (formula) parameter: a finite number or the name of a class parameter."""
    if isinstance(value, str):
        if value not in class_params:
            raise ValueError(f"{path}: {value!r} is not a class parameter")
    else:
        try:
            finite_number(value)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def _keeps_string(kind: Any, pname: str) -> bool:
    """Whether a string value of ``pname`` is literal (a choice or text), not a class parameter."""
    try:
        spec = kind.param(pname)
    except KeyError:
        return False
    return bool(spec.choices) or spec.unit == "text"


def sample_params(shape: ShapeClass, rng: np.random.Generator, grid_size: dict[str, float],
                  overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Draw every class parameter; ``overrides`` replace values by name.

    Distributions draw from ``rng`` in sorted name order (always, so overrides never shift
    the stream, and the draws depend only on what :attr:`ShapeClass.content_hash` covers, not
    on how the file orders its tables); scales and product expressions are then applied in
    :func:`parameter_order`.
    The result is in file order.
    """
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(shape.params)
    if unknown:
        raise KeyError(f"{shape.name} has no parameter {sorted(unknown)[0]!r} "
                       f"(parameters: {', '.join(shape.params) or 'none'})")
    raw = {pname: shape.params[pname].draw_unscaled(rng) for pname in sorted(shape.params)
           if isinstance(shape.params[pname], _Dist)}
    env = dict(grid_size)
    values: dict[str, float] = {}
    for pname in parameter_order(shape.params):
        value = shape.params[pname]
        if isinstance(value, _Dist):
            resolved = value.scaled(raw[pname], env)
        elif isinstance(value, str):
            resolved = eval_product(value, env)
        else:
            resolved = value
        values[pname] = overrides.get(pname, resolved)
        if not math.isfinite(values[pname]):  # finite numbers whose product overflows
            raise FdifError(f"{shape.name}: params.{pname}: drew {values[pname]}, not a finite "
                            "number (its scale or product overflows)")
        env[pname] = values[pname]
    return {pname: values[pname] for pname in shape.params}


def concrete_tree(node: NodeSpec, values: dict[str, float]) -> dict[str, Any]:
    """Substitute class parameter values into a node tree (numbers and choices only)."""
    kind = node_kind(node.kind)
    params = {}
    for pname, value in node.params.items():
        if isinstance(value, str) and not _keeps_string(kind, pname):
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
    given = tree.get("params", {})
    params: dict[str, Any] = {}
    for spec in kind.params:
        if spec.name in given:
            try:
                params[spec.name] = spec.check(given[spec.name])
            except ValueError as err:
                raise ValueError(f"{tree['kind']}.{spec.name}: {err}") from None
        elif spec.default is not None:
            params[spec.name] = spec.default
    declared = {spec.name for spec in kind.params}
    extra = {name: value for name, value in given.items() if name not in declared}
    if extra and not kind.extra_params:
        raise ValueError(f"{tree['kind']}.{sorted(extra)[0]}: unknown parameter")
    if kind.extra_params:
        for name, value in extra.items():
            _check_extra(value, f"{tree['kind']}.{name}", set())
        params["extra"] = {name: float(value) for name, value in extra.items()}
    if kind.check is not None:
        try:
            kind.check({**given})
        except ValueError as err:
            raise ValueError(f"{tree['kind']}.{err}") from None
    return kind.build(children=children, **params)
