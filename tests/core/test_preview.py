"""The studio's core paths: one class instance (preview == composer), thumbnails, shape files."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fdif_core.cli import main
from fdif_core.compose import Composer, ObjectPlan
from fdif_core.errors import FdifError
from fdif_core.grid import Grid
from fdif_core.library import (
    FAMILIES,
    family_of,
    load_shape_file,
    resolve_shape,
    save_user_shape,
    shape_library,
    user_root,
)
from fdif_core.mappers import MAPPERS, get_mapper
from fdif_core.presets import LoadedPreset, Preset
from fdif_core.preview import InstanceSettings, mapper_curve, preview_class, settings_instance
from fdif_core.thumbnails import cached_thumbnail, render_thumbnail, thumbnail_path

SHAPES = Path(__file__).resolve().parents[2] / "shapes"


def composer_render(shape_name: str, settings: InstanceSettings):
    """The composer's image and label of the preview's instance as the only object."""
    library = shape_library()
    preset = Preset.model_validate({"name": "one", "grid": list(settings.grid), "objects": [1, 1],
                                    "classes": [shape_name], "mappers": [settings.mapper]})
    composer = Composer(LoadedPreset(preset, library, "test"))
    inst = settings_instance(library.get(shape_name), settings)
    plan = ObjectPlan(composer.table[0], inst.params, inst.tree, inst.placement,
                      inst.displacement, inst.mapper, inst.noise_seed)
    return composer.render([plan])


@pytest.mark.parametrize(("name", "placement", "displacement", "mapper"), [
    ("sphere", "centred", "none", "inverse_cube"),
    ("five_star_cone_prism", "random", "perlin_fine", "modular_5"),
    ("onioned_hexagon_concave_prism", "random", "sharpmax", "inverse_cube"),
    ("nonagon_torus", "centred", "gradient_noise", "sinusoidal_wavelength_3.0"),
    ("bean", "random", "ridge_coarse", "floor_width_0.5"),
])
def test_preview_image_and_label_are_the_composers(name, placement, displacement, mapper):
    settings = InstanceSettings(seed=11, grid=(40, 44, 48), placement=placement,
                                displacement=displacement, mapper=mapper)
    preview = preview_class(shape_library().get(name), settings)
    sample = composer_render(name, settings)
    assert preview.sdf.shape == preview.image.shape == (40, 44, 48)
    assert np.array_equal(preview.image, sample.image)
    assert np.array_equal(preview.label.astype(bool), sample.label == 1)
    assert preview.inside == int((sample.label == 1).sum()) > 0


def test_preview_sdf_is_fdif_sdf(tmp_path):
    out = tmp_path / "f.npy"
    assert main(["sdf", "five_star_prism", "--seed", "4", "--grid", "48", "--displacement",
                 "turbulence", "--out", str(out)]) == 0
    settings = InstanceSettings(seed=4, grid=(48, 48, 48), placement="random",
                                displacement="turbulence")
    preview = preview_class(shape_library().get("five_star_prism"), settings)
    assert np.array_equal(np.load(out), preview.sdf)
    centred = tmp_path / "c.npy"
    assert main(["sdf", "five_star_prism", "--seed", "4", "--grid", "48", "--center",
                 "--no-transform", "--out", str(centred)]) == 0
    settings = InstanceSettings(seed=4, grid=(48, 48, 48))
    assert np.array_equal(np.load(centred),
                          preview_class(shape_library().get("five_star_prism"), settings).sdf)


def test_centred_sphere_instance_is_exact():
    preview = preview_class(shape_library().get("sphere"), InstanceSettings(seed=2, grid=(32,) * 3))
    r = preview.instance.params["r"]
    assert 0.15 * 32 <= r <= 0.4 * 32
    assert preview.instance.placement.to_dict() == dict.fromkeys(preview.instance.placement.to_dict(), 0.0)
    c = np.arange(32) - 16.0
    z, y, x = np.meshgrid(c, c, c, indexing="ij")
    assert np.allclose(preview.sdf, np.sqrt(x * x + y * y + z * z) - r, atol=1e-4)
    lo, hi = preview.distance_range
    assert lo == pytest.approx(-r, abs=1e-5) and hi == pytest.approx(math.sqrt(3) * 16 - r, abs=1e-4)
    meta = preview.metadata()
    assert meta["inside_voxels"] == preview.inside and meta["mapper"] == "inverse_cube"


def test_seed_changes_the_instance_and_repeats_it():
    shape = shape_library().get("torus")
    a = settings_instance(shape, InstanceSettings(seed=1))
    b = settings_instance(shape, InstanceSettings(seed=2))
    assert a.params != b.params
    assert settings_instance(shape, InstanceSettings(seed=1)) == a


def test_class_mapper_wins_over_the_preview_mapper():
    data = {"name": "glow", "params": {}, "shape": {
        "kind": "mapper", "params": {"name": "linear_slope_20.0"},
        "children": [{"kind": "sphere", "params": {"r": 6.0}}]}}
    from fdif_core.shapes import ShapeClass

    preview = preview_class(ShapeClass.model_validate(data),
                            InstanceSettings(grid=(24,) * 3, mapper="modular_5"))
    assert preview.instance.mapper == "linear_slope_20.0"
    # 128 + 20 d, clamped: 8 at the centre (d = -6), 128 on the surface, 0 outside
    assert preview.image[12, 12, 12] == 8 and preview.image[12, 12, 18] == 128
    assert preview.image[12, 12, 19] == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("placement", "sideways", "placement 'sideways': use one of centred, random"),
    ("displacement", "wobble", "unknown displacement 'wobble'"),
    ("mapper", "glow", "unknown mapper 'glow'"),
    ("seed", -1, "seed -1: must be between 0 and 2**63 - 1"),
])
def test_instance_settings_refuse_bad_values(field, value, message):
    with pytest.raises((ValueError, KeyError)) as err:
        InstanceSettings(**{field: value})
    assert message in str(err.value)


def test_mapper_curve_is_the_mapper():
    d, g = mapper_curve("modular_5", -10.0, 3.0, 27)
    assert d[0] == -10.0 and d[-1] == 3.0 and len(d) == 27
    import torch

    assert np.array_equal(g, get_mapper("modular_5")(torch.as_tensor(d)).numpy())
    assert set(MAPPERS) >= {"modular_5"}


def test_preview_cli_writes_arrays_and_metadata(tmp_path, capsys):
    out = tmp_path / "p.npz"
    torus = SHAPES / "fdif" / "003_torus.toml"
    assert main(["preview", str(torus), "--seed", "3", "--grid", "32", "--mapper", "modular_10",
                 "--out", str(out)]) == 0
    with np.load(out) as data:
        sdf, image, label = data["sdf"], data["image"], data["label"]
        meta = json.loads(str(data["metadata"]))
    preview = preview_class(load_shape_file(torus), InstanceSettings(3, (32,) * 3, mapper="modular_10"))
    assert np.array_equal(sdf, preview.sdf) and np.array_equal(image, preview.image)
    assert np.array_equal(label, preview.label)
    assert meta["shape"] == "torus" and meta["inside_voxels"] == preview.inside
    assert capsys.readouterr().out.startswith(f"{out}: torus seed 3, {preview.inside} voxels inside")
    assert zipfile.is_zipfile(out)


# -- shape files and the library -----------------------------------------------------------------
def test_resolve_shape_by_name_alias_and_file(tmp_path):
    assert resolve_shape("torus").name == "torus"
    assert resolve_shape("onionedsevenstar concaveprism").name == "onioned_seven_star_concave_prism"
    assert resolve_shape(SHAPES / "library" / "bean.toml").name == "bean"
    with pytest.raises(FdifError, match="shape file 'nowhere.toml' does not exist"):
        resolve_shape("nowhere.toml")
    with pytest.raises(FdifError, match="unknown shape class 'nowhere'"):
        resolve_shape("nowhere")


def test_sdf_and_mesh_accept_a_shape_file(tmp_path, capsys):
    shape = shape_library().get("bean").model_copy(update={"name": "my_bean"})
    path = tmp_path / "my_bean.toml"
    from fdif_core.files import write_toml

    write_toml(path, shape)
    assert main(["mesh", str(path), "--grid", "48", "--out", str(tmp_path / "b.obj")]) == 0
    assert "vertices" in capsys.readouterr().out
    assert main(["sdf", str(path), "--grid", "32", "--out", str(tmp_path / "b.npy")]) == 0
    assert np.load(tmp_path / "b.npy").shape == (32, 32, 32)
    assert main(["mesh", str(tmp_path / "none.toml"), "--out", str(tmp_path / "x.stl")]) == 2


def test_families_cover_every_fdif_class():
    fdif = [s for s in shape_library().ordered() if s.fdif_id is not None]
    families = [family_of(s) for s in fdif]
    assert len(fdif) == 109 and None not in families
    counts = {name: families.count(name) for name in FAMILIES}
    assert counts == {"Basic": 8, "Revolution": 3, "Prisms": 11, "Convex prisms": 11,
                      "Concave prisms": 11, "Cone prisms": 11, "Tori": 10, "Onioned": 44}
    assert family_of(shape_library().get("bean")) is None


def test_save_user_shape_round_trip_and_refusals():
    shape = shape_library().get("torus").model_copy(update={"name": "my_torus", "aliases": [],
                                                           "fdif_id": None})
    path = save_user_shape(shape)
    assert path == user_root() / "shapes" / "my_torus.toml"
    assert load_shape_file(path).content_hash == shape.content_hash
    assert shape_library().get("my_torus").content_hash == shape.content_hash
    assert main(["shapes", "validate", str(path)]) == 0
    with pytest.raises(FdifError, match="already exists"):
        save_user_shape(shape)
    save_user_shape(shape, overwrite=True)
    clash = shape.model_copy(update={"name": "sphere"})
    with pytest.raises(FdifError, match="shape name 'sphere' is already defined by .*001_sphere.toml"):
        save_user_shape(clash)
    assert not (user_root() / "shapes" / "sphere.toml").exists()


# -- thumbnails ----------------------------------------------------------------------------------
def test_sphere_thumbnail_is_a_shaded_disc():
    rgba = render_thumbnail(shape_library().get("sphere"), size=96)
    assert rgba.shape == (96, 96, 4) and rgba.dtype == np.uint8
    covered = rgba[..., 3] > 0
    # the camera frames the bounding box's sphere: radius sqrt(3) r, 5 % margin
    assert covered.mean() == pytest.approx(math.pi / (4 * 3 * 1.05 ** 2), abs=0.01)
    rows, cols = np.nonzero(covered)
    assert abs(rows.mean() - 47.5) < 1 and abs(cols.mean() - 47.5) < 1
    lit = rgba[..., 0][covered].astype(float)
    # lit from the upper left: the upper-left quarter is brighter than the lower-right one
    ul = rgba[:40, :40, 0][covered[:40, :40]].mean()
    lr = rgba[56:, 56:, 0][covered[56:, 56:]].mean()
    assert ul > lr + 40 and lit.max() > 200


def test_thumbnail_cache_is_keyed_by_content_hash(tmp_path):
    torus = shape_library().get("torus")
    path = cached_thumbnail(torus, tmp_path)
    assert path == thumbnail_path(torus, tmp_path) and path.name.startswith(torus.content_hash[:32])
    stamp = path.stat().st_mtime_ns
    assert cached_thumbnail(torus, tmp_path).stat().st_mtime_ns == stamp
    other = torus.model_copy(update={"description": "changed"})
    assert thumbnail_path(other, tmp_path) != path
    from PIL import Image

    assert Image.open(path).size == (64, 64)


def test_thumbnail_cli(tmp_path, capsys):
    assert main(["shapes", "thumbnail", "torus", "bean", "--out", str(tmp_path), "--size", "32"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bean.png", "torus.png"]
    assert main(["shapes", "thumbnail", "torus", "--out", str(tmp_path), "--size", "4"]) == 2
    assert "--size 4: must be between 8 and 1024 pixels" in capsys.readouterr().err


def test_grid_quantities_follow_the_preview_grid():
    shape = shape_library().get("sphere")
    small = settings_instance(shape, InstanceSettings(seed=5, grid=(32,) * 3)).params["r"]
    large = settings_instance(shape, InstanceSettings(seed=5, grid=(64,) * 3)).params["r"]
    assert large == pytest.approx(2 * small)
    assert Grid.reference((32,) * 3).size["min_grid"] == 32
