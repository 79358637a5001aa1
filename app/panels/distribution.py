"""The editor of one class parameter: a number, a product expression or a distribution.

The form is chosen in a combo box (the core converts a value between forms, keeping its range
and scale); uniform and integer ranges are range sliders, a normal has mean, sd and optional
truncation, a choice a list of values and weights. The instance's drawn value is shown beside.
Edits emit ``edited(value, merge_key)`` with the value as the class file holds it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleRangeSlider

from fdif_core.editing import PARAM_FORMS, convert_param, param_form

_drags = itertools.count(1)
BIG = 1e9


def range_bounds(low: float, high: float) -> tuple[float, float]:
    """Slider limits around ``[low, high]``: from 0 (or below a negative low) to twice the
    span above ``high``, so both handles can move either way."""
    span = max(high - low, abs(high), abs(low), 1e-3)
    return (min(0.0, low - span) if low < 0 else 0.0), high + span


def _spin(value: float, minimum: float = -BIG, maximum: float = BIG, decimals: int = 4) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(minimum, maximum)
    spin.setDecimals(decimals)
    spin.setValue(value)
    spin.setKeyboardTracking(False)
    return spin


class DistributionEditor(QWidget):
    """Editor of class parameter ``name``; ``validate(value)`` returns the core's error or
    ``None`` and is asked before an edit is emitted."""

    edited = pyqtSignal(object, object)

    def __init__(self, name: str, value: Any, validate: Callable[[Any], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name, self.validate = name, validate
        self.value = value
        self.form = QComboBox()
        self.form.addItems(list(PARAM_FORMS))
        self.form.setToolTip("number, product expression (e.g. 0.2*min_grid) or distribution")
        self.form.activated.connect(self._form_chosen)
        self.drawn = QLabel()
        self.drawn.setStyleSheet("color: #9aa4b1;")
        self.error = QLabel()
        self.error.setStyleSheet("color: #ff6b6b;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.fields = QWidget()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"<b>{name}</b>")
        title.setMinimumWidth(70)
        top.addWidget(title)
        top.addWidget(self.form)
        top.addWidget(self.drawn, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 6)
        layout.addLayout(top)
        layout.addWidget(self.fields)
        layout.addWidget(self.error)
        self._drag: int | None = None
        self._build(value)

    # -- building --------------------------------------------------------------------------
    def _build(self, value: Any) -> None:
        """(Re)make the fields for the form of ``value``."""
        self.value = value
        form = param_form(value)
        self.form.setCurrentText(form)
        old = self.fields.layout()
        if old is not None:
            QWidget().setLayout(old)  # the old layout and its widgets go with a throwaway parent
        layout = QFormLayout(self.fields)
        layout.setContentsMargins(12, 0, 0, 0)
        self.widgets: dict[str, QWidget] = {}
        getattr(self, f"_build_{form}")(layout, value)
        if isinstance(value, dict) and form != "choice" or form == "choice":
            scale = QLineEdit(value.get("scale") or "")
            scale.setPlaceholderText("scale: e.g. min_grid, 0.5*min_dh, r")
            scale.editingFinished.connect(self._emit)
            layout.addRow("× scale", scale)
            self.widgets["scale"] = scale

    def _build_number(self, layout: QFormLayout, value: float) -> None:
        spin = _spin(float(value))
        spin.valueChanged.connect(self._emit)
        layout.addRow("value", spin)
        self.widgets["value"] = spin

    def _build_expression(self, layout: QFormLayout, value: str) -> None:
        line = QLineEdit(value)
        line.setPlaceholderText("numbers and names with * and /, e.g. 0.2*min_grid")
        line.editingFinished.connect(self._emit)
        layout.addRow("product", line)
        self.widgets["value"] = line

    def _build_constant(self, layout: QFormLayout, value: dict) -> None:
        self._build_number(layout, value["value"])

    def _build_uniform(self, layout: QFormLayout, value: dict) -> None:
        self._range_slider(layout, value["low"], value["high"], decimals=4)

    def _build_randint(self, layout: QFormLayout, value: dict) -> None:
        low, high = int(value["low"]), int(value["high"])
        if high - low > 10000:  # seeds: a slider cannot hold such a range usefully
            for key in ("low", "high"):
                spin = _spin(float(value[key]), -2.0**62, 2.0**62, decimals=0)
                spin.valueChanged.connect(self._emit)
                layout.addRow(key, spin)
                self.widgets[key] = spin
            return
        self._range_slider(layout, low, high, decimals=0)

    def _range_slider(self, layout: QFormLayout, low: float, high: float, decimals: int) -> None:
        slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        slider.setDecimals(decimals)
        slider.setRange(*range_bounds(low, high))
        slider.setValue((low, high))
        slider.sliderPressed.connect(self._start_drag)
        slider.sliderReleased.connect(self._end_drag)
        slider.valueChanged.connect(self._emit)
        layout.addRow("range", slider)
        self.widgets["range"] = slider

    def _build_normal(self, layout: QFormLayout, value: dict) -> None:
        for key, default in (("mean", 0.0), ("std", 1.0)):
            spin = _spin(float(value.get(key, default)), 1e-6 if key == "std" else -BIG)
            spin.valueChanged.connect(self._emit)
            layout.addRow("sd" if key == "std" else key, spin)
            self.widgets[key] = spin
        for key in ("low", "high"):
            bound = value.get(key)
            line = QLineEdit("" if bound is None or not math.isfinite(bound) else f"{bound:g}")
            line.setPlaceholderText("unbounded")
            line.editingFinished.connect(self._emit)
            layout.addRow(f"truncate {key}", line)
            self.widgets[key] = line

    def _build_choice(self, layout: QFormLayout, value: dict) -> None:
        values = QLineEdit(", ".join(f"{v:g}" for v in value["values"]))
        values.setPlaceholderText("values, separated by commas")
        weights = QLineEdit(", ".join(f"{w:g}" for w in value.get("weights") or []))
        weights.setPlaceholderText("weights (optional)")
        for line in (values, weights):
            line.editingFinished.connect(self._emit)
        layout.addRow("values", values)
        layout.addRow("weights", weights)
        self.widgets.update(values=values, weights=weights)

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> Any:
        """The value the fields describe (``ValueError`` for text that is not a number)."""
        form, w = self.form.currentText(), self.widgets
        scale = {"scale": w["scale"].text().strip()} if "scale" in w and w["scale"].text().strip() \
            else {}
        if form == "number":
            return float(w["value"].value())
        if form == "expression":
            return w["value"].text().strip()
        if form == "constant":
            return {"dist": "constant", "value": float(w["value"].value()), **scale}
        if form in ("uniform", "randint") and "range" in w:
            low, high = w["range"].value()
            if form == "randint":
                low, high = int(round(low)), int(round(high))
            return {"dist": form, "low": low, "high": high, **scale}
        if form == "randint":
            return {"dist": "randint", "low": int(w["low"].value()), "high": int(w["high"].value()),
                    **scale}
        if form == "normal":
            out = {"dist": "normal", "mean": float(w["mean"].value()), "std": float(w["std"].value())}
            for key in ("low", "high"):
                text = w[key].text().strip()
                if text:
                    out[key] = float(text)
            return {**out, **scale}
        values = [float(v) for v in w["values"].text().split(",") if v.strip()]
        weights = [float(v) for v in w["weights"].text().split(",") if v.strip()]
        return {"dist": "choice", "values": values, **({"weights": weights} if weights else {}),
                **scale}

    def _emit(self, *_: Any) -> None:
        try:
            value = self.read()
        except ValueError as err:
            self._show_error(f"not a number: {err.args[0].split(':')[-1].strip()}")
            return
        problem = self.validate(value)
        self._show_error(problem)
        if problem is None and value != self.value:
            self.value = value
            key = (self.name, self._drag) if self._drag is not None else None
            self.edited.emit(value, key)

    def _show_error(self, problem: str | None) -> None:
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))

    def _form_chosen(self, _: int) -> None:
        form = self.form.currentText()
        if form == param_form(self.value):
            return
        value = convert_param(self.value, form)
        problem = self.validate(value)
        self._show_error(problem)
        if problem is None:
            self._build(value)
            self.edited.emit(value, None)
        else:
            self.form.setCurrentText(param_form(self.value))

    def _start_drag(self) -> None:
        self._drag = next(_drags)

    def _end_drag(self) -> None:
        self._drag = None

    # -- showing ---------------------------------------------------------------------------
    def set_value(self, value: Any) -> None:
        """Show ``value`` (after an undo, say) without emitting."""
        if value == self.value:
            return
        self.blockSignals(True)
        self._build(value)
        self.blockSignals(False)

    def set_drawn(self, drawn: float | None) -> None:
        self.drawn.setText("" if drawn is None else f"drawn {drawn:.4g}")
