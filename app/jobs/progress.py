"""Reading a job's output: new bytes of its files, its events, and what they say so far."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 1 << 18  # at most this many bytes per read: a long backlog is read over several ticks
PROGRESS_LOG_S = 5.0  # a progress line in the log at most this often (and at phase changes)
DEFAULT_PHASE = {"generate": "generate", "train": "train", "finetune": "train"}


class FileTail:
    """The lines appended to a file since the last :meth:`read` (only new bytes are read;
    a line still being written waits for its newline)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def read(self) -> list[str]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(CHUNK)
        except FileNotFoundError:
            return []
        if not data:
            return []
        self.offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        return [line.decode(errors="replace") for line in lines]


class EventTail(FileTail):
    """New JSON events of an ``events.jsonl``; a line that is not an event becomes a
    ``text`` event (so nothing the process printed is lost)."""

    def read_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.read():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict) or "event" not in event:
                event = {"event": "text", "message": line}
            events.append(event)
        return events


def _clock(event: dict[str, Any]) -> str:
    return time.strftime("%H:%M:%S", time.localtime(event.get("time") or time.time()))


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def format_duration(seconds: float | None) -> str:
    """``1:02:03``, ``2:03`` or ``—``."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    s = int(round(seconds))
    hours, rest = divmod(s, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def describe_event(event: dict[str, Any]) -> str:
    """One readable log line for an event (its time first)."""
    kind = event.get("event")
    data = {k: v for k, v in event.items() if k not in ("event", "time")}
    if kind == "progress":
        text = (f"{data.get('phase', 'progress')} {data.get('done')}/{data.get('total')} "
                f"{data.get('unit', '')}".rstrip())
        if data.get("rate"):
            text += f" · {data['rate']:.3g} {data.get('unit', '')}/s".replace(" /s", "/s")
        if "loss" in data:
            text += f" · loss {_number(data['loss'])}"
    elif kind == "metric":
        if "val_mean_dice" in data:
            text = f"step {data.get('step')}: validation mean Dice {data['val_mean_dice']:.4f}"
            if "best" in data:
                text += f" (best {data['best']:.4f} at step {data.get('best_step')})"
        else:
            text = f"step {data.get('step')}: " + ", ".join(
                f"{k} {_number(v)}" for k, v in data.items() if k != "step")
    elif kind == "file":
        text = f"wrote {data.get('path')}" + (f" ({data['kind']})" if "kind" in data else "")
    elif kind in ("warning", "error"):
        text = f"{kind}: {data.get('message', '')}"
    elif kind == "done":
        text = f"done: {data.get('summary') or ', '.join(f'{k}={v}' for k, v in data.items())}"
    elif kind == "text":
        text = str(data.get("message", ""))
    else:
        text = f"{kind}: " + ", ".join(f"{k}={_number(v)}" for k, v in data.items())
    return f"{_clock(event)} {text}"


@dataclass
class Progress:
    """What a job's events say so far: phase and counts, warnings, the result, the curves."""

    kind: str = "generate"
    phase: str = ""
    done: int | None = None
    total: int | None = None
    unit: str = ""
    rate: float | None = None
    eta_s: float | None = None
    warning: str = ""
    error: str = ""
    result: dict[str, Any] | None = None
    loss: list[tuple[int, float]] = field(default_factory=list)
    dice: list[tuple[int, float]] = field(default_factory=list)
    events: int = 0
    logged: tuple[str, float] = ("", 0.0)
    """Phase and time of the last progress event written to the log."""

    @property
    def last(self) -> str | None:
        """``done`` or ``error`` when the job has said how it ended."""
        return "done" if self.result is not None else "error" if self.error else None

    def apply(self, event: dict[str, Any]) -> str | None:
        """Take one event; returns its log line, or ``None`` for one the log leaves out (a
        progress event shortly after another of the same phase, a sample's file)."""
        self.events += 1
        kind = event.get("event")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event)
        if kind == "progress" and not self._log_progress(event):
            return None
        if kind == "file" and "index" in event:
            return None  # one file per sample: the progress lines count them
        return describe_event(event)

    def _log_progress(self, event: dict[str, Any]) -> bool:
        phase, when = self.phase, float(event.get("time") or time.time())
        last_phase, last_when = self.logged
        if phase != last_phase or when - last_when >= PROGRESS_LOG_S or self.done == self.total:
            self.logged = (phase, when)
            return True
        return False

    def _on_start(self, event: dict[str, Any]) -> None:
        self.error, self.result = "", None
        self.rate = self.eta_s = None
        step = event.get("step")
        if step is not None:  # a resumed run repeats the steps after its checkpoint
            self.loss = [p for p in self.loss if p[0] <= step]
            self.dice = [p for p in self.dice if p[0] <= step]

    def _on_progress(self, event: dict[str, Any]) -> None:
        self.phase = str(event.get("phase") or DEFAULT_PHASE.get(self.kind, ""))
        self.done, self.total = event.get("done"), event.get("total")
        self.unit = str(event.get("unit") or "")
        self.rate = event.get("rate")
        eta = event.get("eta_s")
        if eta is None and self.rate and self.total is not None and self.done is not None:
            eta = (self.total - self.done) / self.rate
        self.eta_s = eta

    def _on_metric(self, event: dict[str, Any]) -> None:
        step = event.get("step")
        if step is None:
            return
        if event.get("loss") is not None:
            self.loss.append((int(step), float(event["loss"])))
        if event.get("val_mean_dice") is not None:
            self.dice.append((int(step), float(event["val_mean_dice"])))

    def _on_warning(self, event: dict[str, Any]) -> None:
        self.warning = str(event.get("message", ""))

    def _on_error(self, event: dict[str, Any]) -> None:
        self.error = str(event.get("message", "")) or "error"

    def _on_done(self, event: dict[str, Any]) -> None:
        self.result = event

    def summary(self) -> str:
        """``generate 3/8 samples · 4.1/s · ETA 0:02`` for the progress bar (rate in units
        per second)."""
        if self.total is None:
            return self.phase or "starting…"
        text = f"{self.phase} {self.done}/{self.total} {self.unit}".strip()
        if self.rate:
            text += f" · {self.rate:.3g}/s"
        if self.eta_s is not None and self.done != self.total:
            text += f" · ETA {format_duration(self.eta_s)}"
        return text
