"""The 2 × 2 view grid (3D top left, then axial, coronal, sagittal), any view maximisable."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

VIEW_ORDER = ("3d", "axial", "coronal", "sagittal")


class ViewFrame(QFrame):
    """A view with a header: coloured title and a maximise button."""

    maximise_requested = pyqtSignal(str)

    def __init__(self, name: str, view: QWidget, colour: str, title: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name, self.view = name, view
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(title or name)
        self.title.setStyleSheet(f"color: {colour}; font-weight: bold; padding: 1px 4px;")
        self.info = QLabel()
        self.info.setStyleSheet("color: #9aa4b1; padding: 1px 4px;")
        self.button = QToolButton()
        self.button.setText("⤢")
        self.button.setToolTip("Maximise this view (double-click the title, or Ctrl+1 … Ctrl+4)")
        self.button.setAutoRaise(True)
        self.button.setCheckable(True)
        self.button.clicked.connect(lambda: self.maximise_requested.emit(self.name))
        self.header = QHBoxLayout()
        self.header.setContentsMargins(0, 0, 0, 0)
        self.header.addWidget(self.title)
        self.header.addWidget(self.info, 1)
        self.header.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        layout.addLayout(self.header)
        layout.addWidget(view, 1)

    def add_tool(self, text: str, tip: str, slot) -> QToolButton:
        """A small button in the header, before the maximise button."""
        tool = QToolButton()
        tool.setText(text)
        tool.setToolTip(tip)
        tool.setAutoRaise(True)
        tool.clicked.connect(slot)
        self.header.insertWidget(self.header.count() - 1, tool)
        return tool

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802 - the header area
        if ev.position().y() < self.title.height() + 2:
            self.maximise_requested.emit(self.name)
        else:
            super().mouseDoubleClickEvent(ev)


class ViewGrid(QWidget):
    """Four views in a 2 × 2 grid; :meth:`maximise` shows one alone, again restores the grid."""

    def __init__(self, frames: dict[str, ViewFrame], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames = frames
        self.maximised: str | None = None
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for i, name in enumerate(VIEW_ORDER):
            layout.addWidget(frames[name], i // 2, i % 2)
            frames[name].maximise_requested.connect(self.maximise)

    def maximise(self, name: str | None) -> None:
        """Show only ``name`` (``None``, or the maximised one again: all four)."""
        self.maximised = None if name in (None, self.maximised) else name
        for frame_name, frame in self.frames.items():
            frame.setVisible(self.maximised in (None, frame_name))
            frame.button.setChecked(self.maximised == frame_name)
