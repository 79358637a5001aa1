"""Bundles: export, verified loading without any library, tampering, import into the user library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdif_core.bundles import export_bundle, import_bundle, load_bundle
from fdif_core.compose import Composer
from fdif_core.errors import FdifError, FileFormatError
from fdif_core.library import clear_cache, shape_library, user_root
from fdif_core.presets import load_preset

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PRESET = FIXTURES / "preset_v1.toml"
BUNDLE_V1 = FIXTURES / "bundle_v1.fdifbundle"


def _samples(loaded, indices=(0, 1)):
    composer = Composer(loaded)
    return [composer.sample(loaded.preset.dataset.seed, i) for i in indices]


def test_bundle_generates_the_same_bytes_without_any_library(tmp_path, monkeypatch):
    expected = _samples(load_preset(PRESET))
    out = export_bundle(PRESET, tmp_path / "fixture")
    assert out.name == "fixture.fdifbundle"
    empty_builtin, empty_user = tmp_path / "builtin", tmp_path / "user"
    empty_builtin.mkdir()
    empty_user.mkdir()
    monkeypatch.setenv("FDIF_BUILTIN_LIBRARY", str(empty_builtin))
    monkeypatch.setenv("FDIF_USER_LIBRARY", str(empty_user))
    clear_cache()
    with pytest.raises(FdifError):
        shape_library().get("sphere")  # really no library
    loaded = load_preset(out)  # the path goes through load_preset, as fdif generate does
    got = _samples(loaded)
    for a, b in zip(expected, got, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
        assert a.label.tobytes() == b.label.tobytes()
        assert a.objects == b.objects


def test_schema_1_bundle_fixture_keeps_loading():
    loaded = load_bundle(BUNDLE_V1)
    assert loaded.preset.name == "fixture_preset_v1"
    assert sorted(loaded.library.classes) == ["organic_blob", "sphere", "torus", "twisted_ribbon"]
    sample = _samples(loaded, (0,))[0]
    assert sample.image.shape == (24, 24, 24)


def _tampered(tmp_path: Path, old: str, new: str) -> Path:
    text = BUNDLE_V1.read_text()
    assert old in text
    path = tmp_path / "tampered.fdifbundle"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old,new,message", [
    ("low = 0.15", "low = 0.16", "hashes to"),  # a class changed, hash kept
    ('objects = [\n    2,', 'objects = [\n    1,', "preset_hash"),  # the preset changed
    ('format = "fdif-bundle"', 'format = "zip"', "not an fdif bundle"),
    ("schema_version = 1\ncreated_by", "schema_version = 99\ncreated_by", "newer"),
])
def test_modified_bundles_are_refused(tmp_path, old, new, message):
    with pytest.raises(FileFormatError, match=message):
        load_bundle(_tampered(tmp_path, old, new))


def test_bundle_missing_a_class_is_refused(tmp_path):
    text = BUNDLE_V1.read_text()
    head, *shapes = text.split("[[shapes]]")
    kept = [s for s in shapes if 'name = "torus"' not in s]
    path = tmp_path / "short.fdifbundle"
    path.write_text(head + "".join("[[shapes]]" + s for s in kept))
    with pytest.raises(FileFormatError, match="'torus' is not in the bundle"):
        load_bundle(path)


def test_import_adds_preset_and_only_new_classes(tmp_path):
    written = import_bundle(BUNDLE_V1)
    root = user_root()
    assert written == [root / "presets" / "fixture_preset_v1.toml"]  # classes are built in
    assert import_bundle(BUNDLE_V1) == []  # idempotent
    loaded = load_preset("fixture_preset_v1")
    assert loaded.preset == load_bundle(BUNDLE_V1).preset


def test_import_writes_unknown_classes_and_refuses_shadowing(tmp_path, monkeypatch):
    empty = tmp_path / "builtin"
    (empty / "shapes").mkdir(parents=True)
    monkeypatch.setenv("FDIF_BUILTIN_LIBRARY", str(empty))
    clear_cache()
    written = import_bundle(BUNDLE_V1)
    assert {p.name for p in written} == {"sphere.toml", "torus.toml", "organic_blob.toml",
                                         "twisted_ribbon.toml", "fixture_preset_v1.toml"}
    assert shape_library().get("organic_blob").content_hash == \
        load_bundle(BUNDLE_V1).library.get("organic_blob").content_hash
    # A different class of the same name in a --library folder may not shadow.
    other = tmp_path / "other"
    (other / "shapes").mkdir(parents=True)
    (other / "shapes" / "organic_blob.toml").write_text(
        'name = "organic_blob"\n[shape]\nkind = "sphere"\nparams = { r = 3.0 }\n')
    clear_cache()
    with pytest.raises(FdifError, match="already defined"):
        shape_library((other,))
    # Editing the user copy and importing again is refused unless forced.
    user_blob = user_root() / "shapes" / "imported" / "organic_blob.toml"
    user_blob.write_text(user_blob.read_text().replace("frequency = 0.12", "frequency = 0.2"))
    clear_cache()
    with pytest.raises(FdifError, match="would shadow"):
        import_bundle(BUNDLE_V1)
    assert import_bundle(BUNDLE_V1, force=True) == [user_blob]
    clear_cache()
    assert shape_library().get("organic_blob").content_hash == \
        load_bundle(BUNDLE_V1).library.get("organic_blob").content_hash


def test_preset_hash_pins_are_checked_on_export(tmp_path):
    text = PRESET.read_text() + '\n[class_hashes]\nsphere = "' + "0" * 64 + '"\n'
    pinned = tmp_path / "pinned.toml"
    pinned.write_text(text)
    with pytest.raises(FdifError, match="pins shape 'sphere'"):
        export_bundle(pinned, tmp_path / "x.fdifbundle")
    right = shape_library().get("sphere").content_hash
    pinned.write_text(text.replace("0" * 64, right))
    loaded = load_bundle(export_bundle(pinned, tmp_path / "x.fdifbundle"))
    assert loaded.preset.class_hashes == {"sphere": right}
    assert np.isfinite(loaded.preset.none_probability)


def test_import_plan_lists_every_item_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from fdif_core.bundles import plan_import
    from fdif_core.cli import main

    monkeypatch.setenv("FDIF_USER_LIBRARY", str(tmp_path / "user"))
    clear_cache()
    plan = plan_import(BUNDLE_V1)
    actions = {(s.kind, s.name): s.action for s in plan.steps}
    assert actions[("preset", "fixture_preset_v1")] == "write"
    assert actions[("class", "sphere")] == "same"  # the built-in sphere is identical
    assert actions[("class", "organic_blob")] == "same"
    assert not plan.refused and not (tmp_path / "user").exists()
    assert main(["presets", "import", str(BUNDLE_V1), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"preset\tfixture_preset_v1\twrite\t{tmp_path / 'user' / 'presets'}" in out
    assert not (tmp_path / "user").exists()


def test_write_bundle_of_an_edited_preset_loads_back(tmp_path):
    from fdif_core.bundles import write_bundle
    from fdif_core.preset_editing import add_entry
    from fdif_core.presets import LoadedPreset, Preset

    loaded = load_preset("quick")
    data = add_entry(loaded.preset.model_dump(mode="json"), "classes", "organic_blob",
                     loaded.library)
    edited = LoadedPreset(Preset.model_validate(data), loaded.library, "studio")
    out = write_bundle(edited, tmp_path / "mine")
    assert out == tmp_path / "mine.fdifbundle"
    back = load_bundle(out)
    assert back.preset == edited.preset
    assert "organic_blob" in back.library.classes
