"""The 3D view: a widget showing frames that a render thread draws off the GUI thread.

On a software GL (llvmpipe, as on servers and virtual displays) one frame of a 35k-triangle
surface takes 60-130 ms; drawn on the GUI thread (pyvistaqt's ``QtInteractor``) that stalled
sliders and slice views for as long. Here the GUI thread only posts what changed — a new
surface, plane positions, options, camera moves — and paints the newest finished frame.
Posts between two frames are coalesced: a newer surface replaces one not yet drawn, camera
moves accumulate, and one frame follows them all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
import pyvista as pv
from PyQt6.QtCore import QPointF, QRectF, Qt, QThread, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QWheelEvent
from PyQt6.QtWidgets import QWidget

from app.state import ViewState
from app.views.colors import BACKGROUND_3D
from app.views.scene3d import STANDARD_VIEWS, Scene, plane_offsets
from fdif_core.grid import Grid

Command = Callable[[Scene], None]
log = logging.getLogger("fdif")
FRAME_WAIT_S = 10.0  # the longest a screenshot waits for the render thread


class _Commands:
    """Posted scene changes. A keyed post replaces an earlier one with the same key that has
    not been applied; ``take`` blocks until there is something (or the box closes)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[tuple[str | None, Command]] = []
        self._posted = 0
        self._closed = False

    def post(self, command: Command, key: str | None = None) -> int:
        with self._cond:
            if key is not None:
                self._items = [(k, c) for k, c in self._items if k != key]
            self._items.append((key, command))
            self._posted += 1
            self._cond.notify()
            return self._posted

    def take(self) -> tuple[list[Command], int] | None:
        """All pending commands and the number of the last post they include."""
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            items, self._items = self._items, []
            return [c for _, c in items], self._posted

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


class RenderThread(QThread):
    """Owns the :class:`Scene`; applies posted commands and renders one frame per batch.

    Signals
    -------
    frame(QImage, int)
        A finished frame and the number of the last post it shows.
    failed(str)
        A command or the render raised; the message says what.
    """

    frame = pyqtSignal(QImage, int)
    failed = pyqtSignal(str)

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self._size = size
        self._commands = _Commands()
        self._drawn = threading.Condition()
        self.drawn = 0  # number of the last post shown in a finished frame
        self.latest: QImage | None = None
        self.scene: Scene | None = None  # for reads in tests, after wait_until_drawn

    def post(self, command: Command, key: str | None = None) -> int:
        return self._commands.post(command, key)

    def run(self) -> None:
        try:
            self.scene = Scene(self._size)
        except Exception as err:  # noqa: BLE001 - no GL: the studio runs on without a 3D view
            self.failed.emit(f"cannot create the 3D scene: {type(err).__name__}: {err}")
            return
        try:
            while (batch := self._commands.take()) is not None:
                commands, number = batch
                try:
                    for command in commands:
                        command(self.scene)
                    image = _to_qimage(self.scene.render())
                except Exception as err:  # noqa: BLE001 - shown in the log; the view keeps going
                    self.failed.emit(f"{type(err).__name__}: {err}")
                    image = self.latest
                with self._drawn:
                    self.latest, self.drawn = image, number
                    self._drawn.notify_all()
                if image is not None:
                    self.frame.emit(image, number)
        finally:
            self.scene.close()

    def wait_until_drawn(self, number: int, timeout_s: float = FRAME_WAIT_S) -> QImage | None:
        """Block until post ``number`` is in a finished frame; that frame (``None`` on timeout)."""
        with self._drawn:
            self._drawn.wait_for(lambda: self.drawn >= number, timeout_s)
            return self.latest if self.drawn >= number else None

    def stop(self) -> None:
        self._commands.close()
        self.wait(int(FRAME_WAIT_S * 1000))


def _to_qimage(pixels: np.ndarray) -> QImage:
    height, width, _ = pixels.shape
    return QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class Viewport3D(QWidget):
    """The 3D view: left drag rotates, middle or Shift+left drag pans, right drag and the wheel
    zoom. ``mesh`` is the surface last sent to the scene (world x, y, z)."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setMinimumSize(120, 90)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.mesh = pv.PolyData()
        self.label_meshes: dict[int, pv.PolyData] = {}
        self.highlight: pv.PolyData | None = None
        self.grid: Grid | None = None
        self.colour_by_intensity = False
        self.planes_visible = True
        self.plane_offsets: dict[str, float] = {}
        self.image: QImage | None = None
        self.frames = 0
        self._drag: tuple[Qt.MouseButton, QPointF, bool] | None = None
        self._thread = RenderThread(self._pixel_size())
        self._thread.frame.connect(self._show_frame)
        self._thread.failed.connect(self._report)
        self._thread.start()
        self._last_post = 0
        state.crosshair_changed.connect(self._place_planes)

    # -- content ---------------------------------------------------------------------------
    def set_surface(self, mesh: pv.PolyData, grid: Grid) -> None:
        """Show ``mesh`` on ``grid`` (the mesh is handed over: the caller must not change it)."""
        self.mesh, self.grid = mesh, grid
        self._post(lambda scene: scene.set_surface(mesh, grid), "surface")
        self._place_planes()

    def set_label_surfaces(self, meshes: dict[int, pv.PolyData], grid: Grid) -> None:
        """Show one surface per label value (handed over: the caller must not change them)."""
        self.label_meshes, self.grid = meshes, grid
        self._post(lambda scene: scene.set_label_surfaces(meshes, grid), "labels")
        self._place_planes()

    def set_hidden_labels(self, hidden: frozenset[int]) -> None:
        self._post(lambda scene: scene.set_hidden_labels(hidden), "hidden_labels")

    def set_label_opacity(self, opacity: float) -> None:
        self._post(lambda scene: scene.set_label_opacity(opacity), "label_opacity")

    def set_highlight(self, mesh: pv.PolyData | None) -> None:
        """Draw ``mesh`` highlighted (``None``: no highlight)."""
        self.highlight = mesh
        self._post(lambda scene: scene.set_highlight(mesh), "highlight")

    def _place_planes(self) -> None:
        if self.grid is None:
            return
        offsets = plane_offsets(self.grid, self.state.crosshair)
        self.plane_offsets = offsets
        self._post(lambda scene: scene.place_planes(offsets), "planes")

    def set_colour_by_intensity(self, on: bool) -> None:
        self.colour_by_intensity = bool(on)
        self._post(lambda scene: scene.set_colour_by_intensity(on), "colouring")

    def set_planes_visible(self, on: bool) -> None:
        self.planes_visible = bool(on)
        self._post(lambda scene: scene.set_planes_visible(on), "planes_visible")

    def reset_camera(self) -> None:
        self._post(Scene.reset_camera)

    def standard_view(self, which: str, negative: bool = False) -> None:
        """Look along an axis (``"xy"``: down z, ``"xz"``, ``"yz"``) or from the diagonal."""
        if which not in STANDARD_VIEWS:
            raise ValueError(f"unknown view {which!r} (known: {', '.join(STANDARD_VIEWS)})")
        self._post(lambda scene: scene.standard_view(which, negative))

    def _post(self, command: Command, key: str | None = None) -> None:
        self._last_post = self._thread.post(command, key)

    # -- frames ----------------------------------------------------------------------------
    def _pixel_size(self) -> tuple[int, int]:
        ratio = self.devicePixelRatioF()
        return max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        size = self._pixel_size()
        self._post(lambda scene: scene.resize(size), "size")
        super().resizeEvent(event)

    def _show_frame(self, image: QImage, _number: int) -> None:
        self.image = image
        self.frames += 1
        self.update()

    def _report(self, message: str) -> None:
        log.error("3D view: %s", message)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        if self.image is None:
            painter.fillRect(self.rect(), QColor(BACKGROUND_3D))
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(self.rect()), self.image)
        painter.end()

    def grab_image(self) -> QImage:
        """The scene as it is now, every posted change drawn (what a screenshot saves)."""
        image = self._thread.wait_until_drawn(self._last_post)
        if image is None:
            raise RuntimeError(f"the 3D view did not draw within {FRAME_WAIT_S:.0f} s")
        self._show_frame(image, self._last_post)
        return image

    def scene_after_drawing(self) -> Scene:
        """The scene once every posted change is drawn (read it only while nothing is posted)."""
        self.grab_image()
        return self._thread.scene

    def close_plotter(self) -> None:
        """Stop the render thread and release its GL resources (idempotent)."""
        self._thread.stop()

    # -- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self._drag = (event.button(), event.position(), shift)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._drag is None:
            return
        button, last, shift = self._drag
        delta = event.position() - last
        ratio = self.devicePixelRatioF()
        dx, dy = delta.x() * ratio, delta.y() * ratio
        self._drag = (button, event.position(), shift)
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and shift):
            self._post(lambda scene: scene.pan(dx, dy))
        elif button == Qt.MouseButton.LeftButton:
            self._post(lambda scene: scene.rotate(dx, dy))
        elif button == Qt.MouseButton.RightButton:
            self._post(lambda scene: scene.zoom_drag(dy))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._drag = None
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt's name
        steps = event.angleDelta().y() / 120
        self._post(lambda scene: scene.zoom(steps))
        event.accept()
