"""The log dock: timestamped messages of Python's ``fdif`` logger and its children
(``fdif.studio``: files opened and saved, refused edits, failed previews)."""

from __future__ import annotations

import logging
import time

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QTextCursor
from PyQt6.QtWidgets import QPlainTextEdit

COLOURS = {"info": "#c8ced6", "warning": "#f0c674", "error": "#ff6b6b"}
MAX_BLOCKS = 5000
LOGGER = "fdif"


class _Bridge(QObject):
    message = pyqtSignal(str, str)


class _Handler(logging.Handler):
    """Forwards log records to the dock from any thread (through a queued signal)."""

    def __init__(self, bridge: _Bridge) -> None:
        super().__init__()
        self.bridge = bridge

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else \
            "warning" if record.levelno >= logging.WARNING else "info"
        self.bridge.message.emit(level, record.getMessage())


class LogView(QPlainTextEdit):
    """Read-only log; :meth:`log` appends one line."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_BLOCKS)
        self.lines: list[tuple[str, str]] = []
        self._bridge = _Bridge()
        self._bridge.message.connect(self.log)
        self.handler = _Handler(self._bridge)
        logger = logging.getLogger(LOGGER)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        logger.addHandler(self.handler)

    def log(self, level: str, message: str) -> None:
        """Append ``message`` at ``level`` (info, warning or error)."""
        self.lines.append((level, message))
        stamp = time.strftime("%H:%M:%S")
        colour = COLOURS.get(level, COLOURS["info"])
        text = message.replace("&", "&amp;").replace("<", "&lt;")
        self.appendHtml(f'<span style="color:#6c7480">{stamp}</span> '
                        f'<span style="color:{colour}">{level.upper():7s} {text}</span>')
        self.moveCursor(QTextCursor.MoveOperation.End)

    def detach(self) -> None:
        logging.getLogger(LOGGER).removeHandler(self.handler)
