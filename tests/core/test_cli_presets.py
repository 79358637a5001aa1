"""``fdif presets ...``, ``fdif shapes validate --check`` and ``fdif mesh``."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from fdif_core.cli import main
from fdif_core.library import user_root
from fdif_core.meshing import marching_cubes, signed_volume, surface_area

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def test_presets_list_shows_the_four_shipped_presets(capsys):
    assert main(["presets", "list"]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert {"paper", "quick", "organic", "vessels"} <= set(names)


def test_presets_show_and_validate(capsys):
    assert main(["presets", "show", "vessels"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "vessels" and len(shown["shape_hashes"]) == 4
    files = [str(ROOT / "presets" / f"{n}.toml") for n in ("paper", "quick", "organic", "vessels")]
    assert main(["presets", "validate", *files, str(FIXTURES / "bundle_v1.fdifbundle")]) == 0
    assert capsys.readouterr().out.count(": ok (") == 5


def test_presets_validate_reports_file_and_field(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nclasses = ["sphere"]\nobjects = [5, 2]\n')
    assert main(["presets", "validate", str(bad)]) == 2
    assert f"{bad}: objects: [5, 2] must satisfy" in capsys.readouterr().err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('name = "unknown"\nclasses = ["no_such_shape"]\n')
    assert main(["presets", "validate", str(unknown)]) == 2
    assert "unknown shape class 'no_such_shape'" in capsys.readouterr().err


def test_export_then_import_then_generate_by_name(tmp_path, capsys):
    out = tmp_path / "fix.fdifbundle"
    assert main(["presets", "export", str(FIXTURES / "preset_v1.toml"), "--out", str(out)]) == 0
    assert main(["presets", "import", str(out)]) == 0
    assert (user_root() / "presets" / "fixture_preset_v1.toml").is_file()
    assert main(["presets", "import", str(out)]) == 0
    assert "nothing to write" in capsys.readouterr().out
    npz_a, npz_b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert main(["sample", "--preset", "fixture_preset_v1", "--out", str(npz_a)]) == 0
    assert main(["sample", "--preset", str(out), "--out", str(npz_b)]) == 0
    a, b = np.load(npz_a), np.load(npz_b)
    assert a["image"].tobytes() == b["image"].tobytes()
    assert a["label"].tobytes() == b["label"].tobytes()


def test_shapes_validate_check_catches_field_errors(tmp_path, capsys):
    star = tmp_path / "my_star.toml"
    star.write_text('name = "my_star"\n[shape]\nkind = "extrude"\nparams = { height = 10.0 }\n'
                    '[[shape.children]]\nkind = "star"\nparams = { r = 5.0, n = 5, w = 1.4 }\n')
    assert main(["shapes", "validate", str(star)]) == 2
    assert f"{star}: shape.children[0].params.w: 1.4 is above the maximum 1.0" \
        in capsys.readouterr().err
    library = sorted(str(p) for p in (ROOT / "shapes" / "library").glob("*.toml"))
    assert main(["shapes", "validate", "--check", *library]) == 0


@pytest.mark.parametrize("suffix", [".stl", ".obj", ".ply", ".vtk"])
def test_mesh_formats(tmp_path, suffix, capsys):
    out = tmp_path / f"sphere{suffix}"
    assert main(["mesh", "sphere", "--set", "r=8", "--step", "1", "--out", str(out)]) == 0
    data = out.read_bytes()
    if suffix == ".stl":
        (count,) = struct.unpack("<I", data[80:84])
        assert len(data) == 84 + 50 * count and count > 100
    elif suffix == ".obj":
        assert data.count(b"\nv ") > 100 and data.count(b"\nf ") > 100
    elif suffix == ".ply":
        assert data.startswith(b"ply\nformat ascii 1.0\n")
    else:
        assert data.startswith(b"# vtk DataFile Version 3.0\n") and b"POLYGONS" in data


def test_mesh_of_a_sphere_has_the_right_volume_and_area():
    r, step = 10.0, 0.5
    axis = np.arange(-13, 13 + step / 2, step)
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")
    sdf = np.sqrt(x * x + y * y + z * z) - r
    vertices, faces = marching_cubes(sdf, (-13.0, -13.0, -13.0), (step,) * 3)
    assert signed_volume(vertices, faces) == pytest.approx(4 / 3 * math.pi * r ** 3, rel=0.01)
    assert surface_area(vertices, faces) == pytest.approx(4 * math.pi * r ** 2, rel=0.01)
    # Outward winding: the face normals point away from the centre.
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    normals = np.cross(b - a, c - a)
    real = np.linalg.norm(normals, axis=1) > 1e-9  # vertices on grid points give empty faces
    outward = np.einsum("ij,ij->i", normals[real], ((a + b + c) / 3)[real]) > 0
    assert bool(outward.all())


def test_mesh_errors(tmp_path, capsys):
    assert main(["mesh", "sphere", "--out", str(tmp_path / "x.stp")]) == 2
    assert "use one of" in capsys.readouterr().err
    assert main(["mesh", "no_such", "--out", str(tmp_path / "x.stl")]) == 2
