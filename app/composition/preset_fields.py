"""Small editors of preset fields: spin boxes whose arrow steps merge into one undo entry,
the grid (three axes, optionally locked to a cube), objects per sample (min, max) and the
probability of no displacement.

Every editor emits ``edited(value, merge_key)`` only for a person's change and shows a value
with ``set_value(value)`` without emitting. Steps of one gesture (an arrow held down, clicks,
wheel turns or arrow keys less than :data:`GESTURE_GAP_S` apart) share a merge key, so they
become one undo entry; a typed value (applied on Enter or when the field loses focus) has the
key ``None`` and is an entry of its own.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

GESTURE_GAP_S = 0.8
INT_MAX = 2**31 - 1
_gestures = itertools.count(1)


class _Steps:
    """What both spin boxes share: gestures of steps and emitting only a person's changes."""

    def _init_steps(self, name: str) -> None:
        self.name = name
        self._stepping = False
        self._gesture = 0
        self._last_step = -GESTURE_GAP_S
        self.setKeyboardTracking(False)  # typing applies on Enter or leaving the field
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not by the wheel: see wheelEvent
        self.valueChanged.connect(self._changed)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        now = time.monotonic()
        if now - self._last_step > GESTURE_GAP_S:
            self._gesture = next(_gestures)
        self._last_step = now
        self._stepping = True
        try:
            super().stepBy(steps)
        finally:
            self._stepping = False

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Turn the value only once the field has focus: a wheel over a table of spin boxes
        scrolls the table instead of changing the weight under the cursor."""
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()

    def _changed(self, value) -> None:
        self.edited.emit(value, (self.name, self._gesture) if self._stepping else None)

    def set_value(self, value) -> None:
        self.blockSignals(True)
        self.setValue(value)
        self.blockSignals(False)


class StepSpinBox(_Steps, QSpinBox):
    """An integer field; ``edited(int, merge_key)``."""

    edited = pyqtSignal(object, object)

    def __init__(self, name: str, lo: int = 0, hi: int = INT_MAX, tip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(lo, hi)
        self.setToolTip(tip)
        self._init_steps(name)


class StepDoubleSpinBox(_Steps, QDoubleSpinBox):
    """A non-negative number such as a weight or a probability; ``edited(float, merge_key)``."""

    edited = pyqtSignal(object, object)

    def __init__(self, name: str, hi: float, step: float, decimals: int = 3, tip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0.0, hi)
        self.setSingleStep(step)
        self.setDecimals(decimals)
        self.setToolTip(tip)
        self._init_steps(name)


def _row(*widgets: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return layout


class GridEditor(QWidget):
    """D × H × W in voxels; with *cube* ticked, changing one axis changes all three."""

    edited = pyqtSignal(object, object)

    def __init__(self, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.axes = [StepSpinBox("grid", 8, 1024, f"{tip} ({axis})") for axis in ("D", "H", "W")]
        self.cube = QCheckBox("cube")
        self.cube.setToolTip("Keep the grid a cube: changing one axis changes all three")
        times = [QLabel("×") for _ in range(2)]
        layout = _row(self.axes[0], times[0], self.axes[1], times[1], self.axes[2], self.cube)
        layout.addStretch(1)
        self.setLayout(layout)
        for axis, spin in enumerate(self.axes):
            spin.edited.connect(lambda v, key, a=axis: self._edited(a, v, key))

    def value(self) -> list[int]:
        return [spin.value() for spin in self.axes]

    def _edited(self, axis: int, value: int, key: Any) -> None:
        grid = [value] * 3 if self.cube.isChecked() else self.value()
        grid[axis] = value
        self.edited.emit(grid, key)

    def set_value(self, grid: list[int]) -> None:
        """Show ``grid``; a grid that changed ticks *cube* exactly when it is a cube."""
        grid = [int(n) for n in grid]
        if grid != self.value():
            self.cube.setChecked(len(set(grid)) == 1)
        for spin, n in zip(self.axes, grid, strict=True):
            spin.set_value(n)


class RangeEditor(QWidget):
    """Objects per sample: min and max (both included)."""

    edited = pyqtSignal(object, object)

    def __init__(self, name: str, lo: int, hi: int, tip: str, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.low = StepSpinBox(name, lo, hi, f"{tip} (min)")
        self.high = StepSpinBox(name, lo, hi, f"{tip} (max)")
        layout = _row(QLabel("min"), self.low, QLabel("max"), self.high)
        layout.addStretch(1)
        self.setLayout(layout)
        self.low.edited.connect(lambda v, key: self.edited.emit([v, self.high.value()], key))
        self.high.edited.connect(lambda v, key: self.edited.emit([self.low.value(), v], key))

    def set_value(self, pair: list[int]) -> None:
        self.low.set_value(int(pair[0]))
        self.high.set_value(int(pair[1]))


class NoneProbabilityEditor(QWidget):
    """The probability of no displacement: ``None`` (as the reference) or a value 0..1."""

    edited = pyqtSignal(object, object)

    def __init__(self, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reference = QCheckBox("as the reference: 1/(|D|+1)")
        self.reference.setToolTip(tip)
        self.value = StepDoubleSpinBox("none_probability", 1.0, 0.05, 3, tip)
        layout = _row(self.reference, self.value)
        layout.addStretch(1)
        self.setLayout(layout)
        self.reference.toggled.connect(
            lambda on: self.edited.emit(None if on else self.value.value(), None))
        self.value.edited.connect(self.edited)

    def set_value(self, probability: float | None, displacements: int = 0) -> None:
        """Show ``probability``; as the reference it is 1/(|D|+1) for ``displacements`` = |D|
        ("none" is one more choice with the mean weight), which the value box then shows."""
        share = 1.0 / (displacements + 1)
        self.reference.blockSignals(True)
        self.reference.setChecked(probability is None)
        self.reference.setText(f"as the reference: 1/({displacements}+1)")
        self.reference.blockSignals(False)
        self.value.setEnabled(probability is not None)
        self.value.set_value(share if probability is None else float(probability))
