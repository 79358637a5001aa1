"""The learning-rate schedule of the reference (spec §13.3, checked by §17.19).

Linear warm-up from 0 to ``lr0`` over ``warmup`` steps, reaching ``lr0`` at step ``warmup − 1``
(``lr_i = i/(warmup − 1)·lr0``), then cosine decay to 0 at ``max_steps``:
``lr_i = ½·lr0·(1 + cos(π·(i − warmup)/(max_steps − warmup)))``.

MONAI's ``WarmupCosineSchedule`` divides by ``warmup`` rather than ``warmup − 1`` (its step 1
is 2.0e−7 instead of the reference's 2.004008e−7), so this schedule is a small ``LambdaLR`` of
our own. Past ``max_steps`` the cosine would rise again, as in the reference; the training loop
stops exactly at ``max_steps`` so it never gets there.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def lr_factor(step: int, warmup_steps: int, max_steps: int) -> float:
    """Multiplier of the base learning rate at optimiser step ``step``.

    Parameters
    ----------
    step : int
        Number of optimiser steps taken so far (0 for the first step).
    warmup_steps : int
        Length of the linear warm-up; 0 or 1 means none.
    max_steps : int
        Step at which the cosine reaches 0.

    Returns
    -------
    float
        ``lr_step / lr0``.
    """
    if warmup_steps > 1 and step < warmup_steps:
        return step / (warmup_steps - 1)
    warm = warmup_steps if warmup_steps > 1 else 0
    span = max(1, max_steps - warm)
    return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / span))


def warmup_cosine(optimizer: Optimizer, warmup_steps: int, max_steps: int,
                  last_epoch: int = -1) -> LambdaLR:
    """The reference schedule as a scheduler stepped once per optimiser step.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Optimiser whose ``lr`` is the base learning rate ``lr0``.
    warmup_steps, max_steps : int
        See :func:`lr_factor`.
    last_epoch : int
        As for every torch scheduler (−1 for a new run).

    Returns
    -------
    torch.optim.lr_scheduler.LambdaLR
        The scheduler; ``optimizer.param_groups[0]["lr"]`` is ``lr_i`` before step ``i``.
    """
    return LambdaLR(optimizer, lambda i: lr_factor(i, warmup_steps, max_steps),
                    last_epoch=last_epoch)
