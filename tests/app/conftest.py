"""Studio tests: real widgets on a real (virtual) display.

The README's test command runs pytest under ``xvfb-run`` with ``QT_QPA_PLATFORM=xcb``; Qt's
``offscreen`` platform has no OpenGL and cannot render the 3D view, so without a display these
tests are skipped with a reason rather than run half-blind.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_API", "pyqt6")
GRID = 64  # small grid: fast updates, same code paths


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    # after pytest-xvfb (if installed) has set DISPLAY
    if _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = Path(f"/tmp/runtime-{os.getuid()}")
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def pytest_collection_modifyitems(config, items) -> None:
    if _has_display():
        return
    skip = pytest.mark.skip(reason="no display: run the tests with scripts/test.sh (xvfb-run)")
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _thumbnail_cache(tmp_path_factory):
    os.environ["FDIF_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def settings(tmp_path):
    from PyQt6.QtCore import QSettings

    s = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    s.setValue("instance/grid", GRID)
    return s


def wait_for_preview(qtbot, window, timeout: int = 30000):
    """Wait until the newest request's result (or failure) has been handled."""
    qtbot.waitUntil(lambda: window.service.settled, timeout=timeout)
    return window.result


@pytest.fixture
def studio(qtbot, settings):
    """The main window, shown, with its first preview on screen."""
    from app.main_window import MainWindow

    window = MainWindow(settings, thumbnails=False)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # shortcuts need the active window (Xvfb has no window manager)
    qtbot.waitActive(window)
    wait_for_preview(qtbot, window)
    yield window
    for document in (window.document, window.composition.document):
        document.undo_stack.setClean()  # no unsaved-changes question at teardown
    window.shutdown()  # threads and GL before the window goes
    window.close()
    window.deleteLater()


def grab_array(widget) -> np.ndarray:
    """A widget's pixels as an ``(H, W, 3)`` uint8 array."""
    from PyQt6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    return _qimage_array(image)


def _qimage_array(image) -> np.ndarray:
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits().asarray(stride * height), dtype=np.uint8)
    return data.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def image_array(qimage) -> np.ndarray:
    from PyQt6.QtGui import QImage

    return _qimage_array(qimage.convertToFormat(QImage.Format.Format_RGB888))


def view_point(view, col: float, row: float):
    """Widget coordinates of data point (col, row) in a slice view."""
    from PyQt6.QtCore import QPointF

    scene = view.box.mapViewToScene(QPointF(col, row))
    return view.mapFromScene(scene)


def mouse_drag(widget, button, start, end, steps: int = 6, modifiers=None) -> None:
    """Press ``button`` at ``start``, move in ``steps`` to ``end``, release (real events)."""
    from PyQt6.QtCore import QEvent, QPointF, Qt
    from PyQt6.QtGui import QMouseEvent
    from PyQt6.QtWidgets import QApplication

    mods = modifiers or Qt.KeyboardModifier.NoModifier
    target = widget.viewport() if hasattr(widget, "viewport") else widget

    def send(kind, pos, buttons, which):
        local = QPointF(pos)
        event = QMouseEvent(kind, local, target.mapToGlobal(local), which, buttons, mods)
        QApplication.sendEvent(target, event)
        QApplication.processEvents()

    send(QEvent.Type.MouseButtonPress, start, button, button)
    for i in range(1, steps + 1):
        t = i / steps
        pos = QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        send(QEvent.Type.MouseMove, pos, button, Qt.MouseButton.NoButton)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton, button)
