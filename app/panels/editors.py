"""Parameter editors made from the core's :class:`~fdif_core.nodes.registry.ParamSpec`.

:func:`editor_for` is the one factory for every node kind, so a newly registered kind gets
editors without studio code: numbers are a slider with a spin box (range and unit from the
spec), integers a spin box, choices a combo box, flags a check box and text (a formula) a line
edit validated as you type. A parameter that names a class parameter gets a
:class:`ReferenceEditor`. Every editor emits ``edited(value, merge_key)``; the key is the same
for all changes of one slider drag (so they merge into one undo entry) and ``None`` otherwise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from fdif_core.nodes.registry import ParamSpec

UNIT_SUFFIX = {"voxel": "vox", "radian": "rad", "voxel^-1": "/vox", "ratio": "", "count": "",
               "seed": "", "choice": "", "flag": "", "text": ""}
INT_LIMIT = 2**31 - 1
_drags = itertools.count(1)


def slider_range(spec: ParamSpec, value: float, span: float) -> tuple[float, float]:
    """The slider's range: the spec's limits where it has them, else ``span`` (the grid size)
    on the open side, always wide enough to hold ``value``."""
    lo = spec.minimum if spec.minimum is not None else (-span if spec.unit == "voxel" else -1.0)
    hi = spec.maximum if spec.maximum is not None else (span if spec.unit == "voxel" else 1.0)
    if spec.unit == "voxel^-1" and spec.maximum is None:
        hi = 1.0
    if not lo <= value <= hi and math.isfinite(value):
        room = max(abs(value), 1.0)
        lo, hi = min(lo, value - 0.5 * room), max(hi, value + 0.5 * room)
    return float(lo), float(hi)


class ParamEditor(QWidget):
    """Base of the editors: they emit ``edited(value, merge_key)`` and define
    ``set_value(value)``, which shows a value without emitting."""

    edited = pyqtSignal(object, object)


class NumberEditor(ParamEditor):
    """A float: slider and spin box with the spec's range and unit."""

    def __init__(self, spec: ParamSpec, value: float, span: float, parent=None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setDecimals(3)
        self.slider.setRange(*slider_range(spec, float(value), span))
        self.slider.setValue(float(value))
        self._drag: int | None = None
        self.slider.sliderPressed.connect(self._start_drag)
        self.slider.sliderReleased.connect(self._end_drag)
        self.slider.valueChanged.connect(self._changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        suffix = UNIT_SUFFIX.get(spec.unit, "")
        if suffix:
            layout.addWidget(QLabel(suffix))

    def _start_drag(self) -> None:
        self._drag = next(_drags)

    def _end_drag(self) -> None:
        self._drag = None

    def _changed(self, value: float) -> None:
        key = (self.spec.name, self._drag) if self._drag is not None else None
        self.edited.emit(float(value), key)

    def set_value(self, value: float) -> None:
        self.slider.blockSignals(True)
        lo, hi = slider_range(self.spec, float(value), 0.0)
        if not self.slider.minimum() <= value <= self.slider.maximum():
            self.slider.setRange(min(lo, self.slider.minimum()), max(hi, self.slider.maximum()))
        self.slider.setValue(float(value))
        self.slider.blockSignals(False)


class IntegerEditor(ParamEditor):
    """An integer (count or seed): a spin box; a seed also gets a button that draws one."""

    def __init__(self, spec: ParamSpec, value: int, parent=None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.spin = QSpinBox()
        lo = int(spec.minimum) if spec.minimum is not None else -INT_LIMIT
        hi = int(min(spec.maximum, INT_LIMIT)) if spec.maximum is not None else INT_LIMIT
        self.spin.setRange(lo, hi)
        self.spin.setValue(int(value))
        self.spin.valueChanged.connect(lambda v: self.edited.emit(int(v), None))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.spin, 1)
        if spec.unit == "seed":
            button = QPushButton("Draw")
            button.setToolTip("Draw a new seed")
            button.clicked.connect(self._draw)
            layout.addWidget(button)

    def _draw(self) -> None:
        import random

        self.spin.setValue(random.randrange(self.spin.minimum(), self.spin.maximum()))

    def set_value(self, value: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(int(value))
        self.spin.blockSignals(False)


class ChoiceEditor(ParamEditor):
    """One of the spec's choices."""

    def __init__(self, spec: ParamSpec, value: str, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.addItems(list(spec.choices))
        self.combo.setCurrentText(str(value))
        self.combo.currentTextChanged.connect(lambda v: self.edited.emit(v, None))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)

    def set_value(self, value: str) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentText(str(value))
        self.combo.blockSignals(False)


class FlagEditor(ParamEditor):
    """0 or 1."""

    def __init__(self, spec: ParamSpec, value: int, parent=None) -> None:
        super().__init__(parent)
        self.check = QCheckBox(spec.description)
        self.check.setChecked(bool(value))
        self.check.toggled.connect(lambda on: self.edited.emit(int(on), None))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check)

    def set_value(self, value: int) -> None:
        self.check.blockSignals(True)
        self.check.setChecked(bool(value))
        self.check.blockSignals(False)


class TextEditor(ParamEditor):
    """Text such as a formula: checked as you type by ``validate`` (returns an error or
    ``None``), applied when it is valid and you press Enter or leave the field."""

    def __init__(self, value: str, validate: Callable[[str], str | None], parent=None) -> None:
        super().__init__(parent)
        self.validate = validate
        self.line = QLineEdit(str(value))
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff6b6b;")
        self.error.hide()
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.check)
        self.line.textEdited.connect(lambda _: self._timer.start())
        self.line.editingFinished.connect(self.commit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line)
        layout.addWidget(self.error)
        self._applied = str(value)

    def check(self) -> str | None:
        """Validate the text now; show and return the error."""
        problem = self.validate(self.line.text())
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        self.line.setStyleSheet("border: 1px solid #ff6b6b;" if problem else "")
        return problem

    def commit(self) -> None:
        text = self.line.text()
        if text != self._applied and self.check() is None:
            self._applied = text
            self.edited.emit(text, None)

    def set_value(self, value: str) -> None:
        self._applied = str(value)
        self.line.setText(str(value))
        self.check()


class ReferenceEditor(ParamEditor):
    """A parameter that names a class parameter: shows the name and the drawn value; *Fix*
    replaces the reference by the drawn number, *Edit* jumps to the class parameter."""

    jump = pyqtSignal(str)

    def __init__(self, name: str, drawn: float | None, parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self.label = QLabel()
        self.fix = QPushButton("Fix")
        self.fix.setToolTip("Replace the class parameter by its drawn value")
        self.fix.clicked.connect(self._fix)
        edit = QPushButton("Edit")
        edit.setToolTip(f"Edit the class parameter {name!r}")
        edit.clicked.connect(lambda: self.jump.emit(self.name))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.fix)
        layout.addWidget(edit)
        self.drawn: float | None = None
        self.set_drawn(drawn)

    def set_drawn(self, drawn: float | None) -> None:
        self.drawn = drawn
        shown = "…" if drawn is None else f"{drawn:.4g}"
        self.label.setText(f"= <b>{self.name}</b> &nbsp;(drawn {shown})")
        self.fix.setEnabled(drawn is not None)

    def _fix(self) -> None:
        if self.drawn is not None:
            self.edited.emit(self.drawn, None)

    def set_value(self, value: Any) -> None:
        """References are replaced, not edited in place."""


def editor_for(spec: ParamSpec, value: Any, span: float, class_params: set[str],
               validate_text: Callable[[str], str | None], drawn: dict[str, float]) -> ParamEditor:
    """The editor of one node parameter.

    Parameters
    ----------
    spec : ParamSpec
        The parameter's metadata.
    value : any
        Its value in the class (a number, a choice, text or a class parameter's name).
    span : float
        Slider half-range for lengths without a maximum (the grid size).
    class_params : set of str
        Names of the class's parameters (a string among them is a reference).
    validate_text : callable
        For text parameters: the error a text would give, or ``None``.
    drawn : dict
        The current instance's class parameter values.
    """
    if isinstance(value, str) and spec.unit != "text" and not spec.choices and value in class_params:
        return ReferenceEditor(value, drawn.get(value))
    if spec.unit == "text":
        return TextEditor(value, validate_text)
    if spec.choices:
        return ChoiceEditor(spec, value)
    if spec.unit == "flag":
        return FlagEditor(spec, value)
    if spec.integer:
        return IntegerEditor(spec, value)
    return NumberEditor(spec, value, span)
