"""``fdif shapes list|show|validate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fdif_core.errors import FdifError
from fdif_core.library import load_shape_file, resolve_shape, shape_library
from fdif_core.meshing import MESH_FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    shapes = sub.add_parser("shapes", help="list, show and validate shape classes")
    verbs = shapes.add_subparsers(dest="shapes_command", required=True)
    p = verbs.add_parser("list", help="one class per line: id, canonical name, aliases")
    p.set_defaults(handler=_list)
    p = verbs.add_parser("show", help="a class's file content, source and hash as JSON")
    p.add_argument("name")
    p.set_defaults(handler=_show)
    p = verbs.add_parser("validate", help="validate shape files (exit 2 on the first error)")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--check", action="store_true",
                   help="also sample each class a few times and check its bounds numerically")
    p.set_defaults(handler=_validate)

    p = verbs.add_parser("thumbnail", help="shaded PNG pictures of classes (the studio's icons)")
    p.add_argument("names", nargs="+", help="canonical names, aliases or shape .toml files")
    p.add_argument("--out", type=Path, required=True, help="output folder (NAME.png each)")
    p.add_argument("--size", type=int, default=64, help="width and height in pixels (default 64)")
    p.set_defaults(handler=_thumbnail)

    p = sub.add_parser("mesh", help="mesh a sampled instance of a class (marching cubes)")
    p.add_argument("shape", help="canonical name, alias or shape .toml file")
    p.add_argument("--out", type=Path, required=True,
                   help=f"output mesh, format by suffix: {', '.join(MESH_FORMATS)}; or a "
                   "folder for SHAPE_seedS.stl")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a class parameter")
    p.add_argument("--grid", type=int, nargs="+", default=[96], metavar="N",
                   help="grid the class's sizes refer to: N or D H W (default 96)")
    p.add_argument("--step", type=float, default=0.5,
                   help="meshing resolution in voxels (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed for unset parameters")
    p.set_defaults(handler=_mesh)


def _library(args: argparse.Namespace):
    return shape_library(tuple(Path(p) for p in args.library))


def _list(args: argparse.Namespace) -> int:
    for shape in _library(args).ordered():
        ident = "-" if shape.fdif_id is None else str(shape.fdif_id)
        aliases = ",".join(repr(a) if " " in a else a for a in shape.aliases) or shape.name
        print(f"{ident}\t{shape.name}\t{aliases}")
    return 0


def _show(args: argparse.Namespace) -> int:
    library = _library(args)
    shape = library.get(args.name)
    out = {"source": str(library.sources[shape.name]), "hash": shape.content_hash,
           **shape.model_dump(mode="json")}
    print(json.dumps(out, indent=2))
    return 0


def _thumbnail(args: argparse.Namespace) -> int:
    from fdif_core.files import atomic_write_bytes, output_file
    from fdif_core.threads import configure_threads
    from fdif_core.thumbnails import png_bytes, render_thumbnail

    if not 8 <= args.size <= 1024:
        raise FdifError(f"--size {args.size}: must be between 8 and 1024 pixels")
    if args.out.exists() and not args.out.is_dir():
        raise FdifError(f"--out {args.out}: is not a folder")
    configure_threads()
    extra = tuple(Path(p) for p in args.library)
    for name in args.names:
        shape = resolve_shape(name, extra)
        path = output_file(args.out / f"{shape.name}.png", f"{shape.name}.png")
        atomic_write_bytes(path, png_bytes(render_thumbnail(shape, args.size)))
        print(path)
    return 0


def _validate(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            raise FdifError(f"{path}: no such file")
        shape = load_shape_file(path)
        if args.check:
            _check_bounds(shape)
        print(f"{path}: ok ({shape.name}, hash {shape.content_hash[:12]})")
    return 0


def _check_bounds(shape, samples: int = 3, grid: int = 64) -> None:
    """Sample ``shape`` and make sure no point with ``f <= 0`` lies outside its bounds."""
    import torch

    from fdif_core.grid import Grid
    from fdif_core.nodes.checks import bounds_violation, lattice
    from fdif_core.shapes import compile_tree, sample_class

    size = Grid.reference((grid, grid, grid)).size
    for seed in range(samples):
        _, tree = sample_class(shape, np.random.default_rng(seed), size)
        sdf = compile_tree(tree)
        if sdf.domain_dependent:
            continue  # needs a placed domain; the generator checks those itself
        bad = bounds_violation(sdf, lattice(grid / 2, 1.0, dtype=torch.float32), 0.0)
        if bad > 1e-3:
            raise FdifError(f"{shape.name}: sample {seed} sticks out of its bounds by {bad:.3g} "
                            "voxels; a node's bounds() is too small")


def _mesh(args: argparse.Namespace) -> int:
    from fdif_core.cli.evaluate import grid_shape, parse_assignments
    from fdif_core.files import output_file
    from fdif_core.grid import Grid
    from fdif_core.memory import mesh_bytes, require
    from fdif_core.meshing import Lattice, marching_cubes, write_mesh
    from fdif_core.shapes import compile_tree, sample_class

    if not args.out.is_dir() and args.out.suffix.lower() not in MESH_FORMATS:
        raise FdifError(f"--out {args.out}: use one of {', '.join(MESH_FORMATS)} (or a folder)")
    if not 0.05 <= args.step <= 8:
        raise FdifError(f"--step {args.step}: must be between 0.05 and 8 voxels")
    shape = resolve_shape(args.shape, tuple(Path(p) for p in args.library))
    grid = Grid.reference(grid_shape(args.grid))
    _, tree = sample_class(shape, np.random.default_rng(args.seed), grid.size,
                           parse_assignments(args.set))
    sdf = compile_tree(tree)
    if sdf.domain_dependent:
        from fdif_core.domain import Domain

        sdf.prepare(Domain(grid, np.eye(3), np.zeros(3)))
    bounds = sdf.bounds(args.step)
    if bounds is None:
        half = np.array([grid.shape[2], grid.shape[1], grid.shape[0]], dtype=np.float64) / 2
        bounds = (-half, half)
    lattice = Lattice.around(bounds, args.step, f"this instance of {shape.name}")
    require(mesh_bytes(lattice.points), f"meshing {shape.name} at --step {args.step:g} "
            f"({lattice.points:,} points)", "use a larger --step")
    out = output_file(args.out, f"{shape.name}_seed{args.seed}.stl")
    vertices, faces = marching_cubes(lattice.evaluate(sdf), lattice.lo, (args.step,) * 3)
    write_mesh(out, vertices, faces, shape.name)
    print(f"{out}: {len(vertices)} vertices, {len(faces)} triangles")
    return 0
