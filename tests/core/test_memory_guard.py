"""One memory guard for every verb (:mod:`fdif_core.memory`): refused before allocating, with
one line naming what needs how much, what is available and what to change. The available
memory is monkeypatched, so nothing large is ever allocated."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from fdif_core import memory, meshing, thumbnails
from fdif_core.cli import main
from fdif_core.datasets.generate import _check_memory
from fdif_core.errors import FdifError
from fdif_core.grid import Grid
from fdif_core.library import resolve_shape
from fdif_core.presets import preset_from_file
from fdif_core.preview import InstanceSettings, preview_class
from fdif_core.shapes import compile_tree, sample_class

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30


@pytest.fixture
def available(monkeypatch):
    """Set the memory the guard sees (GiB) for the rest of the test."""
    def set_available(gib: float | None) -> None:
        value = None if gib is None else int(gib * GIB)
        monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": value)
    set_available(7.9)
    return set_available


def big_preset(tmp_path: Path, base: str, n: int, **changes) -> Path:
    data = tomllib.loads((ROOT / "presets" / f"{base}.toml").read_text())
    data.update(name="big", grid=[n, n, n], **changes)
    path = tmp_path / "big.toml"
    path.write_text(tomli_w.dumps(data))
    return path


# -- the module ---------------------------------------------------------------------------------
def test_sizes_are_printed_in_units_people_read():
    assert memory.format_size(11.6 * GIB) == "11.6 GiB"
    assert memory.format_size(GIB) == "1.0 GiB"
    assert memory.format_size(300 * 2**20) == "300 MiB"
    assert memory.format_size(1536) == "2 KiB"
    assert memory.format_size(10) == "10 bytes"
    assert memory.format_size(0) == "0 bytes"


def test_estimates_follow_the_measured_constants():
    grid = (96, 96, 96)
    n = 96**3
    assert memory.object_bytes(grid) == 40 * n
    assert memory.object_bytes(grid, "perlin_fine") == 40 * n  # a world field is a lookup
    assert memory.object_bytes(grid, "gradient_noise") == 270 * n
    paper = [d.name for d in preset_from_file(ROOT / "presets" / "paper.toml").displacements]
    assert memory.sample_bytes(grid, paper) == (50 + 6 * 9) * n
    assert memory.sample_bytes(grid, paper, tasks=3) == (50 + 6 * 9 + 2 * 24) * n
    assert memory.sample_bytes(grid, ["gradient_noise", "gradient_noise_fine"]) == 180 * n
    assert memory.classification_bytes(grid, ["twisted_x"]) == 86 * n
    assert memory.classification_bytes(grid, ["gradient_noise"]) == 350 * n
    assert memory.batch_bytes(grid, 64) == (160 * 64 + 500) * n
    assert memory.mesh_bytes(1000) == 48_000
    assert memory.voxels((1024, 1024, 1024)) == 2**30  # Python integers: no overflow


def test_require_refuses_with_one_line(available):
    memory.require(7 * GIB, "x", "y")  # fits
    with pytest.raises(FdifError) as err:
        memory.require(int(11.6 * GIB), "--grid 1024", "use a smaller grid")
    assert str(err.value) == ("--grid 1024 needs about 11.6 GiB but 7.9 GiB are available: "
                              "use a smaller grid")
    with pytest.raises(FdifError, match=r"are available on cuda:0: use"):
        memory.require(10 * GIB, "x", "use", "cuda:0")
    available(None)  # cannot be known: no refusal
    memory.require(10**15, "x", "y")


def test_available_memory_is_the_smallest_of_meminfo_and_the_cgroup(monkeypatch):
    files = {"/proc/meminfo": "MemTotal: 16000000 kB\nMemAvailable:    8000000 kB\n"}
    monkeypatch.setattr(memory, "_read", files.get)
    assert memory.available_bytes() == 8_000_000 * 1024
    files.update({"/sys/fs/cgroup/memory.max": "4294967296\n",
                  "/sys/fs/cgroup/memory.current": "3221225472\n",
                  "/sys/fs/cgroup/memory.stat": "anon 1\ninactive_file 536870912\n"})
    assert memory.available_bytes() == 4 * GIB - 3 * GIB + GIB // 2
    files["/sys/fs/cgroup/memory.max"] = "max\n"  # no limit
    assert memory.available_bytes() == 8_000_000 * 1024
    files.clear()
    files.update({"/sys/fs/cgroup/memory/memory.limit_in_bytes": str(2 * GIB),
                  "/sys/fs/cgroup/memory/memory.usage_in_bytes": str(GIB),
                  "/sys/fs/cgroup/memory/memory.stat": "total_inactive_file 0\n"})
    assert memory.available_bytes() == GIB  # v1, and no /proc/meminfo


# -- every verb -----------------------------------------------------------------------------------
def test_sdf_refuses_a_grid_that_does_not_fit(tmp_path, capsys, available):
    out = tmp_path / "a.npy"
    assert main(["sdf", "sphere", "--grid", "1024", "--out", str(out)]) == 2
    assert capsys.readouterr().err == ("fdif: error: --grid 1024 needs about 40.0 GiB but 7.9 GiB "
                                       "are available: use a smaller grid\n")
    assert main(["sdf", "sphere", "--grid", "512", "512", "256", "--displacement",
                 "gradient_noise", "--out", str(out)]) == 2
    assert capsys.readouterr().err == ("fdif: error: --grid 512 512 256 needs about 16.9 GiB but "
                                       "7.9 GiB are available: use a smaller grid\n")
    assert not out.exists()
    assert main(["sdf", "sphere", "--grid", "16", "--out", str(out)]) == 0
    assert out.is_file()


def test_preview_refuses_in_the_core_so_the_studio_does_too(tmp_path, capsys, available):
    available(1.0)
    with pytest.raises(FdifError) as err:
        preview_class(resolve_shape("sphere"), InstanceSettings(grid=(512, 512, 512)))
    assert str(err.value) == ("grid 512x512x512 needs about 5.0 GiB but 1.0 GiB are available: "
                              "use a smaller grid")
    assert main(["preview", "sphere", "--grid", "512", "--out", str(tmp_path / "p.npz")]) == 2
    assert capsys.readouterr().err.startswith("fdif: error: grid 512x512x512 needs about 5.0 GiB")
    assert preview_class(resolve_shape("sphere"), InstanceSettings(grid=(16, 16, 16))).inside > 0


def test_sample_refuses_a_preset_grid_that_does_not_fit(tmp_path, capsys, available):
    out = tmp_path / "s.npz"
    assert main(["sample", "--preset", str(big_preset(tmp_path, "quick", 512)),
                 "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "fdif: error: preset 'big' (grid 512x512x512) needs about 13.0 GiB but 7.9 GiB are "
        "available: use a smaller grid in the preset\n")
    assert not out.exists()


def test_generate_refuses_per_worker_before_making_the_folder(tmp_path, capsys, available):
    out = tmp_path / "data"
    preset = str(big_preset(tmp_path, "paper", 256))
    assert main(["generate", "--preset", preset, "--out", str(out), "--workers", "5"]) == 2
    # (50 + 6 * 9 + 15) bytes per voxel and worker, and 160 MiB per spawned worker: 10.1 GiB;
    # 4 workers (8.1 GiB) would not fit either, 3 (6.1 GiB) would
    assert capsys.readouterr().err == (
        "fdif: error: grid 256x256x256 with 5 worker(s) needs about 10.1 GiB but 7.9 GiB are "
        "available: use fewer --workers or a smaller grid\n")
    assert main(["generate", "--preset", str(big_preset(tmp_path, "quick", 512)), "--out",
                 str(out), "--format", "classification", "--workers", "1"]) == 2
    assert capsys.readouterr().err == (
        "fdif: error: grid 512x512x512 with 1 worker(s) needs about 16.8 GiB but 7.9 GiB are "
        "available: use fewer --workers or a smaller grid\n")
    assert not out.exists()


def test_generate_on_cuda_checks_the_batch_against_the_device(available):
    available(4.0)
    paper = preset_from_file(ROOT / "presets" / "paper.toml")
    with pytest.raises(FdifError) as err:
        _check_memory(paper, "decathlon", 1, 1, "cuda", 1)
    assert str(err.value) == ("grid 96x96x96 with 1 worker(s) in batches of 64 needs about "
                              "8.8 GiB but 4.0 GiB are available on cuda: use fewer --workers "
                              "or a smaller grid")
    available(9.0)
    _check_memory(paper, "decathlon", 1, 1, "cuda", 1)


def test_mesh_refuses_absurd_extents_and_lattices_that_do_not_fit(tmp_path, capsys, available):
    out = tmp_path / "m.stl"
    assert main(["mesh", "sphere", "--set", "r=1e30", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "fdif: error: this instance of sphere spans 2e+30 x 2e+30 x 2e+30 voxels: meshing it at "
        "step 0.5 takes 4e+30 x 4e+30 x 4e+30 points, more than 400^3; use a larger step or "
        "smaller parameters\n")
    assert main(["mesh", "sphere", "--set", "r=1e308", "--out", str(out)]) == 2  # bounds overflow
    assert capsys.readouterr().err == (
        "fdif: error: this instance of sphere spans inf x inf x inf voxels: meshing it at step "
        "0.5 takes inf x inf x inf points, more than 400^3; use a larger step or smaller "
        "parameters\n")
    available(1.0)
    assert main(["mesh", "sphere", "--set", "r=8", "--step", "0.05", "--out", str(out)]) == 2
    # bounds at level 0.05: +-8.05, two steps of margin: 327 points per axis, 48 bytes each
    assert capsys.readouterr().err == (
        "fdif: error: meshing sphere at --step 0.05 (34,965,783 points) needs about 1.6 GiB but "
        "1.0 GiB are available: use a larger --step\n")
    assert not out.exists()


def test_training_stream_refuses_per_sample_and_worker(tmp_path, capsys, available):
    preset = str(big_preset(tmp_path, "quick", 512))
    assert main(["train", "--preset", preset, "--out", str(tmp_path / "run"), "--device", "cpu",
                 "--num-workers", "2", "--max-steps", "1"]) == 2
    assert capsys.readouterr().err == (
        "fdif: error: preset 'big' (grid 512x512x512, 2 sample(s) at a time) needs about "
        "26.0 GiB but 7.9 GiB are available: use a smaller grid in the preset or fewer "
        "--num-workers\n")


def test_mesh_lattice_is_evaluated_in_slabs_bitwise_as_in_one_call(monkeypatch):
    grid = Grid.reference((48, 48, 48))
    _, tree = sample_class(resolve_shape("organic_blob"), np.random.default_rng(3), grid.size)
    sdf = compile_tree(tree)
    lattice = meshing.Lattice.around(sdf.bounds(0.5), 0.5)
    x, y, z = (lattice.axis(i) for i in range(3))
    whole = sdf((x.view(1, 1, -1), y.view(1, -1, 1), z.view(-1, 1, 1)))
    monkeypatch.setattr(meshing, "SLAB_POINTS", 1000)  # many slabs, one z plane or more each
    slabs = lattice.evaluate(sdf)
    assert slabs.shape == tuple(reversed(lattice.counts))
    assert np.array_equal(slabs, whole.expand(slabs.shape).numpy())


def test_thumbnail_rays_are_evaluated_in_blocks_bitwise_as_in_one_call(monkeypatch):
    shape = resolve_shape("organic_blob")
    monkeypatch.setattr(thumbnails, "RAY_POINTS", 1 << 30)  # one call
    whole = thumbnails.render_thumbnail(shape, 40)
    monkeypatch.setattr(thumbnails, "RAY_POINTS", 3 * 40 * 96)  # blocks of 3 rows, one of 1
    assert np.array_equal(thumbnails.render_thumbnail(shape, 40), whole)
    assert (whole[..., 3] == 255).sum() > 100  # the class is in the picture
