"""Evented state shared by the studio's views and panels (no computation here).

:class:`InstanceState` holds how the current class's instance is drawn (seed, grid, placement,
displacement, mapper) as the core's :class:`~fdif_core.preview.InstanceSettings`;
:class:`ViewState` holds what the slice views show: the crosshair, window/level and the label
overlay. Views and panels change these and listen to them; they never ask each other.
"""

from __future__ import annotations

import dataclasses
import random

from PyQt6.QtCore import QObject, pyqtSignal

from fdif_core.preview import InstanceSettings

GRID_SIZES = (64, 96, 128)
FULL_WINDOW = (256.0, 127.5)  # window, level of the whole uint8 range
IMAGE_WINDOW = (128.0, 64.0)  # the range the composer writes (0 .. 128)


class InstanceState(QObject):
    """How the instance is drawn; ``changed`` fires after every real change."""

    changed = pyqtSignal()
    pinned_changed = pyqtSignal(bool)

    def __init__(self, settings: InstanceSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or InstanceSettings()
        self.pinned = False
        self._rng = random.Random()

    def update(self, **fields) -> None:
        """Replace fields of the settings (``ValueError``/``KeyError`` for a value the core
        refuses; the settings then stay as they were)."""
        new = dataclasses.replace(self.settings, **fields)
        if new != self.settings:
            self.settings = new
            self.changed.emit()

    def set_pinned(self, pinned: bool) -> None:
        if pinned != self.pinned:
            self.pinned = pinned
            self.pinned_changed.emit(pinned)

    def reroll(self) -> bool:
        """Draw a new seed unless the seed is pinned; returns whether it changed."""
        if self.pinned:
            return False
        seed = self.settings.seed
        while seed == self.settings.seed:
            seed = self._rng.randrange(2**31)
        self.update(seed=seed)
        return True


class ViewState(QObject):
    """Crosshair (voxel indices z, y, x), window/level and label overlay of the slice views;
    in composition mode also the labels hidden, the opacity of the label surfaces and the
    highlighted object (its position in the sample, from 1; 0 for none)."""

    crosshair_changed = pyqtSignal()
    window_changed = pyqtSignal()
    overlay_changed = pyqtSignal()
    labels_changed = pyqtSignal()
    highlight_changed = pyqtSignal()

    def __init__(self, shape: tuple[int, int, int] = (96, 96, 96), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shape = shape
        self.crosshair = tuple(n // 2 for n in shape)
        self.window, self.level = IMAGE_WINDOW
        self.overlay_visible = True
        self.overlay_opacity = 0.4
        self.overlay_outline = False
        self.hidden_labels: frozenset[int] = frozenset()
        self.surface_opacity = 1.0
        self.highlight = 0

    def set_shape(self, shape: tuple[int, int, int]) -> None:
        """A new grid: the crosshair keeps its relative place."""
        if shape == self.shape:
            return
        old = self.shape
        self.shape = shape
        self.set_crosshair(tuple(int(c * n / o) for c, n, o in zip(self.crosshair, shape, old,
                                                                   strict=True)))

    def set_crosshair(self, index: tuple[int, int, int]) -> None:
        """Move the crosshair, clamped to the grid."""
        clamped = tuple(min(max(int(i), 0), n - 1) for i, n in zip(index, self.shape, strict=True))
        if clamped != self.crosshair:
            self.crosshair = clamped
            self.crosshair_changed.emit()

    def step(self, axis: int, delta: int) -> None:
        """Move the crosshair ``delta`` voxels along array axis ``axis`` (0 z, 1 y, 2 x)."""
        index = list(self.crosshair)
        index[axis] += delta
        self.set_crosshair(tuple(index))

    def set_window(self, window: float, level: float) -> None:
        window = max(float(window), 1.0)
        if (window, float(level)) != (self.window, self.level):
            self.window, self.level = window, float(level)
            self.window_changed.emit()

    @property
    def levels(self) -> tuple[float, float]:
        """Display range ``(level - window / 2, level + window / 2)``."""
        return self.level - self.window / 2, self.level + self.window / 2

    def set_overlay(self, visible: bool | None = None, opacity: float | None = None,
                    outline: bool | None = None) -> None:
        if visible is not None:
            self.overlay_visible = bool(visible)
        if opacity is not None:
            self.overlay_opacity = min(max(float(opacity), 0.0), 1.0)
        if outline is not None:
            self.overlay_outline = bool(outline)
        self.overlay_changed.emit()

    def set_hidden_labels(self, hidden) -> None:
        """Hide the labels in ``hidden`` (in the overlay and in 3D); show every other."""
        hidden = frozenset(int(v) for v in hidden)
        if hidden != self.hidden_labels:
            self.hidden_labels = hidden
            self.labels_changed.emit()

    def set_label_visible(self, value: int, visible: bool) -> None:
        self.set_hidden_labels(self.hidden_labels - {value} if visible
                               else self.hidden_labels | {value})

    def set_surface_opacity(self, opacity: float) -> None:
        opacity = min(max(float(opacity), 0.0), 1.0)
        if opacity != self.surface_opacity:
            self.surface_opacity = opacity
            self.labels_changed.emit()

    def set_highlight(self, position: int) -> None:
        """Highlight object ``position`` (from 1; 0 clears)."""
        if int(position) != self.highlight:
            self.highlight = int(position)
            self.highlight_changed.emit()
