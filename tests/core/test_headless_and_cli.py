"""fdif_core stays headless; the engine CLI verbs behave (outputs, one-line errors, exit 2)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import zipfile

import numpy as np

import fdif_core
from fdif_core.cli import main

GUI = ("PyQt6", "PySide6", "pyvista", "pyvistaqt", "vtk", "vtkmodules", "superqt", "app")


def test_core_never_imports_gui_modules():
    modules = [m.name for m in pkgutil.walk_packages(fdif_core.__path__, "fdif_core.")]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    if name.endswith('__main__'): continue\n"
            "    importlib.import_module(name)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {GUI!r}]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert len(modules) > 15


def test_shapes_list(capsys):
    assert main(["shapes", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 109
    assert lines[0].split("\t") == ["1", "sphere", "sphere"]
    assert lines[103].split("\t") == ["104", "onioned_seven_star_concave_prism",
                                      "'onionedsevenstar concaveprism'"]


def test_sdf_accepts_reference_alias(tmp_path):
    out = tmp_path / "f.npy"
    assert main(["sdf", "onionedsevenstar concaveprism", "--grid", "32", "--out", str(out)]) == 0
    assert np.load(out).shape == (32, 32, 32)


def test_sdf_explicit_parameters(tmp_path):
    out = tmp_path / "torus.npy"
    args = ["sdf", "torus", "--set", "R=20", "--set", "r=6", "--no-transform", "--center",
            "--out", str(out)]
    assert main(args) == 0
    f = np.load(out)
    assert f.dtype == np.float32 and f.shape == (96, 96, 96)
    assert int((f <= 0).sum()) == 13864
    assert abs(f[48, 58, 48] - 16.3607) < 1e-4


def test_sdf_non_cubic_grid(tmp_path):
    out = tmp_path / "s.npy"
    assert main(["sdf", "sphere", "--grid", "20", "24", "28", "--center", "--out", str(out)]) == 0
    assert np.load(out).shape == (20, 24, 28)


def test_sample_writes_image_label_metadata(tmp_path):
    out = tmp_path / "s.npz"
    assert main(["sample", "--preset", "quick", "--seed", "3", "--index", "2", "--out",
                 str(out)]) == 0
    with np.load(out) as data:
        assert data["image"].dtype == np.uint8 and data["label"].dtype == np.int32
        meta = json.loads(str(data["metadata"]))
    assert meta["seed"] == 3 and meta["index"] == 2
    assert {"class_id", "params", "placement", "mapper", "displacement"} <= set(meta["objects"][0])
    assert zipfile.is_zipfile(out)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fdif_core", *args], capture_output=True,
                          text=True)


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    cases = [
        (["sdf", "blob", "--out", str(tmp_path / "x.npy")], "unknown shape class 'blob'"),
        (["sdf", "sphere", "--set", "r=big", "--out", str(tmp_path / "x.npy")], "not a number"),
        (["sdf", "sphere", "--set", "radius=3", "--out", str(tmp_path / "x.npy")],
         "no parameter 'radius'"),
        (["sdf", "sphere", "--set", "r=-3", "--center", "--out", str(tmp_path / "x.npy")],
         "below the minimum"),
        (["sample", "--preset", "nope", "--out", str(tmp_path / "x.npz")], "unknown preset"),
        (["sdf", "sphere", "--grid", "1", "--out", str(tmp_path / "x.npy")], "--grid"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_malformed_preset_file_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nclasses = ["sphere"]\nobjects = [5, 2]\n')
    result = run_cli("sample", "--preset", str(bad), "--out", str(tmp_path / "x.npz"))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "objects" in result.stderr
