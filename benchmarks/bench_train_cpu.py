"""Seconds per step and per validation volume of a training recipe, from its own events.

Runs the real job (:func:`fdif_core.training.loop.train_job`) with a recipe for a few steps and
one validation, and reads the times off its ``progress`` events:

* prepare: seconds per rendered (or loaded) validation volume;
* train: seconds per optimiser step, the first step excluded (it includes warm-up work);
* validate: seconds per validation volume (sliding window + Dice).

It then prints the estimate for the recipe's full length (``max_steps`` steps, a validation of
``val_samples`` volumes every ``val_every`` steps). Peak memory is the process's maximum RSS.

Usage (the paper recipe on a CPU; ``--grad-checkpoint`` where 4 crops of 96³ do not fit)::

    nice .venv/bin/python benchmarks/bench_train_cpu.py --recipe paper --steps 3 --grad-checkpoint
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

from fdif_core.training.config import load_config
from fdif_core.training.loop import train_job


def main() -> None:
    """Run the job, print per-phase times and the estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="paper")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--val-volumes", type=int, default=3)
    parser.add_argument("--crops-per-volume", type=int, default=None)
    parser.add_argument("--grad-checkpoint", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    full = load_config(recipe=args.recipe)
    overrides = {"preset": args.preset, "device": "cpu", "max_steps": args.steps,
                 "val_every": args.steps, "val_samples": args.val_volumes, "warmup_steps": 0,
                 "plot": False, "grad_checkpoint": args.grad_checkpoint or None,
                 "crops_per_volume": args.crops_per_volume, "threads": args.threads,
                 "out": None}
    times: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="fdif-bench-train-") as out:
        config = load_config(recipe=args.recipe, overrides={**overrides, "out": out})
        for event in train_job(config):
            if event.type == "progress":
                times.setdefault(event.data["phase"], []).append((time.perf_counter(),
                                                                  event.data["done"]))
    # the first rendered volume imports MONAI, the first step warms up: both left out
    per = {phase: _seconds_per_unit(points, skip_first=phase in ("prepare", "train"))
           for phase, points in times.items()}
    print(f"recipe {args.recipe}, preset {args.preset}, crops {config.crops_per_volume} x "
          f"{config.crop_size}, grad_checkpoint {config.grad_checkpoint}")
    print(f"prepare: {per['prepare']:.1f} s a validation volume; train: {per['train']:.1f} s a "
          f"step; validate: {per['validate']:.1f} s a volume; peak memory "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB")
    validations = full.max_steps // full.val_every if full.val_every else 0
    total = (full.val_samples * per["prepare"] + full.max_steps * per["train"]
             + validations * full.val_samples * per["validate"])
    print(f"estimate for {full.max_steps} steps and {validations} validations of "
          f"{full.val_samples} volumes: {total / 3600:.0f} h ({total / 86400:.1f} days)")


def _seconds_per_unit(points: list[tuple[float, int]], skip_first: bool) -> float:
    """Mean seconds per unit of ``done`` between the events of one phase (restarts split)."""
    seconds, units = 0.0, 0
    start = 1 if skip_first else 0
    for (t0, d0), (t1, d1) in zip(points[start:], points[start + 1:], strict=False):
        if d1 > d0:
            seconds, units = seconds + t1 - t0, units + d1 - d0
    return seconds / units if units else float("nan")


if __name__ == "__main__":
    main()
