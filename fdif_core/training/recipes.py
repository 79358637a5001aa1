"""Named training configurations: where a user starts (``fdif train --recipe NAME``).

A recipe is a set of :class:`~fdif_core.training.config.TrainConfig` fields laid over the
defaults; a config file and flags still win over it. ``paper`` is the defaults themselves (the
spec §13 recipe; :data:`PAPER_ON_A_CPU` says how long it takes on a CPU); ``smoke`` is a run
small enough to finish on a laptop CPU in minutes, to check a preset, a dataset or a machine
before a long run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from fdif_core.errors import FdifError


@dataclass(frozen=True)
class Recipe:
    """A named set of training fields and one line that says what it is for."""

    name: str
    summary: str
    fields: Mapping[str, Any] = field(default_factory=dict)


RECIPES: Mapping[str, Recipe] = MappingProxyType({
    "smoke": Recipe(
        "smoke",
        "quick check on a CPU: small UNet, 32^3 crops x 2, lr 1e-3, 300 steps, 4 validation "
        "volumes every 100 steps",
        MappingProxyType({"model": "unet", "unet_channels": [8, 16, 32, 64],
                          "unet_strides": [2, 2, 2], "unet_res_units": 0,
                          "crop_size": (32, 32, 32), "crops_per_volume": 2, "lr": 1e-3,
                          "max_steps": 300, "warmup_steps": 20, "val_samples": 4,
                          "val_every": 100, "log_every": 10})),
    "paper": Recipe(
        "paper",
        "the paper (spec §13): SwinUNETR, 96^3 crops x 4, 500 warm-up + cosine to 30,000 steps, "
        "100 validation volumes every 500 steps",
        MappingProxyType({})),
})


#: How long the paper recipe takes on a CPU (``fdif train --help``); measured with
#: ``benchmarks/bench_train_cpu.py --recipe paper --crops-per-volume 1|2``.
PAPER_ON_A_CPU = (
    "On a CPU the paper recipe (the defaults) takes weeks. Measured 2026-12-07 on a 2-core AMD "
    "EPYC VM with 23 GiB RAM: a SwinUNETR step took 25 s with 1 crop of 96^3 and 32 s with 2 "
    "(the recipe's 4 crops need about 27 GiB of RAM, more than that machine had; "
    "--grad-checkpoint still passed 16 GiB), a validation volume 5-6 s. 30,000 steps at an "
    "extrapolated 45 s plus 60 validations of 100 volumes come to about 16 days. Use a GPU, or "
    "--recipe smoke (3-5 minutes on that CPU with the quick preset).")


def recipe_fields(name: str) -> dict[str, Any]:
    """The fields of recipe ``name`` (``FdifError`` naming the known ones otherwise)."""
    try:
        return dict(RECIPES[name].fields)
    except KeyError:
        raise FdifError(f"unknown recipe {name!r} (known: {', '.join(RECIPES)})") from None
