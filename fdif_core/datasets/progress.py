"""Progress of a generation job, phase by phase: ``progress`` events and what the producer
reports.

Every phase (``prepare``, ``generate``, ``write``, ``card``; see :mod:`fdif_core.events`) emits
an event when it starts and when its count changes, and a heartbeat at least every
:data:`HEARTBEAT_S` seconds while it waits, so a reader is never left without news for longer
than one blocking step (reading one file, importing torch).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
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


class SurfaceNotes:
    """Warnings about objects without a surface in the grid, as ``warning`` events.

    The first :attr:`SHOWN` are reported one by one; a class that never has a surface
    (a formula that is NaN everywhere) would otherwise repeat its warning in every sample.
    """

    SHOWN = 20

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.count = 0

    def add(self, messages: list[str]) -> None:
        """Record the warnings of one sample."""
        self.pending.extend(messages)

    def events(self, final: bool = False) -> Iterator[Event]:
        """The warnings to report now; with ``final``, a count of those left out."""
        for message in self.pending:
            self.count += 1
            if self.count <= self.SHOWN:
                yield Event("warning", {"message": message})
        self.pending.clear()
        if final and self.count > self.SHOWN:
            yield Event("warning", {"message": f"{self.count - self.SHOWN} more objects had no "
                                    f"surface in the grid ({self.count} in all; the first "
                                    f"{self.SHOWN} are shown)"})
