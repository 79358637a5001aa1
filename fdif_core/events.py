"""Long jobs as event streams.

Generation and training are generators of :class:`Event`. The CLI renders them with
:func:`render_events`: a progress bar on a terminal, or one JSON object per line with
``--json`` (the studio runs the CLI as a child process and reads those lines).

Event types: ``start``, ``progress`` (``done``, ``total``, ``rate``), ``file`` (``path``),
``warning`` (``message``), ``metric`` (training values), ``done``, ``error`` (``message``).

A ``progress`` event may name the ``phase`` of the job it counts (``done`` of ``total`` in
``unit``s), so a reader can show what a long job is doing: ``generate`` (samples), ``write``
(files), ``card`` (dataset card), ``prepare`` (data checks, caching), ``train`` (steps),
``validate`` (volumes), ``checkpoint``, and may add a ``task`` (what it is doing within the
phase). A job emits one at least every few seconds. On a terminal each phase (and task) gets its
own progress bar.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

EVENT_TYPES = ("start", "progress", "file", "warning", "metric", "done", "error")


@dataclass
class Event:
    """One event of a job."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")

    def to_json(self) -> str:
        """``{"event": type, "time": ..., **data}`` on one line."""
        return json.dumps({"event": self.type, "time": round(self.time, 3), **self.data},
                          default=str)


def render_events(events: Iterable[Event], as_json: bool = False,
                  stream: TextIO | None = None) -> Event | None:
    """Consume a job's events, printing them; returns the last event.

    With ``as_json`` every event is one JSON line on ``stream`` (stdout). Otherwise a tqdm
    progress bar (rate and ETA) follows ``progress`` events when stderr is a terminal, and
    warnings go to stderr.
    """
    stream = stream or sys.stdout
    last = None
    bar = None
    bar_key: tuple = ()
    try:
        for event in events:
            last = event
            if as_json:
                stream.write(event.to_json() + "\n")
                stream.flush()
                continue
            if event.type == "progress":
                key = tuple(event.data.get(k) for k in ("phase", "task", "total", "unit"))
                if bar is not None and key != bar_key:
                    bar.close()
                    bar = None
                if bar is None:
                    from tqdm import tqdm

                    bar_key = key
                    bar = tqdm(total=event.data.get("total"), unit=event.data.get("unit", "it"),
                               desc=event.data.get("task") or event.data.get("phase"),
                               dynamic_ncols=True, file=sys.stderr, disable=None)
                bar.n = event.data.get("done", bar.n)
                postfix = {k: v for k, v in event.data.items()
                           if k not in ("done", "total", "unit", "rate", "phase", "task")}
                if postfix:
                    bar.set_postfix(postfix, refresh=False)
                bar.refresh()
            elif event.type in ("warning", "error"):
                print(f"fdif: {event.type}: {event.data.get('message', '')}", file=sys.stderr)
            elif event.type == "done":
                if bar is not None:
                    bar.close()
                    bar = None
                summary = event.data.get("summary")
                if summary:
                    print(summary, file=stream)
    finally:
        if bar is not None:
            bar.close()
    return last


def with_rate(events: Iterator[Event]) -> Iterator[Event]:
    """Add ``rate`` to progress events: per second since the first progress event of the same
    phase and task, counted afresh when ``done`` falls back (a phase that repeats, such as
    each validation)."""
    starts: dict[tuple, tuple[float, int]] = {}
    last: dict[tuple, int] = {}
    for event in events:
        if event.type == "progress":
            now = time.monotonic()
            key = (event.data.get("phase"), event.data.get("task"), event.data.get("unit"))
            done_now = event.data.get("done", 0)
            if key not in starts or done_now < last[key]:
                starts[key] = (now, done_now)
            last[key] = done_now
            start, first_done = starts[key]
            elapsed = now - start
            if elapsed > 0 and "rate" not in event.data:
                event.data["rate"] = round((done_now - first_done) / elapsed, 4)
        yield event
