"""Shape and preset files: round trips, schema-1 fixtures, error paths, distributions, libraries."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdif_core.errors import FdifError, FileFormatError
from fdif_core.files import parse_model, read_toml, write_toml
from fdif_core.library import clear_cache, load_shape_file, shape_library, user_root
from fdif_core.presets import Preset, preset_from_file
from fdif_core.shapes import ShapeClass, sample_params

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SIZE = {"D": 64, "H": 64, "W": 64, "min_grid": 64, "min_dh": 64, "min_dw": 64}


def test_every_shipped_shape_round_trips(tmp_path):
    paths = sorted((ROOT / "shapes").rglob("*.toml"))
    assert len(paths) >= 109 + 8
    for path in paths:
        shape = load_shape_file(path)
        copy = tmp_path / path.name
        write_toml(copy, shape)
        again = load_shape_file(copy)
        assert again == shape, path
        assert again.content_hash == shape.content_hash
        rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
        assert sample_params(shape, rng_a, SIZE) == sample_params(again, rng_b, SIZE)


def test_every_shipped_preset_round_trips(tmp_path):
    for path in sorted((ROOT / "presets").glob("*.toml")):
        preset = preset_from_file(path)
        write_toml(tmp_path / path.name, preset)
        again = preset_from_file(tmp_path / path.name)
        assert again == preset and again.content_hash == preset.content_hash


def test_schema_1_fixtures_keep_loading():
    shape = load_shape_file(FIXTURES / "shape_v1.toml")
    assert shape.schema_version == 1 and shape.name == "fixture_shape_v1"
    values = sample_params(shape, np.random.default_rng(0), SIZE)
    assert 3.2 <= values["r"] <= 6.4 and values["gap"] == 2 * values["r"]
    assert values["k"] == pytest.approx(0.25 * values["r"])
    preset = preset_from_file(FIXTURES / "preset_v1.toml")
    assert preset.schema_version == 1 and preset.grid == (24, 24, 24)


def _shape(params: dict, node: dict | None = None) -> dict:
    return {"name": "t", "params": params,
            "shape": node or {"kind": "sphere", "params": {"r": next(iter(params), 3.0)}}}


def test_product_expression_scales_and_derived_parameters():
    shape = parse_model(ShapeClass, _shape({
        "late": "0.5*r",  # refers to a parameter written later: allowed
        "r": {"dist": "uniform", "low": 0.1, "high": 0.2, "scale": "0.5*min_grid"},
        "inv": {"dist": "constant", "value": 2.0, "scale": "1/r"},
    }), "s.toml")
    values = sample_params(shape, np.random.default_rng(1), SIZE)
    assert 3.2 <= values["r"] <= 6.4
    assert values["late"] == pytest.approx(values["r"] / 2)
    assert values["inv"] == pytest.approx(2 / values["r"])
    assert list(values) == ["late", "r", "inv"]


@pytest.mark.parametrize("params,message", [
    ({"a": "b*2"}, "params.a: 'b' is neither a grid quantity"),
    ({"a": "2*b", "b": "a"}, "circular reference"),
    ({"a": "2**3"}, "params.a: '2**3'"),
    ({"a": "__import__('os')"}, "params.a: "),
    ({"a": {"dist": "uniform", "low": 0, "high": 1, "scale": "min_grid+1"}}, "params.a.scale"),
    ({"a": {"dist": "uniform", "low": 2, "high": 1}}, "params.a: low 2.0 is above high 1.0"),
    ({"a": {"dist": "normal", "mean": 0, "std": 1, "low": 50, "high": 60}}, "6 std"),
    ({"a": {"dist": "poisson", "lam": 1}}, "params.a"),
])
def test_parameter_errors_name_the_field(params, message):
    with pytest.raises(FileFormatError) as info:
        parse_model(ShapeClass, _shape(params, {"kind": "sphere", "params": {"r": 3.0}}),
                    "shapes/x.toml")
    assert str(info.value).startswith("shapes/x.toml: ")
    assert message in str(info.value)


@pytest.mark.parametrize("node,message", [
    ({"kind": "box", "params": {"hx": -1.0}}, "shape.params.hx: -1.0 is below the minimum 0.0"),
    ({"kind": "union", "children": [{"kind": "sphere"}]}, "shape.children: 'union' takes 2..16"),
    ({"kind": "extrude", "children": [{"kind": "sphere"}]}, "needs a profile child"),
    ({"kind": "union", "children": [{"kind": "sphere"}, {"kind": "circle"}]}, "needs 3D children"),
    ({"kind": "transform", "params": {"sx": 0.0}, "children": [{"kind": "sphere"}]},
     "shape.params.sx: 0.0 is below the minimum 0.01"),
    ({"kind": "displace", "params": {"pattern": "waves"}, "children": [{"kind": "sphere"}]},
     "shape.params.pattern: 'waves' is not one of"),
    ({"kind": "formula", "params": {"expr": "x", "q": [1]}}, "shape.params.q"),
    ({"kind": "nope"}, "shape.kind: unknown node kind 'nope'"),
])
def test_node_errors_name_the_field(node, message):
    with pytest.raises(FileFormatError, match=None) as info:
        parse_model(ShapeClass, {"name": "t", "shape": node}, "shapes/x.toml")
    assert message in str(info.value)


def test_distributions_draw_in_range():
    shape = parse_model(ShapeClass, _shape({
        "n": {"dist": "normal", "mean": 1.0, "std": 2.0, "low": 0.0, "high": 1.5},
        "i": {"dist": "randint", "low": 3, "high": 5},
        "c": {"dist": "choice", "values": [1.0, 2.0], "weights": [0.0, 1.0]},
        "k": {"dist": "constant", "value": 0.15, "scale": "min_grid"},
    }), "s.toml")
    rng = np.random.default_rng(0)
    for _ in range(50):
        v = sample_params(shape, rng, SIZE)
        assert 0.0 <= v["n"] <= 1.5 and v["i"] in (3, 4, 5) and v["c"] == 2.0
        assert v["k"] == pytest.approx(0.15 * 64)


def test_user_class_may_not_shadow_a_builtin():
    folder = user_root() / "shapes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mine.toml").write_text('name = "torus"\n[shape]\nkind = "sphere"\n')
    clear_cache()
    with pytest.raises(FdifError, match="already defined by .*003_torus.toml"):
        shape_library()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.toml"
    path.write_text('schema_version = 99\nname = "n"\n[shape]\nkind = "sphere"\n')
    with pytest.raises(FileFormatError, match="newer than this program"):
        load_shape_file(path)


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_nan=True), st.text(max_size=12))
_VALUES = st.recursive(_SCALARS, lambda c: st.one_of(st.lists(c, max_size=3),
                                                     st.dictionaries(st.text(max_size=6), c,
                                                                     max_size=3)), max_leaves=8)
_KINDS = st.sampled_from(["sphere", "box", "union", "formula", "extrude", "star", "twist",
                          "smooth_union", "repeat", "displace", "x"])
_NODE = st.recursive(
    st.fixed_dictionaries({"kind": _KINDS},
                          optional={"params": st.dictionaries(
                              st.sampled_from(["r", "hx", "k", "expr", "w", "n", "seed", "zz"]),
                              _SCALARS, max_size=3)}),
    lambda c: st.fixed_dictionaries({"kind": _KINDS, "children": st.lists(c, max_size=3)}),
    max_leaves=6)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "params", "shape", "schema_version", "other"]),
                       _VALUES, max_size=4), _NODE)
def test_random_shape_data_only_raises_file_format_error(data, node):
    data = {**data, "shape": node} if "shape" not in data else data
    try:
        parse_model(ShapeClass, data, "random.toml")
    except FileFormatError as err:
        assert str(err).startswith("random.toml")


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "grid", "objects", "classes", "mappers",
                                        "overlap", "dataset", "none_probability"]),
                       _VALUES, max_size=5))
def test_random_preset_data_only_raises_file_format_error(data):
    try:
        parse_model(Preset, data, "random.toml")
    except FileFormatError as err:
        assert str(err).startswith("random.toml")


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80))
def test_random_toml_text_only_raises_file_format_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.toml"
        path.write_bytes(text.encode("utf-8", "replace"))
        with contextlib.suppress(FileFormatError):
            load_shape_file(path)


def test_toml_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(FileFormatError, match="broken.toml: not valid TOML"):
        read_toml(path)
