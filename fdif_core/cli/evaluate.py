"""``fdif sdf`` (one class on a grid) and ``fdif sample`` (one composed sample)."""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import zipfile
from pathlib import Path

import numpy as np

from fdif_core.devices import parse_device
from fdif_core.errors import FdifError
from fdif_core.files import atomic_write_bytes, output_file
from fdif_core.grid import Grid
from fdif_core.library import resolve_shape
from fdif_core.memory import grid_label, object_bytes, require, sample_bytes
from fdif_core.preview import DEFAULT_MAPPER, PLACEMENTS
from fdif_core.threads import configure_threads


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sdf", help="evaluate one shape class on a world grid (float32 .npy)")
    p.add_argument("shape", help="canonical name, reference alias or shape .toml file")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a class parameter or placement value (tx ty tz ax ay az h1 h2 h3)")
    p.add_argument("--no-transform", action="store_true",
                   help="no rotation and shear (the translation stays random unless set)")
    p.add_argument("--center", action="store_true", help="place the object at the origin")
    p.add_argument("--displacement", default="none", help="displacement key (default none)")
    p.add_argument("--grid", type=int, nargs="+", default=[96], metavar="N",
                   help="grid size: N or D H W (default 96)")
    p.add_argument("--seed", type=int, default=0, help="seed for unset parameters")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, required=True,
                   help="output .npy (D, H, W) float32, or a folder for SHAPE_seedS.npy")
    p.set_defaults(handler=_sdf)

    p = sub.add_parser("sample", help="compose one sample of a preset (.npz)")
    p.add_argument("--preset", required=True, help="preset name, .toml file or bundle")
    p.add_argument("--seed", type=int, default=None, help="dataset seed (default: the preset's)")
    p.add_argument("--index", type=int, default=0, help="sample index in the dataset")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, required=True,
                   help="output .npz with image (uint8), label (int32) and metadata (JSON), "
                   "or a folder for PRESET_seedS_indexI.npz")
    p.set_defaults(handler=_sample)

    p = sub.add_parser("preview", help="one class instance as the studio shows it: SDF, image "
                       "and label (.npz)")
    p.add_argument("shape", help="canonical name, reference alias or shape .toml file")
    p.add_argument("--seed", type=int, default=0, help="instance seed (default 0)")
    p.add_argument("--grid", type=int, nargs="+", default=[96], metavar="N",
                   help="grid size: N or D H W (default 96)")
    p.add_argument("--placement", choices=PLACEMENTS, default="centred",
                   help="centred: origin, no transform (default); random: the paper's placement")
    p.add_argument("--displacement", default="none", help="displacement key (default none)")
    p.add_argument("--mapper", default=DEFAULT_MAPPER,
                   help=f"mapper when the class fixes none (default {DEFAULT_MAPPER})")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, required=True,
                   help="output .npz: sdf (float32), image (uint8), label (uint8), metadata "
                   "(JSON), or a folder for SHAPE_seedS.npz")
    p.set_defaults(handler=_preview)


def parse_assignments(items: list[str]) -> dict[str, float]:
    """``["r=10", "n=5"]`` → ``{"r": 10.0, "n": 5.0}`` with one-line errors."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise FdifError(f"--set {item!r}: expected NAME=VALUE")
        try:
            number = float(value)
        except ValueError:
            raise FdifError(f"--set {item!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise FdifError(f"--set {item!r}: {value.strip()!r} is not a finite number")
        out[name.strip()] = number
    return out


def grid_shape(values: list[int]) -> tuple[int, int, int]:
    """``[N]`` or ``[D, H, W]`` → ``(D, H, W)``."""
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or min(values) < 2 or max(values) > 1024:
        raise FdifError(f"--grid {values}: give N or D H W, each between 2 and 1024")
    return tuple(values)


def _sdf(args: argparse.Namespace) -> int:
    from fdif_core.objects import evaluate_object
    from fdif_core.preview import draw_instance

    configure_threads()
    shape = resolve_shape(args.shape, tuple(Path(p) for p in args.library))
    grid = Grid.reference(grid_shape(args.grid))
    device = parse_device(args.device)
    require(object_bytes(grid.shape, args.displacement),
            f"--grid {' '.join(map(str, args.grid))}", "use a smaller grid", device)
    instance = draw_instance(shape, grid, args.seed, transform=not args.no_transform,
                             centred=args.center, displacement=args.displacement,
                             overrides=parse_assignments(args.set))
    out = output_file(args.out, f"{shape.name}_seed{args.seed}.npy")
    evaluated = evaluate_object(instance.tree, instance.placement, grid, instance.displacement,
                                instance.noise_seed, device, full=True)
    sdf = evaluated.sdf.cpu().numpy()
    buf = io.BytesIO()
    np.save(buf, sdf.astype(np.float32, copy=False))
    atomic_write_bytes(out, buf.getvalue())
    print(f"{out}: {shape.name} seed {args.seed}, grid {grid_label(grid.shape)}, "
          f"{int((sdf <= 0).sum())} voxels inside")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from fdif_core.preview import InstanceSettings, preview_class

    configure_threads()
    shape = resolve_shape(args.shape, tuple(Path(p) for p in args.library))
    settings = InstanceSettings(args.seed, grid_shape(args.grid), args.placement,
                                args.displacement, args.mapper)
    device = parse_device(args.device)
    out = output_file(args.out, f"{shape.name}_seed{args.seed}.npz")
    preview = preview_class(shape, settings, device)
    meta = {"shape": shape.name, "shape_hash": shape.content_hash, "seed": args.seed,
            **preview.metadata()}
    save_npz(out, {"sdf": preview.sdf, "image": preview.image, "label": preview.label}, meta)
    lo, hi = preview.distance_range
    print(f"{out}: {shape.name} seed {args.seed}, {preview.inside} voxels inside, "
          f"distance {lo:.2f} .. {hi:.2f}, mapper {preview.instance.mapper}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from fdif_core.compose import Composer, surface_warnings
    from fdif_core.presets import load_preset

    configure_threads()
    loaded = load_preset(args.preset, tuple(Path(p) for p in args.library))
    seed = loaded.preset.dataset.seed if args.seed is None else args.seed
    if args.index < 0:
        raise FdifError(f"--index {args.index}: must be >= 0")
    composer = Composer(loaded, parse_device(args.device))
    preset = loaded.preset
    tasks = len(composer.vocab) if composer.vocab else 1
    require(sample_bytes(preset.grid, [d.name for d in preset.displacements], tasks),
            f"preset {preset.name!r} (grid {grid_label(preset.grid)})",
            "use a smaller grid in the preset", composer.device)
    out = output_file(args.out, f"{preset.name}_seed{seed}_index{args.index}.npz")
    sample = composer.sample(seed, args.index)
    meta = {"preset": preset.name, "preset_hash": preset.content_hash,
            "seed": seed, "index": args.index, "objects": sample.objects}
    save_npz(out, {"image": sample.image, "label": sample.label}, meta)
    print(f"{out}: {preset.name} seed {seed} index {args.index}, {len(sample.objects)} objects")
    for message in surface_warnings(args.index, sample.objects, sample.image.size):
        print(f"fdif: warning: {message}", file=sys.stderr)
    return 0


def save_npz(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and ``metadata`` (JSON text) as one ``.npz``, atomically."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, arr in (*arrays.items(), ("metadata", np.array(json.dumps(meta)))):
            with zf.open(f"{key}.npy", "w") as fh:
                np.save(fh, arr)
    atomic_write_bytes(path, buf.getvalue())
