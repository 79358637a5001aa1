"""Progress of a generation job, phase by phase: ``progress`` events and what the producer
reports.

Every phase (``prepare``, ``generate``, ``write``, ``card``; see :mod:`fdif_core.events`) emits
an event when it starts and when its count changes, and a heartbeat at least every
:data:`HEARTBEAT_S` seconds while it waits, so a reader is never left without news for longer
than one blocking step (reading one file, importing torch).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fdif_core.events import Event

HEARTBEAT_S = 1.0  # most seconds between two progress events while a phase waits
POLL_S = 0.2  # how long the producer waits for a sample before reporting IDLE

COMPUTED, WRITTEN, WRITING, IDLE = "computed", "written", "writing", "idle"


@dataclass(frozen=True)
class Produced:
    """What the sample producer reports: a sample ``computed`` (with its warnings about
    objects without a surface) or ``written`` (with its files), ``writing`` (every sample is
    computed, the last writes remain) or ``idle``."""

    kind: str
    index: int = -1
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Phase:
    """The ``progress`` events of one phase.

    Parameters
    ----------
    name : str
        The phase (``prepare``, ``generate``, ``write``, ``card``).
    total : int
        What ``done`` counts up to.
    unit : str
        What is counted.
    """

    def __init__(self, name: str, total: int, unit: str) -> None:
        self.name, self.total, self.unit = name, total, unit
        self._last: float | None = None

    def event(self, done: int, **extra: Any) -> Event:
        """A progress event with ``done`` of :attr:`total` (and ``extra`` fields)."""
        self._last = time.monotonic()
        return Event("progress", {"phase": self.name, "done": done, "total": self.total,
                                  "unit": self.unit, **extra})

    def due(self) -> bool:
        """Whether :data:`HEARTBEAT_S` seconds have passed since the last event."""
        return self._last is None or time.monotonic() - self._last >= HEARTBEAT_S
