"""Small CLI traps: ``--out`` folders and unwritable paths, unknown devices, ``--library``
folders that do not exist, and disk-space warnings that never print nonsense. Each refusal is
one line on stderr with exit code 2, before any work."""

from __future__ import annotations

import importlib
import os
import types
from pathlib import Path

import pytest
import torch

from fdif_core.bundles import load_bundle
from fdif_core.cli import main
from fdif_core.devices import parse_device
from fdif_core.errors import FdifError
from fdif_core.files import output_file

generate_module = importlib.import_module("fdif_core.datasets.generate")
UNWRITABLE = Path("/proc/fdif-test-x")  # /proc refuses new files, even for root


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


# -- --out ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, written", [
    (["sdf", "sphere", "--grid", "8", "--seed", "3"], "sphere_seed3.npy"),
    (["preview", "sphere", "--grid", "8"], "sphere_seed0.npz"),
    (["sample", "--preset", "quick", "--seed", "2", "--index", "5"], "quick_seed2_index5.npz"),
    (["mesh", "sphere", "--set", "r=4", "--step", "1"], "sphere_seed0.stl"),
    (["presets", "export", "quick"], "quick.fdifbundle"),
])
def test_out_folder_gets_the_file_inside_and_says_where(tmp_path, capsys, argv, written):
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [written]
    assert capsys.readouterr().out.startswith(f"{tmp_path / written}: ")


def test_out_folder_of_export_holds_a_loadable_bundle_and_no_sibling(tmp_path):
    folder = tmp_path / "bundles"
    folder.mkdir()
    assert main(["presets", "export", "quick", "--out", str(folder)]) == 0
    assert load_bundle(folder / "quick.fdifbundle").preset.name == "quick"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundles"]  # no bundles.fdifbundle
    assert main(["presets", "export", "quick", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b.fdifbundle").is_file()  # a new name still gets the suffix


@pytest.mark.parametrize("argv", [
    ["sdf", "sphere", "--grid", "8"],
    ["preview", "sphere", "--grid", "8"],
    ["sample", "--preset", "quick"],
    ["mesh", "sphere", "--set", "r=4"],
])
def test_unwritable_out_is_one_line_naming_the_path_and_the_reason(capsys, argv):
    name = "x.stl" if argv[0] == "mesh" else "x"
    assert main([*argv, "--out", str(UNWRITABLE / "sub" / name)]) == 2
    assert error_line(capsys) == (f"fdif: error: cannot write {UNWRITABLE}/sub/{name}: cannot "
                                  f"create the folder {UNWRITABLE}: No such file or directory")
    assert main([*argv, "--out", f"{UNWRITABLE}.stl"]) == 2
    assert error_line(capsys) == (f"fdif: error: cannot write {UNWRITABLE}.stl: No such file or "
                                  "directory")


def test_out_below_a_file_and_export_to_proc(tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert main(["sdf", "sphere", "--grid", "8", "--out", str(plain / "a.npy")]) == 2
    assert error_line(capsys) == (f"fdif: error: cannot write {plain}/a.npy: cannot create the "
                                  f"folder {plain}: File exists")
    assert main(["presets", "export", "quick", "--out", str(UNWRITABLE)]) == 2
    assert error_line(capsys) == (f"fdif: error: cannot write {UNWRITABLE}.fdifbundle: No such "
                                  "file or directory")
    assert main(["shapes", "thumbnail", "sphere", "--out", str(UNWRITABLE)]) == 2
    assert error_line(capsys) == (f"fdif: error: cannot write {UNWRITABLE}/sphere.png: cannot "
                                  f"create the folder {UNWRITABLE}: No such file or directory")
    assert plain.read_text() == "x"


def test_output_file_refuses_a_folder_in_the_folder(tmp_path):
    (tmp_path / "a.npy").mkdir()
    with pytest.raises(FdifError, match=r"cannot write .*/a\.npy: it is a folder$"):
        output_file(tmp_path, "a.npy")
    assert output_file(tmp_path / "new" / "b.npy", "x") == tmp_path / "new" / "b.npy"
    assert (tmp_path / "new").is_dir() and not list((tmp_path / "new").iterdir())  # no probe left


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["sdf", "sphere", "--grid", "8", "--out", str(locked / "a.npy")]) == 2
        assert error_line(capsys) == f"fdif: error: cannot write {locked}/a.npy: Permission denied"
    finally:
        locked.chmod(0o700)


# -- --device -------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["sdf", "sphere", "--grid", "8", "--out", "{tmp}/a.npy"],
    ["preview", "sphere", "--grid", "8", "--out", "{tmp}/a.npz"],
    ["sample", "--preset", "quick", "--out", "{tmp}/a.npz"],
    ["generate", "--preset", "quick", "--out", "{tmp}/data"],
    ["train", "--preset", "quick", "--out", "{tmp}/run", "--max-steps", "1"],
])
def test_unknown_device_is_one_line_naming_the_known_ones(tmp_path, capsys, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    for device in ("tpu", "cuda:x", "gpu0"):
        assert main([*argv, "--device", device]) == 2
        assert error_line(capsys) == (f"fdif: error: --device {device}: unknown device; use cpu, "
                                      "cuda or cuda:N")
    if not torch.cuda.is_available():
        assert main([*argv, "--device", "cuda"]) == 2
        assert error_line(capsys) == ("fdif: error: --device cuda: CUDA is not available on this "
                                      "machine; use --device cpu")
    assert list(tmp_path.iterdir()) == []


def test_parse_device():
    assert parse_device("cpu") == torch.device("cpu")
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        assert parse_device("cuda:0") == torch.device("cuda:0")
        with pytest.raises(FdifError, match=rf"has {count} CUDA device\(s\), cuda:0 to "):
            parse_device(f"cuda:{count}")


# -- --library ------------------------------------------------------------------------------------
def test_library_must_be_a_folder_holding_a_library(tmp_path, capsys):
    missing, plain, empty = tmp_path / "missing", tmp_path / "plain", tmp_path / "empty"
    plain.write_text("x")
    empty.mkdir()
    for folder, problem in ((missing, "no such folder"), (plain, "not a folder"),
                            (empty, "holds neither shapes/ nor presets/ (a library folder keeps "
                                    "shape classes in shapes/*.toml, presets in presets/*.toml)")):
        assert main(["--library", str(folder), "shapes", "list"]) == 2
        assert error_line(capsys) == f"fdif: error: --library {folder}: {problem}"
    (empty / "presets").mkdir()
    assert main(["--library", str(empty), "shapes", "list"]) == 0


# -- disk-space warnings --------------------------------------------------------------------------
def _job(grid: int, fmt: str = "decathlon"):
    return types.SimpleNamespace(identity={"grid": [grid] * 3},
                                 layout=types.SimpleNamespace(format=fmt))


def test_disk_warnings_never_print_nonsense(tmp_path, monkeypatch):
    def free(nbytes):
        usage = types.SimpleNamespace(total=nbytes, used=0, free=nbytes)
        monkeypatch.setattr(generate_module.shutil, "disk_usage", lambda root: usage)

    warnings = generate_module._disk_warnings
    free(0)
    assert warnings(tmp_path, _job(8), 2) == []  # 819 bytes: below 1 MiB, the write error speaks
    assert warnings(tmp_path, _job(96), 0) == []  # nothing pending
    assert warnings(tmp_path, _job(96), 20) == [  # 20 * 96^3 * 0.8 bytes = 13.5 MiB
        f"20 samples may need about 14 MiB but only 0 bytes are free in {tmp_path}"]
    free(3 * 2**30)
    assert warnings(tmp_path, _job(96), 20) == []
    assert warnings(tmp_path, _job(96), 10_000) == [
        f"10000 samples may need about 6.6 GiB but only 3.0 GiB are free in {tmp_path}"]

    def unknown(root):
        raise OSError("no statvfs")

    monkeypatch.setattr(generate_module.shutil, "disk_usage", unknown)
    assert warnings(tmp_path, _job(96), 10_000) == []


def test_a_late_os_error_is_still_one_line(tmp_path, capsys, monkeypatch):
    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("fdif_core.cli.evaluate.atomic_write_bytes", full)
    out = tmp_path / "a.npy"
    assert main(["sdf", "sphere", "--grid", "8", "--out", str(out)]) == 2
    assert error_line(capsys) == f"fdif: error: {out}: No space left on device"
    assert not out.exists()
