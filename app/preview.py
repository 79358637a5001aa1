"""The preview worker: evaluates and meshes the current instance off the GUI thread.

Requests go into a one-slot mailbox: a new request replaces one that has not started, so a
slider drag never queues stale work. Each request carries an increasing number; the service
drops a result whose number is older than the last result it delivered or than a request that
finished after it, so an old result never overwrites a newer one. The worker calls
``fdif_core.preview`` and the VTK mesher and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyvista as pv
from PyQt6.QtCore import QObject, QThread, pyqtSignal

from app.meshing import zero_surface
from fdif_core.errors import FdifError, one_line
from fdif_core.preview import InstanceSettings, Preview, preview_class
from fdif_core.shapes import ShapeClass


@dataclass(frozen=True)
class PreviewRequest:
    """What to show: a validated class and how to draw its instance."""

    number: int
    shape: ShapeClass
    settings: InstanceSettings


@dataclass
class PreviewResult:
    """A finished request: the core's preview, the zero surface and timings (ms)."""

    request: PreviewRequest
    preview: Preview
    mesh: pv.PolyData
    timings: dict[str, float]

    @property
    def total_ms(self) -> float:
        return sum(self.timings.values())


def compute(request: PreviewRequest) -> PreviewResult:
    """Evaluate and mesh one request (runs in the worker; also used by the benchmark)."""
    preview = preview_class(request.shape, request.settings)
    start = time.perf_counter()
    mesh = zero_surface(preview.grid, preview.sdf, preview.image)
    timings = {**preview.timings, "mesh": (time.perf_counter() - start) * 1e3}
    return PreviewResult(request, preview, mesh, timings)


class _Mailbox:
    """One pending request at most; ``take`` blocks until there is one (or the box closes)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Any = None
        self._closed = False

    def put(self, request: Any) -> None:
        with self._cond:
            self._pending = request
            self._cond.notify()

    def take(self) -> Any:
        with self._cond:
            while self._pending is None and not self._closed:
                self._cond.wait()
            request, self._pending = self._pending, None
            return request

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


class _Worker(QThread):
    done = pyqtSignal(object)
    failed = pyqtSignal(object, str)

    def __init__(self, mailbox: _Mailbox, compute: Callable[[Any], Any]) -> None:
        super().__init__()
        self.mailbox, self.compute = mailbox, compute

    def run(self) -> None:
        while (request := self.mailbox.take()) is not None:
            try:
                self.done.emit(self.compute(request))
            except Exception as err:  # noqa: BLE001 - any core error is shown, never fatal
                user_error = isinstance(err, (FdifError, KeyError, ValueError)) and err.args
                message = err.args[0] if user_error else f"{type(err).__name__}: {err}"
                self.failed.emit(request, one_line(str(message)))


class LatestWins(QObject):
    """A worker thread that runs ``compute(request)`` for the newest request only.

    ``submit`` returns at once; ``ready`` or ``failed`` follow. A request is any object with an
    increasing ``number``; a result carries its request as ``result.request``.

    Signals
    -------
    ready(object)
        A result newer than every result delivered before.
    failed(object, str)
        The core refused the request; the message says why.
    busy(bool)
        Whether a request is pending or running.
    """

    ready = pyqtSignal(object)
    failed = pyqtSignal(object, str)
    busy = pyqtSignal(bool)

    def __init__(self, compute: Callable[[Any], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox = _Mailbox()
        self._worker = _Worker(self._mailbox, compute)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._issued = 0
        self._delivered = 0
        self._requested_at: dict[int, float] = {}  # request number: when it was submitted
        self.dropped = 0
        self._worker.start()

    @property
    def latest(self) -> int:
        """Number of the newest request."""
        return self._issued

    @property
    def settled(self) -> bool:
        """Whether the newest request has been answered (shown, failed)."""
        return self._delivered >= self._issued

    def submit(self, make_request: Callable[[int], Any]) -> int:
        """Queue ``make_request(number)`` (replacing any request not yet started)."""
        self._issued += 1
        self._requested_at[self._issued] = time.perf_counter()
        self._mailbox.put(make_request(self._issued))
        self.busy.emit(True)
        return self._issued

    def elapsed_ms(self, result: Any) -> float:
        """Milliseconds from submitting ``result``'s request until now (when it is shown); the
        worker's own timings when the request is not known."""
        started = self._requested_at.pop(result.request.number, None)
        return (time.perf_counter() - started) * 1e3 if started is not None else result.total_ms

    def _settle(self, number: int) -> bool:
        """Whether a finished request is still news; updates the busy state and forgets when
        the requests it supersedes were submitted."""
        for older in [n for n in self._requested_at if n < number]:
            del self._requested_at[older]
        if number >= self._issued:
            self.busy.emit(False)
        if number <= self._delivered:
            self.dropped += 1
            return False
        self._delivered = number
        return True

    def _on_done(self, result: Any) -> None:
        if self._settle(result.request.number):
            self.ready.emit(result)

    def _on_failed(self, request: Any, message: str) -> None:
        self._requested_at.pop(request.number, None)
        if self._settle(request.number):
            self.failed.emit(request, message)

    def shutdown(self) -> None:
        """Stop the worker after its current request (call before the app quits)."""
        self._mailbox.close()
        self._worker.wait(10000)


class PreviewService(LatestWins):
    """Latest-wins previews of the class being designed (:func:`compute`)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(compute, parent)

    def request(self, shape: ShapeClass, settings: InstanceSettings) -> int:
        """Queue a preview (replacing any request not yet started); returns its number."""
        return self.submit(lambda number: PreviewRequest(number, shape, settings))
