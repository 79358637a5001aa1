"""Screenshots of the whole window, taken once the views show a preview."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QMainWindow

SETTLE_MS = 400  # let the last paint of the views land before grabbing


def grab_window(window: QMainWindow, path: Path) -> bool:
    """Wait until the 3D view has drawn every change, grab the window and save it as PNG."""
    window.active_workspace.viewport.grab_image()  # every change drawn
    QApplication.processEvents()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return window.grab().save(str(path), "PNG")


def save_when_ready(window: QMainWindow, path: Path, started: float, timeout_s: float) -> None:
    """After the first preview is shown: save the window to ``path`` and quit (exit code 1 if
    no preview came within ``timeout_s`` or the file could not be written)."""

    shown: list[float] = []  # seconds from start to the first preview on screen

    def finish() -> None:
        ok = grab_window(window, path)
        elapsed = time.perf_counter() - started
        print(f"fdif-studio: first preview shown {shown[0]:.2f} s after start; "
              f"screenshot {'saved to ' + str(path) if ok else 'could not be written to ' + str(path)}"
              f" ({elapsed:.2f} s)", file=sys.stderr)
        window.exit_code = 0 if ok else 1
        window.close()

    def on_ready(service, result) -> None:
        # the newest request of the mode on screen (an opened preset shows composition mode)
        if not shown and service is window.active_service and service.settled \
                and result.request.number == service.latest:
            shown.append(time.perf_counter() - started)
            QTimer.singleShot(SETTLE_MS, finish)

    def give_up() -> None:
        if not shown:
            print(f"fdif-studio: no preview within {timeout_s:.0f} s; no screenshot", file=sys.stderr)
            window.exit_code = 1
            window.close()

    for service in (window.service, window.composition.service):
        service.ready.connect(lambda result, s=service: on_ready(s, result))
    QTimer.singleShot(int(timeout_s * 1000), give_up)
