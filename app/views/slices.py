"""Axial, coronal and sagittal views of the instance's image with its label overlay.

Each view cuts the ``(D, H, W)`` arrays across one axis and shows the cut with rows upward
(pyqtgraph ``ImageItem`` in row-major order; no per-pixel Python). Mouse and keys, as in
3D Slicer and ITK-SNAP: left click or drag moves the crosshair, Shift+move moves it without a
click, the wheel and the arrow / Page keys step the slice, right-drag changes window (across)
and level (up and down), middle-drag pans and Ctrl+wheel zooms. The views share one
:class:`~app.state.ViewState`; each only reads and writes that state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QKeyEvent

from app.state import ViewState
from app.views.colors import HIGHLIGHT, PLANE_COLOURS, label_lut
from fdif_core.grid import Grid

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


@dataclass(frozen=True)
class Orientation:
    """How a view cuts the volume: the array axis it cuts across and the axes of its rows and
    columns (0 z, 1 y, 2 x), with the views whose planes its crosshair lines show."""

    name: str
    axis: int
    rows: int
    cols: int
    row_line: str  # the view whose plane the horizontal line is
    col_line: str  # the view whose plane the vertical line is


ORIENTATIONS = {
    "axial": Orientation("axial", 0, 1, 2, "coronal", "sagittal"),
    "coronal": Orientation("coronal", 1, 0, 2, "axial", "sagittal"),
    "sagittal": Orientation("sagittal", 2, 0, 1, "axial", "coronal"),
}
AXIS_NAMES = ("z", "y", "x")
PAGE_STEP = 5
WL_SENSITIVITY = 1.0  # grey values per pixel of right-drag


def cut(volume: np.ndarray, orientation: Orientation, index: int) -> np.ndarray:
    """The 2D cut of ``volume`` at ``index``, rows and columns as the view shows them."""
    plane = np.take(volume, index, axis=orientation.axis)
    return plane if orientation.rows < orientation.cols else plane.T


def outline(labels: np.ndarray) -> np.ndarray:
    """``labels`` kept only where a 4-neighbour has another label (the outline of each label)."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    return np.where(edge, labels, 0)


class _SliceBox(pg.ViewBox):
    """A ViewBox whose mouse gestures drive the slice view instead of pan and zoom."""

    def __init__(self, owner: SliceView) -> None:
        super().__init__(lockAspect=True, enableMenu=False, invertY=False)
        self.owner = owner
        self._wl_start: tuple[float, float] | None = None

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - Qt's name
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.owner.move_crosshair_to(self.mapSceneToView(ev.scenePos()))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        button = ev.button()
        if button == Qt.MouseButton.LeftButton:
            ev.accept()
            self.owner.move_crosshair_to(self.mapSceneToView(ev.scenePos()))
        elif button == Qt.MouseButton.RightButton:
            ev.accept()
            state = self.owner.state
            if ev.isStart() or self._wl_start is None:
                self._wl_start = (state.window, state.level)
            delta = ev.screenPos() - ev.buttonDownScreenPos()
            window, level = self._wl_start
            state.set_window(window + delta.x() * WL_SENSITIVITY, level - delta.y() * WL_SENSITIVITY)
            if ev.isFinish():
                self._wl_start = None
        elif button == Qt.MouseButton.MiddleButton:
            super().mouseDragEvent(ev, axis)  # pan
        else:
            ev.ignore()

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)  # zoom
            return
        ev.accept()
        steps = 1 if ev.delta() > 0 else -1
        self.owner.step(steps)


class SliceView(pg.GraphicsView):
    """One slice view. ``hovered`` carries the readout under the cursor."""

    hovered = pyqtSignal(str)

    def __init__(self, name: str, state: ViewState, parent=None) -> None:
        super().__init__(parent, background="k")
        self.orientation = ORIENTATIONS[name]
        self.state = state
        self.grid: Grid | None = None
        self.volumes: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}
        self._lut = label_lut()
        self.box = _SliceBox(self)
        self.setCentralItem(self.box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.label_item = pg.ImageItem(axisOrder="row-major")
        self.highlight_item = pg.ImageItem(axisOrder="row-major")
        for item in (self.image_item, self.label_item, self.highlight_item):
            self.box.addItem(item)
        o = self.orientation
        self.row_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(PLANE_COLOURS[o.row_line], width=1))
        self.col_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(PLANE_COLOURS[o.col_line], width=1))
        for line in (self.row_line, self.col_line):
            self.box.addItem(line, ignoreBounds=True)
        self.readout = ""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        state.crosshair_changed.connect(self.refresh)
        state.window_changed.connect(self._apply_window)
        state.overlay_changed.connect(self._draw_labels)
        state.labels_changed.connect(self._update_lut)
        state.highlight_changed.connect(self._draw_highlight)

    # -- data ------------------------------------------------------------------------------
    def set_volumes(self, grid: Grid, image: np.ndarray, label: np.ndarray,
                    sdf: np.ndarray | None = None, owner: np.ndarray | None = None,
                    names: dict[int, str] | None = None) -> None:
        """Show new arrays (all ``(D, H, W)``: the image, its labels, and optionally the signed
        distance and the object each voxel's label comes from, for the readout and the
        highlight); ``names`` names label values. The view range resets with a new grid."""
        new_grid = self.grid is None or grid.shape != self.grid.shape
        self.grid = grid
        self.volumes = {"image": image, "label": label}
        for key, array in (("sdf", sdf), ("owner", owner)):
            if array is not None:
                self.volumes[key] = array
        self.names = dict(names or {})
        top = int(label.max()) if label.size else 0
        if top >= len(self._lut):
            self._update_lut(size=top + 1)
        self.refresh()
        if new_grid:
            self.box.autoRange(padding=0.02)

    @property
    def index(self) -> int:
        """The slice shown (voxel index along the cut axis)."""
        return self.state.crosshair[self.orientation.axis]

    def current(self, name: str) -> np.ndarray:
        """The 2D cut of volume ``name`` shown now."""
        return cut(self.volumes[name], self.orientation, self.index)

    def refresh(self) -> None:
        if not self.volumes:
            return
        self.image_item.setImage(self.current("image"), levels=self.state.levels, autoLevels=False)
        self._draw_labels()
        self._draw_highlight()
        o = self.orientation
        self.row_line.setPos(self.state.crosshair[o.rows] + 0.5)
        self.col_line.setPos(self.state.crosshair[o.cols] + 0.5)

    def _apply_window(self) -> None:
        self.image_item.setLevels(self.state.levels)

    def _draw_labels(self) -> None:
        if not self.volumes:
            return
        state = self.state
        self.label_item.setVisible(state.overlay_visible)
        labels = self.current("label")
        if state.overlay_outline:
            labels = outline(labels)
        self.label_item.setImage(self._lut[labels], autoLevels=False, levels=(0, 255))
        self.label_item.setOpacity(state.overlay_opacity)

    def _update_lut(self, size: int | None = None) -> None:
        """The overlay's colours: hidden labels transparent."""
        self._lut = label_lut(max(size or len(self._lut), 256))
        hidden = [v for v in self.state.hidden_labels if v < len(self._lut)]
        self._lut[hidden, 3] = 0
        self._draw_labels()

    def _draw_highlight(self) -> None:
        """The outline of the highlighted object's voxels in this slice."""
        position = self.state.highlight
        visible = bool(position) and "owner" in self.volumes
        self.highlight_item.setVisible(visible)
        if not visible:
            return
        held = outline((self.current("owner") == position).astype(np.uint8))
        colour = np.zeros((2, 4), dtype=np.uint8)
        colour[1] = (*QColor(HIGHLIGHT).getRgb()[:3], 255)
        self.highlight_item.setImage(colour[held], autoLevels=False, levels=(0, 255))

    # -- interaction -----------------------------------------------------------------------
    def voxel_at(self, point: QPointF) -> tuple[int, int, int] | None:
        """The voxel index ``(z, y, x)`` under view coordinates ``point`` (None off the grid)."""
        if self.grid is None:
            return None
        o = self.orientation
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        shape = self.grid.shape
        if not (0 <= row < shape[o.rows] and 0 <= col < shape[o.cols]):
            return None
        index = [0, 0, 0]
        index[o.axis], index[o.rows], index[o.cols] = self.index, row, col
        return tuple(index)

    def move_crosshair_to(self, point: QPointF) -> None:
        voxel = self.voxel_at(point)
        if voxel is not None:
            self.state.set_crosshair(voxel)

    def step(self, delta: int) -> None:
        self.state.step(self.orientation.axis, delta)

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802
        steps = {Qt.Key.Key_Up: 1, Qt.Key.Key_Right: 1, Qt.Key.Key_Down: -1, Qt.Key.Key_Left: -1,
                 Qt.Key.Key_PageUp: PAGE_STEP, Qt.Key.Key_PageDown: -PAGE_STEP}
        if ev.key() in steps:
            self.step(steps[ev.key()])
            ev.accept()
        else:
            super().keyPressEvent(ev)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        point = self.box.mapSceneToView(scene_pos)
        voxel = self.voxel_at(point)
        if voxel is None:
            return
        from PyQt6.QtWidgets import QApplication

        if QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.state.set_crosshair(voxel)
        self.readout = self.describe(voxel)
        self.hovered.emit(self.readout)

    def describe(self, voxel: tuple[int, int, int]) -> str:
        """The readout of one voxel: world position, intensity, label (and its name), and the
        signed distance or the object the label comes from, where the view has them."""
        grid = self.grid
        world = [grid.start[a] + voxel[a] * grid.step[a] for a in range(3)]
        v = {name: array[voxel] for name, array in self.volumes.items()}
        label = int(v["label"])
        text = (f"x {world[2]:.1f}  y {world[1]:.1f}  z {world[0]:.1f}   "
                f"intensity {int(v['image'])}   label {label}")
        if label in self.names:
            text += f" ({self.names[label]})"
        if "owner" in v and int(v["owner"]):
            text += f"   object {int(v['owner'])}"
        if "sdf" in v:
            text += f"   distance {float(v['sdf']):.3f}"
        return text

    def title(self) -> str:
        """``"Axial  z 48 / 96"``: the view and its slice."""
        if self.grid is None:
            return self.orientation.name.capitalize()
        axis = self.orientation.axis
        return (f"{self.orientation.name.capitalize()}  {AXIS_NAMES[axis]} "
                f"{self.index + 1} / {self.grid.shape[axis]}")

    def title_colour(self) -> QColor:
        return QColor(PLANE_COLOURS[self.orientation.name])
