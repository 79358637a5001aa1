"""Edits of a shape class as data (what the studio's inspector calls)."""

from __future__ import annotations

import pytest

from fdif_core.editing import (
    add_child,
    blank_class,
    kinds_by_category,
    move_node,
    new_node,
    node_at,
    param_references,
    remove_node,
    set_class_param,
    set_node_param,
    validated,
    wrap_node,
)
from fdif_core.errors import FdifError
from fdif_core.library import shape_library
from fdif_core.nodes import NODE_KINDS
from fdif_core.shapes import ShapeClass


def star_prism() -> dict:
    return shape_library().get("five_star_prism").model_dump(mode="json")


def test_blank_class_is_a_sphere_drawn_like_fdif():
    data = blank_class("mine")
    shape = ShapeClass.model_validate(data)
    assert shape.name == "mine" and shape.shape.kind == "sphere"
    assert data["params"]["r"] == {"dist": "uniform", "low": 0.15, "high": 0.4,
                                   "scale": "min_grid"}


@pytest.mark.parametrize("kind", sorted(NODE_KINDS))
def test_every_new_node_is_valid(kind):
    node = new_node(kind)
    if NODE_KINDS[kind].category == "profile":
        node = {"kind": "extrude", "params": {"height": 10.0}, "children": [node]}
    ShapeClass.model_validate({"name": "n", "shape": node})


def test_set_node_param_copies_and_validates():
    data = star_prism()
    out = set_node_param(data, (0,), "w", 0.45)
    assert node_at(out, (0,))["params"]["w"] == 0.45
    assert node_at(data, (0,))["params"]["w"] != 0.45  # the input is unchanged
    with pytest.raises(FdifError, match=r"shape\.children\[0\]\.params\.w: 1\.5 is above the maximum 1\.0"):
        set_node_param(data, (0,), "w", 1.5)
    with pytest.raises(FdifError, match="'nope' is not a class parameter"):
        set_node_param(data, (0,), "w", "nope")


def test_set_class_param_distribution():
    data = star_prism()
    out = set_class_param(data, "height", {"dist": "normal", "mean": 0.3, "std": 0.05,
                                           "low": 0.1, "high": 0.5, "scale": "min_dh"})
    assert out["params"]["height"]["dist"] == "normal"
    with pytest.raises(FdifError, match="low 0.6 is above high 0.2"):
        set_class_param(data, "height", {"dist": "uniform", "low": 0.6, "high": 0.2})
    with pytest.raises(FdifError, match="has no parameter 'zzz'"):
        set_class_param(data, "zzz", 1.0)


def test_add_remove_move_children():
    data = wrap_node(blank_class(), (), "union")
    assert node_at(data, ())["kind"] == "union"
    assert [c["kind"] for c in node_at(data, ())["children"]] == ["sphere", "sphere"]
    data, path = add_child(data, (), "box")
    assert path == (2,) and node_at(data, path)["kind"] == "box"
    data, path = move_node(data, (2,), -2)
    assert path == (0,) and [c["kind"] for c in data["shape"]["children"]] == ["box", "sphere", "sphere"]
    data = remove_node(data, (1,))
    with pytest.raises(FdifError, match="'union' needs at least 2 children; remove 'union' instead"):
        remove_node(data, (1,))
    with pytest.raises(FdifError, match="root node cannot be removed"):
        remove_node(data, ())
    with pytest.raises(FdifError, match="already at the end"):
        move_node(data, (0,), -1)


def test_child_categories_are_enforced():
    data = star_prism()
    with pytest.raises(FdifError, match="'extrude' takes at most 1 child"):
        add_child(data, (), "circle")
    with pytest.raises(FdifError, match="'star' takes at most 0 children; wrap the node instead"):
        add_child(data, (0,), "circle")
    union = wrap_node(blank_class(), (), "union")
    with pytest.raises(FdifError, match="'union' takes 3D children, not the profile 'circle'"):
        add_child(union, (), "circle")
    with pytest.raises(FdifError, match="a mapper node can only be the root"):
        add_child(union, (), "mapper")
    with pytest.raises(FdifError, match="'transform' takes 3D children, not the profile 'star'"):
        wrap_node(data, (0,), "transform")


def test_wrap_keeps_the_subtree_and_fills_slots():
    data = star_prism()
    out = wrap_node(data, (), "smooth_difference")
    root = node_at(out, ())
    assert root["kind"] == "smooth_difference" and root["params"] == {"k": 4.0}
    assert root["children"][0] == data["shape"] and root["children"][1]["kind"] == "sphere"
    mapped = wrap_node(data, (), "mapper")
    assert node_at(mapped, ())["kind"] == "mapper"
    with pytest.raises(FdifError, match="takes no children"):
        wrap_node(data, (), "sphere")


def test_kinds_and_references():
    kinds = kinds_by_category()
    assert "sphere" in kinds["primitive"] and "union" in kinds["csg"]
    assert sum(len(v) for v in kinds.values()) == len(NODE_KINDS)
    refs = param_references(star_prism())
    assert refs["height"] == [((), "height")]
    assert refs["w"] == [((0,), "w")]


def test_validated_normalises():
    data = validated({"name": "x", "shape": {"kind": "sphere", "params": {"r": 3}}})
    assert data["display_name"] == "X" and data["shape"]["children"] == []


@pytest.mark.parametrize(("value", "form", "expected"), [
    ({"dist": "uniform", "low": 0.15, "high": 0.4, "scale": "min_grid"}, "normal",
     {"dist": "normal", "mean": 0.275, "std": 0.0625, "low": 0.15, "high": 0.4, "scale": "min_grid"}),
    ({"dist": "uniform", "low": 0.15, "high": 0.4, "scale": "min_grid"}, "expression",
     "0.275*min_grid"),
    ("0.2*min_grid", "uniform", {"dist": "uniform", "low": 0.2, "high": 1.2, "scale": "min_grid"}),
    ("2*r/3", "constant", {"dist": "constant", "value": 2 / 3, "scale": "r"}),
    ("min_dh/4", "number", 0.25),
    (12.0, "randint", {"dist": "randint", "low": 12, "high": 13}),
    ({"dist": "randint", "low": 3, "high": 9}, "choice", {"dist": "choice", "values": [3, 9]}),
    ({"dist": "normal", "mean": 1.0, "std": 0.5}, "uniform", {"dist": "uniform", "low": 0.0, "high": 2.0}),
    (5.0, "number", 5.0),
])
def test_convert_param_keeps_range_and_scale(value, form, expected):
    from fdif_core.editing import convert_param, param_form

    out = convert_param(value, form)
    assert out == (expected if isinstance(expected, dict | str) else pytest.approx(expected))
    assert param_form(out) == form
    base = validated({**blank_class(), "params": {**blank_class()["params"], "s": 1.0}})
    stored = set_class_param(base, "s", out)["params"]["s"]  # every result is valid
    if isinstance(stored, dict):
        stored = {k: v for k, v in stored.items() if v is not None}
    assert stored == out


def test_convert_param_refuses_unknown_forms():
    from fdif_core.editing import convert_param

    with pytest.raises(FdifError, match="unknown parameter form 'gamma'"):
        convert_param(1.0, "gamma")
