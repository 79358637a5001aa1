"""Command lines of jobs: one pure function per verb, options mapping → ``fdif`` arguments.

The forms only collect options; everything a job does is in the command line these functions
build, so the same job runs headless (``fdif …``) or under ``torchrun``. An option that is
``None`` (or absent) is left out, so the CLI's (or the recipe's) default applies.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any

KINDS = ("generate", "train", "finetune")
JSON_FLAG = "--json"

#: (option, flag, how many times the value is repeated)
_GENERATE_FLAGS = (("preset", "--preset", 1), ("out", "--out", 1), ("format", "--format", 1),
                   ("num_samples", "--num-samples", 1),
                   ("num_val_samples", "--num-val-samples", 1), ("workers", "--workers", 1),
                   ("device", "--device", 1), ("seed", "--seed", 1),
                   ("dataset_id", "--dataset-id", 1))
_TRAIN_FLAGS = (("recipe", "--recipe", 1), ("model", "--model", 1),
                ("crop_size", "--crop-size", 3), ("max_steps", "--max-steps", 1),
                ("batch_size", "--batch-size", 1), ("val_samples", "--val-samples", 1),
                ("val_every", "--val-every", 1), ("log_every", "--log-every", 1),
                ("device", "--device", 1), ("out", "--out", 1))


def _flags(options: Mapping[str, Any], table: Sequence[tuple[str, str, int]]) -> list[str]:
    argv: list[str] = []
    for key, flag, repeat in table:
        value = options.get(key)
        if value is not None:
            argv += [flag, *[str(value)] * repeat]
    return argv


def generate_argv(options: Mapping[str, Any]) -> list[str]:
    """``fdif generate`` arguments.

    Parameters
    ----------
    options : Mapping
        ``preset``, ``out`` (required); ``format``, ``num_samples``, ``num_val_samples``,
        ``workers``, ``device``, ``seed``, ``dataset_id`` (nnU-Net only), ``shard`` as
        ``(k, n)``, ``extra`` (more arguments, verbatim).

    Returns
    -------
    list of str
        ``["generate", "--preset", …]`` without ``--json``.
    """
    opts = dict(options)
    if opts.get("format") != "nnunet":
        opts.pop("dataset_id", None)
    argv = ["generate", *_flags(opts, _GENERATE_FLAGS)]
    shard = opts.get("shard")
    if shard is not None:
        argv += ["--shard", f"{shard[0]}/{shard[1]}"]
    return argv + list(opts.get("extra") or ())


def _training_knobs(options: Mapping[str, Any]) -> list[str]:
    return _flags(options, _TRAIN_FLAGS) + list(options.get("extra") or ())


def train_argv(options: Mapping[str, Any]) -> list[str]:
    """``fdif train`` arguments.

    Parameters
    ----------
    options : Mapping
        ``preset`` (the on-the-fly stream) or ``data`` (a data.json), ``out`` (the run
        folder); ``recipe``, ``model``, ``crop_size`` (one edge, used for all three),
        ``max_steps``, ``batch_size``, ``val_samples``, ``val_every``, ``log_every``,
        ``device``, ``extra`` (more arguments, verbatim).
    """
    source = (["--preset", str(options["preset"])] if options.get("preset") is not None
              else ["--data", str(options["data"])] if options.get("data") is not None else [])
    return ["train", *source, *_training_knobs(options)]


def finetune_argv(options: Mapping[str, Any]) -> list[str]:
    """``fdif finetune`` arguments: ``data``, ``checkpoint`` (``--from``) and the knobs of
    :func:`train_argv`."""
    argv = ["finetune"]
    if options.get("data") is not None:
        argv += ["--data", str(options["data"])]
    if options.get("checkpoint") is not None:
        argv += ["--from", str(options["checkpoint"])]
    return argv + _training_knobs(options)


BUILDERS = {"generate": generate_argv, "train": train_argv, "finetune": finetune_argv}


def resume_argv(argv: Sequence[str], has_checkpoint: bool) -> list[str]:
    """The command that resumes a job into its folder.

    Generation resumes from its manifest with the same command. Training and fine-tuning add
    ``--resume`` once the run folder holds a checkpoint (before that there is nothing to resume
    and the same command starts the run again).
    """
    argv = list(argv)
    if argv and argv[0] in ("train", "finetune") and has_checkpoint and "--resume" not in argv:
        argv.append("--resume")
    return argv


def process_command(argv: Sequence[str]) -> list[str]:
    """What the studio runs: this interpreter, ``-m fdif_core``, the arguments, ``--json``."""
    return [sys.executable, "-m", "fdif_core", *argv, JSON_FLAG]


def shell_line(argv: Sequence[str]) -> str:
    """``fdif …`` as one shell-quoted line (for a terminal or a GPU server)."""
    return shlex.join(["fdif", *argv])


def torchrun_line(argv: Sequence[str], nproc: int = 2) -> str:
    """The same training job on ``nproc`` GPUs: ``torchrun --nproc_per_node=N -m
    fdif_core.cli train …``."""
    return shlex.join(["torchrun", f"--nproc_per_node={nproc}", "-m", "fdif_core.cli", *argv])
