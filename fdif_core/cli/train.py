"""``fdif train`` (pre-training) and ``fdif finetune`` (fine-tuning), spec §13.

Every field of :class:`~fdif_core.training.config.TrainConfig` has a flag (``--max-steps``,
``--crop-size 96 96 96``, ``--no-amp`` …) and a config-file field (``--config run.toml``);
flags win over the file, the file over the defaults (the paper recipe). Multi-GPU / multi-node:
``torchrun --nproc_per_node=N -m fdif_core.cli train ...``; only rank 0 prints and writes.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any

from fdif_core.errors import FdifError
from fdif_core.training.recipes import PAPER_ON_A_CPU, RECIPES

#: flags set by the sub-command itself rather than generated
_SPECIAL = {"mode", "pretrained", "out", "preset", "data"}


def _add_field_flags(p: argparse.ArgumentParser) -> None:
    from fdif_core.training.config import TrainConfig

    for name, field in TrainConfig.model_fields.items():
        if name in _SPECIAL:
            continue
        flag = "--" + name.replace("_", "-")
        help_text = field.description or ""
        default = field.default
        annotation = field.annotation
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            annotation = next(a for a in args if a is not type(None))
            args = typing.get_args(annotation)
        origin = typing.get_origin(annotation)
        shown = f" (default: {default})" if default is not None else ""
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": help_text + shown}
        if annotation is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif origin is typing.Literal:
            p.add_argument(flag, choices=list(args), **kwargs)
        elif origin is tuple:
            p.add_argument(flag, type=args[0], nargs=len(args), metavar=name.upper(), **kwargs)
        elif origin is list:
            p.add_argument(flag, type=args[0], nargs="+", metavar=name.upper(), **kwargs)
        else:
            p.add_argument(flag, type=annotation, **kwargs)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fdif train`` and ``fdif finetune``."""
    p = sub.add_parser("train", help="pre-train a segmentation network (spec §13)",
                       description="Pre-train on the on-the-fly synthetic stream of a preset "
                       "(--preset) or on a Decathlon dataset (--data). " + PAPER_ON_A_CPU)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--preset", default=argparse.SUPPRESS,
                        help="preset name or .toml: train on its on-the-fly stream")
    source.add_argument("--data", default=argparse.SUPPRESS, metavar="DATASET_JSON",
                        help="Decathlon data.json / dataset.json, or the folder holding it")
    _common(p)
    p.set_defaults(handler=_train, mode="pretrain")

    p = sub.add_parser("finetune", help="fine-tune a pre-trained checkpoint (spec §13.5)",
                       description="Load a checkpoint, re-initialise the output head for the "
                       "dataset's classes (every other parameter copied bit for bit) and train. "
                       + PAPER_ON_A_CPU)
    p.add_argument("--data", default=argparse.SUPPRESS, metavar="DATASET_JSON",
                   help="Decathlon data.json / dataset.json, or the folder holding it")
    p.add_argument("--from", dest="pretrained", default=argparse.SUPPRESS,
                   metavar="CHECKPOINT", help="pre-trained checkpoint (.pth)")
    _common(p)
    p.set_defaults(handler=_train, mode="finetune")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=argparse.SUPPRESS, metavar="RUN_DIR",
                   help="run directory (config.toml, checkpoints, metrics.csv, curves.png)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="TOML file with config fields (flags win over it)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its training_checkpoint.pth "
                   "(its recorded config, plus any flags given)")
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
    p.add_argument("--recipe", choices=list(RECIPES), default=None,
                   help="named configuration under the config file and flags: "
                   + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()))
    _add_field_flags(p)


def _train(args: argparse.Namespace) -> int:
    from fdif_core.events import render_events, with_rate
    from fdif_core.training.config import TrainConfig, load_config
    from fdif_core.training.distributed import distributed_env
    from fdif_core.training.loop import train_job

    skip = {"command", "handler", "config", "resume", "json", "library", "recipe"}
    overrides = {k: v for k, v in vars(args).items() if k not in skip}
    for key in ("crop_size", "window", "percentiles", "out_range", "spacing", "pos_neg"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    if args.resume:
        if "out" not in overrides:
            raise FdifError("--resume needs --out RUN_DIR")
        recorded = Path(overrides["out"]) / "config.toml"
        if not recorded.is_file():
            raise FdifError(f"--resume: {recorded} does not exist")
        config = load_config(recorded, overrides)
    else:
        config = load_config(args.config, overrides, base=_pretrained_architecture(overrides),
                             recipe=args.recipe)
        if config.preset is None and config.data is None:
            raise FdifError("no training data: give --preset or --data"
                            if config.mode == "pretrain" else "give --data DATASET_JSON")
        if config.mode == "finetune" and config.data is None:
            raise FdifError("fine-tuning needs --data DATASET_JSON")
    if config.out is None:
        raise FdifError("give --out RUN_DIR")
    assert isinstance(config, TrainConfig)
    events = with_rate(train_job(config, resume=args.resume,
                                 library=tuple(Path(p) for p in args.library)))
    rank = distributed_env()[0]
    if rank != 0:
        for _ in events:
            pass
        return 0
    last = render_events(events, as_json=args.json)
    return 0 if last is not None and last.type == "done" else 1


ARCHITECTURE_FIELDS = ("model", "in_channels", "feature_size", "unet_channels", "unet_strides",
                       "unet_res_units")


def _pretrained_architecture(overrides: dict) -> dict:
    """The network settings of the run a fine-tuning checkpoint comes from, if recorded.

    ``fdif train`` writes ``config.toml`` beside its checkpoints; fine-tuning builds the same
    network unless a flag or the config file says otherwise.
    """
    from fdif_core.files import read_toml

    checkpoint = overrides.get("pretrained")
    recorded = Path(checkpoint).parent / "config.toml" if checkpoint else None
    if recorded is None or not recorded.is_file():
        return {}
    return {k: v for k, v in read_toml(recorded).items() if k in ARCHITECTURE_FIELDS}
