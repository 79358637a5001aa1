"""``progress`` events of a training job, by phase (see :mod:`fdif_core.events`).

A training job is never silent for long: ``prepare`` counts data checks, cached volumes and
rendered validation volumes; ``train`` counts optimiser steps; ``validate`` counts validation
volumes; ``checkpoint`` counts files written. :class:`Throttle` keeps fast loops from flooding
the stream while still reporting every few seconds.
"""

from __future__ import annotations

import time
from typing import Any

from fdif_core.events import Event

#: seconds between ``prepare`` progress events of a fast loop
PREPARE_EVERY_S = 1.0
#: seconds between ``train`` progress events when steps are faster than this
TRAIN_EVERY_S = 2.0


def progress(phase: str, done: int, total: int, unit: str, **extra: Any) -> Event:
    """A ``progress`` event of ``phase``: ``done`` of ``total`` ``unit``s, plus ``extra``."""
    return Event("progress", {"phase": phase, "done": done, "total": total, "unit": unit,
                              **extra})


class Throttle:
    """Says when a loop should report: at most once per ``every_s`` seconds.

    Parameters
    ----------
    every_s : float
        Minimum wall time between two reports.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last: float | None = None

    def due(self, force: bool = False) -> bool:
        """``True`` (and the clock restarts) if ``force``, on the first call, or once
        ``every_s`` seconds have passed since the last ``True``."""
        now = time.monotonic()
        if force or self._last is None or now - self._last >= self.every_s:
            self._last = now
            return True
        return False
