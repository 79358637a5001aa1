"""The root-only mapper node: a class carries its own intensity mapping."""

from __future__ import annotations

import pytest

from fdif_core.compose import Composer
from fdif_core.errors import FileFormatError
from fdif_core.files import parse_model
from fdif_core.library import ShapeLibrary, shape_library
from fdif_core.presets import LoadedPreset, Preset
from fdif_core.shapes import ShapeClass

STRIPED = {"name": "striped_ball", "params": {"r": {"dist": "uniform", "low": 6, "high": 9}},
           "shape": {"kind": "mapper", "params": {"name": "sinusoidal_wavelength_3.0"},
                     "children": [{"kind": "sphere", "params": {"r": "r"}}]}}


def test_class_mapper_overrides_the_preset_draw():
    library = ShapeLibrary()
    for shape in shape_library().classes.values():
        library.add(shape, shape_library().sources[shape.name])
    library.add(ShapeClass.model_validate(STRIPED), "memory")
    preset = Preset.model_validate({"name": "m", "grid": [32, 32, 32], "objects": [3, 3],
                                    "classes": ["striped_ball", "sphere"],
                                    "mappers": ["linear_slope_10.0"]})
    comp = Composer(LoadedPreset(preset, library, "test"))
    seen = {(p.entry.shape.name, p.mapper) for i in range(10) for p in comp.plan(0, i)}
    assert seen == {("striped_ball", "sinusoidal_wavelength_3.0"), ("sphere", "linear_slope_10.0")}
    assert comp.sample(0, 0).image.max() > 0


def test_mapper_node_only_at_the_root():
    nested = {"name": "bad", "shape": {"kind": "union", "children": [
        {"kind": "mapper", "params": {"name": "modular_5"},
         "children": [{"kind": "sphere", "params": {"r": 3.0}}]},
        {"kind": "sphere", "params": {"r": 2.0}}]}}
    with pytest.raises(FileFormatError, match="only be the root"):
        parse_model(ShapeClass, nested, "bad.toml")
    unknown = {**STRIPED, "shape": {**STRIPED["shape"], "params": {"name": "rainbow"}}}
    with pytest.raises(FileFormatError, match="rainbow"):
        parse_model(ShapeClass, unknown, "bad.toml")
