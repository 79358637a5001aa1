"""The studio's look: Qt's Fusion style with a dark palette (the convention of 3D Slicer,
napari and ITK-SNAP, where dark surroundings keep the images readable)."""

from __future__ import annotations

from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

_COLOURS = {
    QPalette.ColorRole.Window: "#2b2f36",
    QPalette.ColorRole.WindowText: "#e3e6ea",
    QPalette.ColorRole.Base: "#1f2329",
    QPalette.ColorRole.AlternateBase: "#2f343c",
    QPalette.ColorRole.ToolTipBase: "#3a404a",
    QPalette.ColorRole.ToolTipText: "#e3e6ea",
    QPalette.ColorRole.Text: "#e3e6ea",
    QPalette.ColorRole.Button: "#353a42",
    QPalette.ColorRole.ButtonText: "#e3e6ea",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#3d7bd9",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa6ff",
    QPalette.ColorRole.PlaceholderText: "#8a929c",
}
_DISABLED = {QPalette.ColorRole.Text: "#6c737c", QPalette.ColorRole.ButtonText: "#6c737c",
             QPalette.ColorRole.WindowText: "#6c737c"}


def apply_theme(app: QApplication) -> None:
    """Fusion style and the dark palette on ``app``."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _COLOURS.items():
        palette.setColor(role, QColor(colour))
    for role, colour in _DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    app.setPalette(palette)
