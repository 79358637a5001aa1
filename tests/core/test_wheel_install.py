"""A wheel install carries the built-in library, and a bundle reproduces its preset's bytes
in a fresh virtual environment that has no user library and no source checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np

from fdif_core.cli import main
from fdif_core.compose import Composer
from fdif_core.presets import load_preset

ROOT = Path(__file__).resolve().parents[2]


def test_bundle_in_fresh_wheel_venv_gives_the_same_bytes(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    wheel = next(wheels.glob("fdif_studio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert sum(n.endswith(".toml") and "/shapes/fdif/" in n for n in names) == 109
    assert any(n.endswith("share/fdif-studio/presets/paper.toml") for n in names)
    assert "fdif_core/native/kernels.c" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], check=True, capture_output=True, text=True)
                .stdout.strip())
    # the wheel's files, installed by this interpreter's pip; dependencies borrowed read-only
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
                    "--prefix", str(venv), str(wheel)], check=True, capture_output=True)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    bundle = tmp_path / "quick.fdifbundle"
    assert main(["presets", "export", "quick", "--out", str(bundle)]) == 0
    out = tmp_path / "s.npz"
    env = {"FDIF_USER_LIBRARY": str(tmp_path / "empty_user"), "PATH": "/usr/bin:/bin"}
    code = ("import sys, fdif_core.library as lib; from fdif_core.cli import main;"
            "assert 'share/fdif-studio' in str(lib.builtin_root()), lib.builtin_root();"
            f"sys.exit(main(['sample', '--preset', {str(bundle)!r}, '--index', '3',"
            f" '--out', {str(out)!r}]))")
    subprocess.run([str(python), "-c", code], check=True, cwd=tmp_path, env=env)

    expected = Composer(load_preset("quick")).sample(0, 3)
    with np.load(out) as data:
        assert np.array_equal(data["image"], expected.image)
        assert np.array_equal(data["label"], expected.label)
        assert json.loads(str(data["metadata"]))["index"] == 3
