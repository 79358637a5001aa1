"""Edits of a shape class as data: what the studio's inspector does, without Qt.

A class is edited as its JSON-ready dictionary (``ShapeClass.model_dump(mode="json")``). Every
edit returns a new dictionary — the input is never changed — and only after the result
validates as a :class:`~fdif_core.shapes.ShapeClass`, so an edit either gives a class the core
accepts or raises :class:`~fdif_core.errors.FdifError` saying why. Nodes are addressed by their
*path*: the child indices from the root (``()`` is the root, ``(1, 0)`` the first child of the
root's second child).
"""

from __future__ import annotations

import copy
import math
from typing import Any

from fdif_core.distributions import parse_product
from fdif_core.errors import FdifError
from fdif_core.files import parse_model
from fdif_core.nodes import NODE_KINDS, node_kind
from fdif_core.shapes import ShapeClass

Path = tuple[int, ...]
Data = dict[str, Any]

# Values for parameters without a default, so a new node is valid as it is added.
NEW_NODE_PARAMS: dict[str, dict[str, Any]] = {
    "formula": {"expr": "length(x, y, z) - 10", "bound": 16.0},
}
# The node that fills a required child slot: a profile slot gets a circle, others a sphere.
FILLER = {"profile": "circle", None: "sphere"}


def blank_class(name: str = "untitled") -> Data:
    """A new class: a sphere whose radius is drawn as the FDIF sphere's (spec §5.1)."""
    return validated({
        "name": name, "description": "", "category": "custom",
        "params": {"r": {"dist": "uniform", "low": 0.15, "high": 0.4, "scale": "min_grid"}},
        "shape": {"kind": "sphere", "params": {"r": "r"}, "children": []},
    })


def validated(data: Data, source: str = "shape class") -> Data:
    """``data`` as the core normalises it, or :class:`FdifError` naming the field."""
    return parse_model(ShapeClass, data, source).model_dump(mode="json")


def node_at(data: Data, path: Path) -> Data:
    """The node at ``path`` (``IndexError`` naming the path if there is none)."""
    node = data["shape"]
    for depth, index in enumerate(path):
        children = node.get("children", [])
        if not 0 <= index < len(children):
            raise IndexError(f"no node at {list(path[:depth + 1])}")
        node = children[index]
    return node


def new_node(kind: str) -> Data:
    """A node of ``kind`` with every parameter at its default and its required children."""
    spec = node_kind(kind)
    params = {p.name: p.default for p in spec.params if p.default is not None}
    params.update(NEW_NODE_PARAMS.get(kind, {}))
    filler = FILLER.get(spec.child_category, "sphere")
    children = [new_node(filler) for _ in range(spec.children[0])]
    return {"kind": kind, "params": params, "children": children}


def _edit(data: Data, path: Path, change) -> Data:
    """Apply ``change(node)`` to a copy's node at ``path`` and validate the copy."""
    out = copy.deepcopy(data)
    change(node_at(out, path))
    return validated(out)


def set_node_param(data: Data, path: Path, name: str, value: float | int | str) -> Data:
    """Set parameter ``name`` of the node at ``path`` (a number, choice, text or the name of a
    class parameter)."""
    return _edit(data, path, lambda node: node.setdefault("params", {}).__setitem__(name, value))


def set_class_param(data: Data, name: str, value: Any) -> Data:
    """Set class parameter ``name``: a number, a product expression or a distribution table."""
    if name not in data.get("params", {}):
        raise FdifError(f"{data.get('name')} has no parameter {name!r}")
    out = copy.deepcopy(data)
    out["params"][name] = value
    return validated(out)


def _check_child(kind: str, parent_kind: str) -> None:
    parent = node_kind(parent_kind)
    child = node_kind(kind)
    if parent.child_category is not None and child.category != parent.child_category:
        raise FdifError(f"{parent_kind!r} takes {parent.child_category} children, not {kind!r}")
    if parent.child_category is None and child.category == "profile":
        raise FdifError(f"{parent_kind!r} takes 3D children, not the profile {kind!r}")
    if kind == "mapper":
        raise FdifError("a mapper node can only be the root of a class")


def add_child(data: Data, path: Path, kind: str) -> tuple[Data, Path]:
    """Append a new ``kind`` node to the children of the node at ``path``.

    Returns the new data and the new node's path.
    """
    parent = node_at(data, path)
    spec = node_kind(parent["kind"])
    if len(parent.get("children", [])) >= spec.children[1]:
        limit = spec.children[1]
        raise FdifError(f"{parent['kind']!r} takes at most {limit} "
                        f"{'child' if limit == 1 else 'children'}"
                        + ("; wrap the node instead" if limit == 0 else ""))
    _check_child(kind, parent["kind"])
    index = len(parent.get("children", []))
    out = _edit(data, path, lambda node: node.setdefault("children", []).append(new_node(kind)))
    return out, (*path, index)


def remove_node(data: Data, path: Path) -> Data:
    """Remove the node at ``path`` with its subtree."""
    if not path:
        raise FdifError("the root node cannot be removed; replace it by wrapping or adding")
    parent = node_at(data, path[:-1])
    node_at(data, path)  # the node exists
    low = node_kind(parent["kind"]).children[0]
    if len(parent["children"]) <= low:
        raise FdifError(f"{parent['kind']!r} needs at least {low} "
                        f"{'child' if low == 1 else 'children'}; remove {parent['kind']!r} instead")
    return _edit(data, path[:-1], lambda node: node["children"].pop(path[-1]))


def move_node(data: Data, path: Path, offset: int) -> tuple[Data, Path]:
    """Move the node at ``path`` ``offset`` places among its siblings (child order matters for
    difference and the reference's combined union). Returns the new data and path."""
    if not path:
        raise FdifError("the root node has no siblings to move among")
    siblings = node_at(data, path[:-1])["children"]
    target = path[-1] + offset
    if not 0 <= target < len(siblings):
        raise FdifError("the node is already at the end of its siblings")

    def move(node: Data) -> None:
        node["children"].insert(target, node["children"].pop(path[-1]))

    return _edit(data, path[:-1], move), (*path[:-1], target)


def wrap_node(data: Data, path: Path, kind: str) -> Data:
    """Put the node at ``path`` inside a new ``kind`` node (a CSG or domain operation), as its
    first child; further required children are filled with default nodes."""
    spec = node_kind(kind)
    if spec.children[1] == 0:
        raise FdifError(f"{kind!r} takes no children, so it cannot wrap a node")
    node = node_at(data, path)
    _check_child(node["kind"], kind)
    if kind == "mapper" and path:
        raise FdifError("a mapper node can only be the root of a class")
    wrapper = new_node(kind)
    wrapper["children"] = [copy.deepcopy(node), *wrapper["children"][1:]]
    out = copy.deepcopy(data)
    if path:
        node_at(out, path[:-1])["children"][path[-1]] = wrapper
    else:
        out["shape"] = wrapper
    return validated(out)


def kinds_by_category() -> dict[str, list[str]]:
    """Registered node kinds by category, each list sorted by name."""
    out: dict[str, list[str]] = {}
    for kind in NODE_KINDS.values():
        out.setdefault(kind.category, []).append(kind.name)
    return {category: sorted(names) for category, names in out.items()}


def param_references(data: Data) -> dict[str, list[tuple[Path, str]]]:
    """For each class parameter, the node parameters that use it (path, parameter name)."""
    out: dict[str, list[tuple[Path, str]]] = {name: [] for name in data.get("params", {})}

    def visit(node: Data, path: Path) -> None:
        for pname, value in node.get("params", {}).items():
            if isinstance(value, str) and value in out:
                out[value].append((path, pname))
        for i, child in enumerate(node.get("children", [])):
            visit(child, (*path, i))

    visit(data["shape"], ())
    return out


PARAM_FORMS = ("number", "expression", "constant", "uniform", "normal", "randint", "choice")


def param_form(value: Any) -> str:
    """Which of :data:`PARAM_FORMS` a class parameter's value has."""
    if isinstance(value, dict):
        return value["dist"]
    return "expression" if isinstance(value, str) else "number"


def _factor_and_scale(value: Any) -> tuple[float, float, str | None]:
    """``(low, high, scale)`` of a value: its unscaled range and the product it is scaled by."""
    if isinstance(value, dict):
        from fdif_core.distributions import Choice, Constant, Normal, RandInt, Uniform

        model = {"constant": Constant, "uniform": Uniform, "normal": Normal, "randint": RandInt,
                 "choice": Choice}[value["dist"]].model_validate(value)
        lo, hi = model.bounds()
        if not (math.isfinite(lo) and math.isfinite(hi)):  # an unbounded normal
            lo, hi = model.mean - 2 * model.std, model.mean + 2 * model.std
        return lo, hi, value.get("scale")
    if isinstance(value, str):
        factor, names = 1.0, []
        for op, item in parse_product(value):
            if isinstance(item, str):
                names.append(item if not names and op == "*" else f"{op}{item}")
            else:
                factor = factor * item if op == "*" else factor / item
        scale = "".join(names).lstrip("*") or None
        if scale is not None and scale.startswith("/"):
            scale = "1" + scale
        return factor, factor, scale
    return float(value), float(value), None


def convert_param(value: Any, form: str) -> Any:
    """``value`` re-expressed as ``form`` (one of :data:`PARAM_FORMS`), keeping its range and
    the grid quantity or parameter it is scaled by where the form can hold them."""
    if form not in PARAM_FORMS:
        raise FdifError(f"unknown parameter form {form!r} (known: {', '.join(PARAM_FORMS)})")
    lo, hi, scale = _factor_and_scale(value)
    mid = (lo + hi) / 2
    scaled = {"scale": scale} if scale else {}
    if form == "number":
        return mid
    if form == "expression":
        return f"{mid:g}*{scale}" if scale else f"{mid:g}"
    if form == "constant":
        return {"dist": "constant", "value": mid, **scaled}
    if form == "uniform":
        high = hi if hi > lo else lo + max(abs(lo) * 0.5, 1.0)
        return {"dist": "uniform", "low": lo, "high": high, **scaled}
    if form == "normal":
        high = hi if hi > lo else lo + max(abs(lo) * 0.5, 1.0)
        return {"dist": "normal", "mean": (lo + high) / 2, "std": (high - lo) / 4, "low": lo,
                "high": high, **scaled}
    if form == "randint":
        low = math.floor(lo)
        return {"dist": "randint", "low": low, "high": max(math.ceil(hi), low + 1), **scaled}
    return {"dist": "choice", "values": sorted({lo, hi}), **scaled}
