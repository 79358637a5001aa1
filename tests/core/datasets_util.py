"""Helpers of the dataset-export tests: tiny presets, running ``fdif generate``, folder bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fdif_core.cli import main

TINY = """
schema_version = 1
name = "{name}"
grid = [{n}, {n}, {n}]
objects = [2, 3]
classes = ["sphere", "torus", "cone", "square_prism"]
mappers = {mappers}
mapper_mode = "{mapper_mode}"
displacements = ["ridge"]
displacement_mode = "{displacement_mode}"
label_mode = "{label_mode}"

[dataset]
seed = 3
num_samples = {num}
num_val_samples = {val}
"""


def tiny_preset(folder: Path, name: str = "tiny", n: int = 24, num: int = 6, val: int = 2,
                mappers: str = '["inverse_cube", "linear_slope_10.0"]',
                mapper_mode: str = "augmentation", displacement_mode: str = "augmentation",
                label_mode: str = "single") -> Path:
    """Write a tiny preset TOML and return its path."""
    path = Path(folder) / f"{name}.toml"
    path.write_text(TINY.format(name=name, n=n, num=num, val=val, mappers=mappers,
                                mapper_mode=mapper_mode, displacement_mode=displacement_mode,
                                label_mode=label_mode))
    return path


def run_cli(*args: str) -> int:
    """Run ``fdif generate`` in this process (one worker unless given)."""
    argv = ["generate", *args]
    if "--workers" not in args:
        argv += ["--workers", "1"]
    return main(argv)


def cli_command(*args: str) -> list[str]:
    """The ``fdif generate`` command line for a subprocess."""
    return [sys.executable, "-m", "fdif_core", "generate", *args]


def run_subprocess(*args: str, env: dict | None = None, timeout: float = 300) -> \
        subprocess.CompletedProcess:
    """Run ``fdif generate`` as a child process and capture its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cli_command(*args), capture_output=True, text=True, env=full_env,
                          timeout=timeout, check=False)


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative path → bytes)."""
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def leftovers(root: Path) -> list[str]:
    """Temporary files or folders left in a dataset folder."""
    root = Path(root)
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.name.endswith(".tmp") or p.parent.name == "tmp"]
