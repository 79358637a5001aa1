"""Combined-union classes (spec §6)."""

from __future__ import annotations

import numpy as np
import pytest

from fdif_core.compose import Composer
from fdif_core.errors import FdifError
from fdif_core.grid import Grid
from fdif_core.library import shape_library
from fdif_core.objects import evaluate_object
from fdif_core.placement import Placement
from fdif_core.presets import LoadedPreset, Preset, class_table


def preset(**fields) -> LoadedPreset:
    data = {"name": "u", "grid": [33, 33, 33], "objects": [2, 2],
            "classes": ["sphere", "cylinder", "torus"], "mappers": ["inverse_cube"]}
    data.update(fields)
    return LoadedPreset(Preset.model_validate(data), shape_library(), "test")


def test_union_classes_follow_the_primitives():
    loaded = preset(combined_unions=4, union_seed=3)
    table = class_table(loaded.preset, loaded.library)
    assert len(table) == 3 + 4
    unions = table[3:]
    assert [e.id for e in unions] == [4, 5, 6, 7]
    for i, entry in enumerate(unions):
        assert entry.hybrid_name.startswith("Union_") and f"_{i:03d}_inverse_cube" in \
            entry.hybrid_name
        assert " \u222a " in entry.display_name and entry.display_name.endswith("+ inverse_cube")
        assert "_union_" in entry.shape.display_name  # the multi-task shape name
    again = class_table(loaded.preset, loaded.library)
    assert [e.hybrid_name for e in again] == [e.hybrid_name for e in table]
    other = preset(combined_unions=4, union_seed=4)
    assert [e.hybrid_name for e in class_table(other.preset, other.library)] != \
        [e.hybrid_name for e in table]


def test_too_many_unions_is_refused():
    loaded = preset(combined_unions=10)
    with pytest.raises(FdifError, match="only 9 ordered pairs"):
        class_table(loaded.preset, loaded.library)


def test_union_of_two_spheres_matches_formula():
    grid = Grid.reference((33, 33, 33))
    tree = {"kind": "fdif_union", "params": {"k": 4.0, "axis": 0, "move_ratio": 0.5},
            "children": [{"kind": "sphere", "params": {"r": 5.0}, "children": []},
                         {"kind": "sphere", "params": {"r": 3.0}, "children": []}]}
    f = evaluate_object(tree, Placement(), grid, full=True).sdf.numpy()
    # minima on the odd symmetric grid are -5 and -3 at its centre point
    move = 0.5 * 0.7 * (5 + 3)
    z, y, x = np.meshgrid(*[np.arange(33) - 16.5] * 3, indexing="ij")
    da = np.sqrt(x * x + y * y + z * z) - 5
    db = np.sqrt((x - move) ** 2 + y * y + z * z) - 3
    hh = np.maximum(4 - np.abs(da - db), 0)
    np.testing.assert_allclose(f, np.minimum(da, db) - hh * hh / 16, atol=1e-4)


def test_union_samples_render():
    comp = Composer(preset(combined_unions=3, classes=["sphere", "onioned_square_cone_prism"],
                           mappers=["linear_slope_10.0"], objects=[4, 4]))
    sample = comp.sample(0, 2)
    assert sample.label.max() <= len(comp.table)
    assert any(o["shape"].startswith("union_") for i in range(4)
               for o in comp.sample(0, i).objects)
