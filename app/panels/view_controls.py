"""The bar above the views: label overlay (show, opacity, outline or fill) and window/level
(value, presets, reset, save the current one as a preset)."""

from __future__ import annotations

from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QSlider,
    QToolButton,
    QWidget,
)

from app.state import FULL_WINDOW, IMAGE_WINDOW, ViewState

BUILTIN_PRESETS = {"Image range (128 / 64)": IMAGE_WINDOW, "Full uint8 (256 / 127.5)": FULL_WINDOW,
                   "Inside contrast (64 / 96)": (64.0, 96.0)}
PRESETS_KEY = "views/window_presets"


def read_presets(settings: QSettings) -> dict[str, tuple[float, float]]:
    """The user's saved window/level presets (malformed entries are skipped)."""
    saved = settings.value(PRESETS_KEY, {}) or {}
    presets = {}
    if isinstance(saved, dict):
        for name, value in saved.items():
            try:
                window, level = (float(v) for v in value)
            except (TypeError, ValueError):
                continue
            presets[str(name)] = (window, level)
    return presets


class ViewControls(QWidget):
    """Widgets bound to a :class:`~app.state.ViewState`; presets persist in ``settings``."""

    def __init__(self, state: ViewState, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.overlay = QCheckBox("Labels")
        self.overlay.setToolTip("Show the label overlay (O)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setFixedWidth(100)
        self.opacity.setToolTip("Label overlay opacity")
        self.outline = QCheckBox("Outline")
        self.outline.setToolTip("Draw labels as outlines instead of filled (Shift+O)")
        self.window_label = QLabel()
        self.window_label.setToolTip("Window / level: right-drag in a slice to change")
        self.presets = QComboBox()
        self.presets.setToolTip("Window/level presets")
        self.presets.setMinimumContentsLength(18)
        self.reset = QToolButton()
        self.reset.setText("Reset W/L")
        self.reset.setToolTip("Window 128, level 64: the range the composer writes (Ctrl+R)")
        self.save_preset = QToolButton()
        self.save_preset.setText("Save W/L…")
        self.save_preset.setToolTip("Keep the current window/level as a named preset")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for widget in (self.overlay, QLabel("Opacity"), self.opacity, self.outline):
            layout.addWidget(widget)
        layout.addSpacing(16)
        for widget in (QLabel("W/L"), self.window_label, self.presets, self.reset, self.save_preset):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.overlay.toggled.connect(lambda on: state.set_overlay(visible=on))
        self.opacity.valueChanged.connect(lambda v: state.set_overlay(opacity=v / 100))
        self.outline.toggled.connect(lambda on: state.set_overlay(outline=on))
        self.presets.activated.connect(self._apply_preset)
        self.reset.clicked.connect(lambda: state.set_window(*IMAGE_WINDOW))
        self.save_preset.clicked.connect(self.ask_preset_name)
        state.overlay_changed.connect(self.refresh)
        state.window_changed.connect(self.refresh)
        self._fill_presets()
        self.refresh()

    def all_presets(self) -> dict[str, tuple[float, float]]:
        return {**BUILTIN_PRESETS, **read_presets(self.settings)}

    def _fill_presets(self) -> None:
        self.presets.clear()
        self.presets.addItem("Presets…")
        for name, (window, level) in self.all_presets().items():
            self.presets.addItem(name, (window, level))

    def _apply_preset(self, index: int) -> None:
        value = self.presets.itemData(index)
        if value is not None:
            self.state.set_window(*value)
        self.presets.setCurrentIndex(0)

    def add_preset(self, name: str) -> None:
        """Save the current window/level under ``name`` (replacing one of that name)."""
        name = name.strip()
        if not name:
            return
        saved = read_presets(self.settings)
        saved[name] = (self.state.window, self.state.level)
        self.settings.setValue(PRESETS_KEY, {k: list(v) for k, v in saved.items()})
        self._fill_presets()

    def ask_preset_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save window/level",
                                        f"Name for window {self.state.window:g}, "
                                        f"level {self.state.level:g}:")
        if ok:
            self.add_preset(name)

    def refresh(self) -> None:
        s = self.state
        for widget in (self.overlay, self.opacity, self.outline):
            widget.blockSignals(True)
        self.overlay.setChecked(s.overlay_visible)
        self.opacity.setValue(round(s.overlay_opacity * 100))
        self.outline.setChecked(s.overlay_outline)
        for widget in (self.overlay, self.opacity, self.outline):
            widget.blockSignals(False)
        self.window_label.setText(f"{s.window:.0f} / {s.level:.0f}")
