"""``fdif generate``: export a dataset (MONAI Decathlon, nnU-Net v2 or classification)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fdif_core.errors import FdifError


def _shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        if not sep:
            raise ValueError
        return int(k), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected K/N, e.g. 0/4") from None


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``generate`` sub-command."""
    p = sub.add_parser(
        "generate", help="generate a dataset (resumable, shardable)",
        description="Generate a synthetic dataset from a preset. Re-running the same command "
                    "resumes an interrupted run; a second run into a dataset that is being "
                    "generated is refused; under torchrun every rank makes its share. "
                    "nnU-Net exports go to DatasetNNN_Name folders inside nnUNet_raw, beside "
                    "any other datasets there.")
    p.add_argument("--preset", required=True, help="preset name, .toml file or bundle")
    p.add_argument("--out", type=Path, default=None,
                   help="dataset folder; for --format nnunet the nnUNet_raw folder, which may "
                        "hold other datasets (default: $nnUNet_raw)")
    p.add_argument("--num-samples", type=int, default=None,
                   help="training samples (default: the preset's)")
    p.add_argument("--num-val-samples", type=int, default=None,
                   help="validation samples, indices after the training ones (default: preset)")
    p.add_argument("--seed", type=int, default=None, help="dataset seed (default: the preset's)")
    p.add_argument("--format", choices=("decathlon", "nnunet", "classification"), default=None,
                   help="output layout (default: the preset's, usually decathlon)")
    p.add_argument("--device", default="cpu", help="compute device: cpu or cuda")
    p.add_argument("--workers", type=int, default=None,
                   help="generator processes (default: CPU cores, or 1 on cuda)")
    p.add_argument("--compression", type=int, default=None, metavar="LEVEL",
                   help="gzip level for NIfTI (default 1) or ZSTD level for Blosc2 (default 8)")
    p.add_argument("--label-dtype", default="auto",
                   choices=("auto", "uint8", "int16", "int32"),
                   help="label file type; auto = the smallest that holds the class ids")
    p.add_argument("--dataset-id", type=int, default=998,
                   help="nnU-Net dataset id (validation set: id + 1; default 998)")
    p.add_argument("--dataset-name", default="SDFSynthetic",
                   help="nnU-Net dataset name / classification config name")
    p.add_argument("--samples-per-class", type=int, default=25,
                   help="classification: training samples per class (default 25)")
    p.add_argument("--n-splits", type=int, default=5,
                   help="classification: folds; validation has ceil(spc/(n-1)) per class")
    p.add_argument("--grid-scale", type=float, default=0.40,
                   help="classification: symmetric grid half-extent factor (default 0.40)")
    p.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                   help="make only indices i with i %% N == K (cluster array jobs)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a different dataset already in --out (nnU-Net: only the "
                        "folders with this run's dataset ids)")
    p.add_argument("--json", action="store_true", help="print one JSON event per line")
    p.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from fdif_core.datasets.generate import GenerateConfig, generate
    from fdif_core.events import Event, render_events

    cfg = GenerateConfig(
        preset=args.preset, out=args.out, num_samples=args.num_samples,
        num_val_samples=args.num_val_samples, seed=args.seed, format=args.format,
        device=args.device, workers=args.workers, compression=args.compression,
        label_dtype=args.label_dtype, dataset_id=args.dataset_id,
        dataset_name=args.dataset_name, samples_per_class=args.samples_per_class,
        n_splits=args.n_splits, grid_scale=args.grid_scale, shard=args.shard,
        overwrite=args.overwrite, libraries=tuple(Path(p) for p in args.library))
    try:
        render_events(generate(cfg), as_json=args.json)
    except FdifError as err:
        if args.json:
            message = err.args[0] if err.args else str(err)
            sys.stdout.write(Event("error", {"message": message}).to_json() + "\n")
            sys.stdout.flush()
        raise
    return 0
