"""Peak memory of the grid-allocating verbs, per voxel: the constants of :mod:`fdif_core.memory`.

Each measurement runs in a fresh process: it imports the engine, runs the verb once on a tiny
grid (kernels, native library, caches), reads its resident set size, runs the verb on the grid
being measured and reports the growth of its peak resident set (``ru_maxrss``) over that
baseline, in bytes per voxel. The guard compares such growths with the available memory.

Usage::

    python benchmarks/bench_memory.py sdf 128 192 256 --shape sphere --shape lattice
    python benchmarks/bench_memory.py sample 96 128 160 --preset paper --indices 4
    python benchmarks/bench_memory.py generate 96 128 --preset paper
    python benchmarks/bench_memory.py generate 160 --preset two_classes.toml --classification
    python benchmarks/bench_memory.py batch 64 --batch 4 8 16 --preset paper
    python benchmarks/bench_memory.py mesh 96 --step 0.5 0.3 --shape gyroid_ball
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import atexit, json, resource, shutil, sys, tempfile
from pathlib import Path

case, grid, arg, opts = json.loads(sys.argv[1])
POINTS = [grid**3 * max(opts["batch"], 1)]  # voxels measured (mesh: lattice points)
tmp = Path(tempfile.mkdtemp())
atexit.register(shutil.rmtree, tmp, True)


def rss_now():
    with open("/proc/self/statm") as fh:
        import os
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def preset_file(name, n):
    import tomllib, tomli_w
    from fdif_core.presets import load_preset
    data = tomllib.loads(Path(load_preset(name).source).read_text())
    data["grid"] = [n, n, n]
    path = tmp / f"{Path(name).stem}_{n}.toml"
    path.write_text(tomli_w.dumps(data))
    return str(path)


def counts(opts):
    if opts["classification"]:
        return ["--format", "classification", "--samples-per-class", "2", "--n-splits", "2"]
    return ["--num-samples", str(opts["indices"]), "--num-val-samples", "0"]


def run(n):
    from fdif_core.cli import main
    if case in ("sdf", "preview"):
        extra = ["--displacement", opts["displacement"]] if opts.get("displacement") else []
        rc = main([case, arg, "--grid", str(n), "--out", str(tmp / "out.np"), *extra])
    elif case == "sample":
        for i in range(opts["indices"]):
            rc = main(["sample", "--preset", preset_file(opts["preset"], n), "--index", str(i),
                       "--out", str(tmp / "s.npz")])
    elif case == "generate":
        rc = main(["generate", "--preset", preset_file(opts["preset"], n), "--workers", "1",
                   *counts(opts),
                   "--out", str(tmp / f"g{n}")])
    elif case == "mesh":
        import fdif_core.meshing as meshing
        original = meshing.marching_cubes

        def counting(values, *a, **k):
            POINTS[0] = values.size
            return original(values, *a, **k)

        meshing.marching_cubes = counting
        rc = main(["mesh", arg, "--grid", str(n), "--step", str(opts["step"]),
                   "--out", str(tmp / "m.stl")])
        meshing.marching_cubes = original
    elif case == "batch":
        from fdif_core.batch import BatchRenderer
        from fdif_core.compose import Composer
        from fdif_core.presets import load_preset
        composer = Composer(load_preset(preset_file(opts["preset"], n)))
        BatchRenderer(composer).sample(0, list(range(opts["batch"])))
        rc = 0
    assert not rc, rc


import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    run(8)
    before = rss_now()
    run(grid)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "peak": peak, "voxels": POINTS[0]}))
"""


def measure(case: str, grid: int, arg: str, opts: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps([case, grid, arg, opts])],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("case", choices=("sdf", "preview", "sample", "generate", "mesh", "batch"))
    p.add_argument("grids", type=int, nargs="+")
    p.add_argument("--shape", action="append", default=None)
    p.add_argument("--displacement", default=None)
    p.add_argument("--preset", default="paper")
    p.add_argument("--indices", type=int, default=3, help="samples per measurement")
    p.add_argument("--batch", type=int, nargs="+", default=[8])
    p.add_argument("--step", type=float, nargs="+", default=[0.5])
    p.add_argument("--classification", action="store_true",
                   help="generate: --format classification (2 samples per class)")
    args = p.parse_args()
    shapes = args.shape or ["sphere"]
    for grid in args.grids:
        for shape in shapes:
            for batch in args.batch if args.case == "batch" else [0]:
                for step in args.step if args.case == "mesh" else [0]:
                    opts = {"displacement": args.displacement, "preset": args.preset,
                            "indices": args.indices, "batch": batch, "step": step,
                            "classification": args.classification}
                    got = measure(args.case, grid, shape, opts)
                    grown = got["peak"] - got["before"]
                    voxels = got["voxels"]
                    label = {"batch": f"batch {batch}", "mesh": f"{shape} step {step}"}.get(
                        args.case, shape if args.case in ("sdf", "preview") else args.preset)
                    size = f"{voxels} points" if args.case == "mesh" else f"{grid}^3"
                    print(f"{args.case} {size} {label}: peak +{grown / 2**30:.3f} GiB over "
                          f"{got['before'] / 2**30:.3f}, {grown / voxels:.2f} B/voxel",
                          flush=True)


if __name__ == "__main__":
    main()
