"""The benchmarks' measure of GUI-thread stalls: gaps between the ticks of a 5 ms timer on the
GUI thread while the event loop runs as in real use and a user action repeats."""

from __future__ import annotations

from collections.abc import Callable


def gui_gaps(seconds: float, every_ms: int, action: Callable[[], object]) -> list[float]:
    """Run the event loop for ``seconds``, calling ``action`` every ``every_ms``; the gaps
    (ms) between 5 ms ticks of a GUI-thread timer (the first, from the start, left out)."""
    from PyQt6.QtCore import QElapsedTimer, QEventLoop, QTimer

    gaps, clock, last = [], QElapsedTimer(), [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    ticker, actor, loop = QTimer(), QTimer(), QEventLoop()
    ticker.timeout.connect(tick)
    actor.timeout.connect(action)
    clock.start()
    ticker.start(5)
    actor.start(every_ms)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    actor.stop()
    ticker.stop()
    return gaps[1:]
