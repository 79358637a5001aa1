"""Preset edits as data (the studio's preset editor) and ``fdif presets edit``."""

import pytest

from fdif_core.cli import main
from fdif_core.errors import FdifError
from fdif_core.library import shape_library
from fdif_core.preset_editing import (
    add_entry,
    blank_preset,
    label_summary,
    move_entry,
    remove_entry,
    set_field,
    set_weight,
    validated_preset,
)
from fdif_core.presets import Preset, load_preset, preset_from_file, save_user_preset, write_preset


@pytest.fixture
def quick():
    loaded = load_preset("quick")
    return loaded.preset.model_dump(mode="json"), loaded.library


def _names(data, key="classes"):
    return [e["name"] for e in data[key]]


def test_edits_return_new_validated_data_and_leave_the_input(quick):
    data, library = quick
    before = [dict(e) for e in data["classes"]]
    added = add_entry(data, "classes", "organic_blob", library, 2.5)
    assert data["classes"] == before
    assert added["classes"][-1] == {"name": "organic_blob", "weight": 2.5}
    reweighted = set_weight(added, "classes", "torus", 0.5, library)
    assert next(e for e in reweighted["classes"] if e["name"] == "torus")["weight"] == 0.5
    removed = remove_entry(reweighted, "classes", "sphere", library)
    assert "sphere" not in _names(removed) and len(removed["classes"]) == 109
    moved = move_entry(removed, "classes", "organic_blob", -108, library)
    assert _names(moved)[0] == "organic_blob"
    assert set_field(moved, "dataset.seed", 9, library)["dataset"]["seed"] == 9
    assert set_field(moved, "objects", [1, 3], library)["objects"] == [1, 3]


def test_an_alias_adds_the_canonical_name(quick):
    data, library = quick
    data = remove_entry(data, "classes", "five_star_cone_prism", library)
    alias = library.get("five_star_cone_prism").aliases[0]
    assert _names(add_entry(data, "classes", alias, library))[-1] == "five_star_cone_prism"


@pytest.mark.parametrize("edit, message", [
    (lambda d, lib: add_entry(d, "classes", "no_such_class", lib),
     "unknown shape class 'no_such_class'"),
    (lambda d, lib: add_entry(d, "classes", "torus", lib), "classes: 'torus' is already in"),
    (lambda d, lib: add_entry(d, "mappers", "no_mapper", lib), "unknown mapper 'no_mapper'"),
    (lambda d, lib: set_weight(d, "classes", "torus", -1.0, lib), "greater than or equal to 0"),
    (lambda d, lib: remove_entry(d, "mappers", "sphere", lib), "mappers: 'sphere' is not in"),
    (lambda d, lib: set_field(d, "objects", [5, 2], lib), "must satisfy 1 <= min <= max"),
    (lambda d, lib: set_field(d, "colour", 1, lib), "unknown preset field 'colour'"),
    (lambda d, lib: add_entry(d, "shapes", "torus", lib), "unknown preset list 'shapes'"),
    (lambda d, lib: move_entry(d, "classes", "sphere", -1, lib), "cannot move -1 places"),
])
def test_refused_edits_say_why(quick, edit, message):
    data, library = quick
    with pytest.raises(FdifError, match=message):
        edit(data, library)


def test_the_last_class_cannot_be_removed():
    library = shape_library()
    data = blank_preset(library)
    with pytest.raises(FdifError, match="^classes: 'sphere' is the last class of the preset; "
                                        "add another before removing it$"):
        remove_entry(data, "classes", "sphere", library)
    with pytest.raises(FdifError, match="^mappers: 'inverse_cube' is the last mapper of the "):
        remove_entry(data, "mappers", "inverse_cube", library)


def test_written_preset_reads_back_equal_and_compact(tmp_path, quick):
    data, library = quick
    data = set_weight(data, "classes", "torus", 3.0, library)
    preset = Preset.model_validate(data)
    path = tmp_path / "p.toml"
    write_preset(path, preset)
    assert preset_from_file(path) == preset
    text = path.read_text()
    assert '    "sphere",\n' in text and '{ name = "torus", weight = 3.0 }' in text
    assert "class_hashes" not in text


def test_save_user_preset_refuses_a_builtin_name_and_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FDIF_USER_LIBRARY", str(tmp_path / "user"))
    preset = load_preset("quick").preset
    with pytest.raises(FdifError, match="preset name 'quick' is already defined by"):
        save_user_preset(preset)
    mine = preset.model_copy(update={"name": "mine"})
    path = save_user_preset(mine)
    assert path == tmp_path / "user" / "presets" / "mine.toml"
    assert load_preset("mine").preset == mine
    with pytest.raises(FdifError, match="already exists"):
        save_user_preset(mine)
    assert save_user_preset(mine, overwrite=True) == path


def test_cli_edit_applies_edits_in_order_and_validate_accepts_the_file(tmp_path, capsys):
    out = tmp_path / "mine.toml"
    assert main(["presets", "edit", "quick", "--out", str(out), "--set", "name=mine",
                 "--add", "classes=organic_blob:2", "--remove", "classes=sphere",
                 "--weight", "classes=organic_blob:4", "--set", "objects=[3, 4]"]) == 0
    preset = preset_from_file(out)
    assert preset.name == "mine" and preset.objects == (3, 4)
    assert preset.classes[-1].name == "organic_blob" and preset.classes[-1].weight == 4.0
    assert main(["presets", "validate", str(out)]) == 0
    assert "ok (mine" in capsys.readouterr().out


def test_cli_edit_refusal_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "x.toml"
    assert main(["presets", "edit", "quick", "--out", str(out), "--weight", "classes=torus"]) == 2
    assert capsys.readouterr().err == \
        "fdif: error: --weight 'torus': expected NAME:WEIGHT after LIST=\n"
    assert main(["presets", "edit", "quick", "--out", str(out), "--weight", "classes=torus:x"]) == 2
    assert capsys.readouterr().err == "fdif: error: --weight: weight 'x' of 'torus' is not a number\n"
    assert not out.exists()


def test_validated_preset_names_the_source(quick):
    data, library = quick
    data = dict(data, classes=["missing_class"])
    with pytest.raises(FdifError, match="^studio: unknown shape class 'missing_class'"):
        validated_preset(data, library, "studio")


def test_label_summary_counts_the_table_and_each_class_ids():
    library = shape_library()
    data = validated_preset({"name": "t", "classes": ["sphere", "torus"],
                             "mappers": ["inverse_cube", "modular_5"], "mapper_mode": "class",
                             "displacements": ["ridge"], "displacement_mode": "class",
                             "combined_unions": 1}, library)
    ids, count, tasks = label_summary(data, library)
    # spec §11.3: 2 classes × 2 mappers, then 2 × 1 displacement × 2 mappers, then 1 union × 2
    assert ids == {"sphere": [1, 2, 5, 6], "torus": [3, 4, 7, 8]}
    assert (count, tasks) == (10, {})
    multi = set_field(data, "label_mode", "multi_task", library)
    assert label_summary(multi, library)[2] == {"shape": 3, "displacement": 2, "mapper": 2}
    alias = library.get("five_star_cone_prism").aliases[0]
    plain = validated_preset({"name": "t", "classes": ["sphere", alias]}, library)
    assert label_summary(plain, library) == ({"sphere": [1], alias: [2]}, 2, {})
