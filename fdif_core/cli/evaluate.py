"""``fdif sdf`` (one class on a grid) and ``fdif sample`` (one composed sample)."""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from fdif_core.errors import FdifError
from fdif_core.files import atomic_write_bytes
from fdif_core.grid import Grid
from fdif_core.library import shape_library
from fdif_core.placement import PLACEMENT_PARAMS, sample_placement
from fdif_core.shapes import sample_class
from fdif_core.threads import configure_threads


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sdf", help="evaluate one shape class on a world grid (float32 .npy)")
    p.add_argument("shape", help="canonical name or reference alias")
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
    p.add_argument("--out", type=Path, required=True, help="output .npy (D, H, W) float32")
    p.set_defaults(handler=_sdf)

    p = sub.add_parser("sample", help="compose one sample of a preset (.npz)")
    p.add_argument("--preset", required=True, help="preset name, .toml file or bundle")
    p.add_argument("--seed", type=int, default=None, help="dataset seed (default: the preset's)")
    p.add_argument("--index", type=int, default=0, help="sample index in the dataset")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, required=True,
                   help="output .npz with image (uint8), label (int32) and metadata (JSON)")
    p.set_defaults(handler=_sample)


def parse_assignments(items: list[str]) -> dict[str, float]:
    """``["r=10", "n=5"]`` → ``{"r": 10.0, "n": 5.0}`` with one-line errors."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise FdifError(f"--set {item!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise FdifError(f"--set {item!r}: {value!r} is not a number") from None
    return out


def grid_shape(values: list[int]) -> tuple[int, int, int]:
    """``[N]`` or ``[D, H, W]`` → ``(D, H, W)``."""
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or min(values) < 2 or max(values) > 1024:
        raise FdifError(f"--grid {values}: give N or D H W, each between 2 and 1024")
    return tuple(values)


def _check_device(name: str):
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise FdifError(f"--device {name}: CUDA is not available on this machine")
    return torch.device(name)


def _sdf(args: argparse.Namespace) -> int:
    from fdif_core.objects import evaluate_object

    configure_threads()
    shape = shape_library(tuple(Path(p) for p in args.library)).get(args.shape)
    grid = Grid.reference(grid_shape(args.grid))
    values = parse_assignments(args.set)
    placement_set = {k: values.pop(k) for k in list(values) if k in PLACEMENT_PARAMS}
    if args.center:
        placement_set = {"tx": 0.0, "ty": 0.0, "tz": 0.0, **placement_set}
    rng = np.random.default_rng(args.seed)
    placement = sample_placement(rng, grid, not args.no_transform, placement_set)
    _, tree = sample_class(shape, rng, grid.size, values)
    evaluated = evaluate_object(tree, placement, grid, args.displacement,
                                int(rng.integers(0, 2**31 - 1)), _check_device(args.device),
                                full=True)
    buf = io.BytesIO()
    np.save(buf, evaluated.sdf.cpu().numpy().astype(np.float32))
    atomic_write_bytes(args.out, buf.getvalue())
    return 0


def _sample(args: argparse.Namespace) -> int:
    from fdif_core.compose import Composer
    from fdif_core.presets import load_preset

    configure_threads()
    loaded = load_preset(args.preset, tuple(Path(p) for p in args.library))
    seed = loaded.preset.dataset.seed if args.seed is None else args.seed
    if args.index < 0:
        raise FdifError(f"--index {args.index}: must be >= 0")
    sample = Composer(loaded, _check_device(args.device)).sample(seed, args.index)
    meta = {"preset": loaded.preset.name, "preset_hash": loaded.preset.content_hash,
            "seed": seed, "index": args.index, "objects": sample.objects}
    save_npz(args.out, sample.image, sample.label, meta)
    return 0


def save_npz(path: Path, image: np.ndarray, label: np.ndarray, meta: dict) -> None:
    """Write ``image``, ``label`` and ``metadata`` (JSON text) atomically."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, arr in (("image", image), ("label", label),
                         ("metadata", np.array(json.dumps(meta)))):
            with zf.open(f"{key}.npy", "w") as fh:
                np.save(fh, arr)
    atomic_write_bytes(path, buf.getvalue())
