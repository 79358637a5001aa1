"""Objects without a surface in the grid (inside no voxel, or every voxel) are reported:
``warning`` events from ``fdif generate``, warnings on stderr from ``fdif sample``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fdif_core.cli import main
from fdif_core.compose import surface_warnings
from fdif_core.datasets.progress import SurfaceNotes

CLASSES = {
    "nan_formula": '[shape]\nkind = "formula"\n[shape.params]\nexpr = "sqrt(-1) + x"\n',
    "log_zero": '[shape]\nkind = "formula"\n[shape.params]\nexpr = "log(0) + x"\n',
    "mod_zero": '[shape]\nkind = "formula"\n[shape.params]\nexpr = "x % 0"\n',
    "huge_ball": 'params = {r = 1e30}\n[shape]\nkind = "sphere"\n[shape.params]\nr = "r"\n',
}
NO_VOXEL = "it covers no voxel (too small, outside the grid, or NaN everywhere)"
EVERY_VOXEL = "it covers every voxel of the grid"


def _display(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "lib"
    (folder / "shapes").mkdir(parents=True)
    for name, body in CLASSES.items():
        (folder / "shapes" / f"{name}.toml").write_text(f'name = "{name}"\n{body}')
    return folder


def _preset(tmp_path: Path, name: str, grid: str = "[16, 16, 16]", objects: str = "[2, 2]") -> Path:
    path = tmp_path / f"p_{name}.toml"
    path.write_text(f'name = "p_{name}"\ngrid = {grid}\nobjects = {objects}\n'
                    f'classes = ["{name}"]\nmappers = ["linear_slope_10.0"]\n')
    return path


def _message(index: int, k: int, name: str, what: str) -> str:
    return (f"sample {index}: objects[{k}] (class 1 '{_display(name)} + inverse_cube', shape "
            f"{name}) has no surface in the grid: {what}")


@pytest.mark.parametrize("name,what", [("nan_formula", NO_VOXEL), ("log_zero", NO_VOXEL),
                                       ("mod_zero", NO_VOXEL), ("huge_ball", EVERY_VOXEL)])
def test_sample_warns_on_stderr(tmp_path, capsys, library, name, what):
    out = tmp_path / "s.npz"
    assert main(["--library", str(library), "sample", "--preset", str(_preset(tmp_path, name)),
                 "--index", "3", "--out", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"fdif: warning: {_message(3, k, name, what)}" for k in (0, 1)]
    assert out.is_file()


def test_a_thin_grid_with_small_objects_warns(tmp_path, capsys):
    preset = tmp_path / "thin.toml"
    preset.write_text('name = "thin"\ngrid = [1024, 8, 8]\nobjects = [3, 3]\n'
                      'classes = ["sphere"]\n')
    assert main(["sample", "--preset", str(preset), "--out", str(tmp_path / "s.npz")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"fdif: warning: sample 0: objects[{k}] (class 1 'Sphere + inverse_cube', "
                   f"shape sphere) has no surface in the grid: {NO_VOXEL}" for k in range(3)]


def test_normal_samples_do_not_warn(tmp_path, capsys):
    assert main(["sample", "--preset", "quick", "--out", str(tmp_path / "s.npz")]) == 0
    assert capsys.readouterr().err == ""


def _warnings(capsys) -> list[str]:
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["event"] == "done"
    return [e["message"] for e in events if e["event"] == "warning"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_generate_emits_warning_events(tmp_path, capsys, library, workers):
    out = tmp_path / "data"
    assert main(["--library", str(library), "generate", "--preset",
                 str(_preset(tmp_path, "huge_ball")), "--num-samples", "2", "--workers", workers,
                 "--out", str(out), "--json"]) == 0
    # samples report as they are computed: with two workers, in either order
    assert sorted(_warnings(capsys)) == [_message(i, k, "huge_ball", EVERY_VOXEL)
                                         for i in (0, 1) for k in (0, 1)]


def test_generate_shows_the_first_warnings_and_counts_the_rest(tmp_path, capsys, library):
    assert main(["--library", str(library), "generate", "--preset",
                 str(_preset(tmp_path, "nan_formula", objects="[3, 3]")), "--num-samples", "8",
                 "--workers", "1", "--out", str(tmp_path / "data"), "--json"]) == 0
    shown = [_message(i, k, "nan_formula", NO_VOXEL) for i in range(8) for k in range(3)][:20]
    assert _warnings(capsys) == [*shown, "4 more objects had no surface in the grid (24 in all; "
                                 "the first 20 are shown)"]


def test_classification_samples_warn_too(tmp_path, capsys, library):
    assert main(["--library", str(library), "generate", "--preset",
                 str(_preset(tmp_path, "mod_zero")), "--format", "classification",
                 "--samples-per-class", "1", "--n-splits", "2", "--workers", "1",
                 "--out", str(tmp_path / "data"), "--json"]) == 0
    assert _warnings(capsys) == [_message(i, 0, "mod_zero", NO_VOXEL) for i in (0, 1)]


def test_surface_warnings_count_voxels_exactly():
    meta = {"class_id": 2, "class": "Torus + modular_5", "shape": "torus"}
    objects = [{**meta, "volume": v} for v in (0, 1, 63, 64)]
    assert surface_warnings(5, objects, 64) == [
        f"sample 5: objects[0] (class 2 'Torus + modular_5', shape torus) has no surface in the "
        f"grid: {NO_VOXEL}",
        f"sample 5: objects[3] (class 2 'Torus + modular_5', shape torus) has no surface in the "
        f"grid: {EVERY_VOXEL}"]
    notes = SurfaceNotes()
    notes.add(["a"] * 3)
    assert [e.data["message"] for e in notes.events(final=True)] == ["a"] * 3
