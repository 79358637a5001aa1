"""Which sample of the preset composition mode shows: dataset seed, sample index, label
channel. Evented; no computation."""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal

MAX_INDEX = 10**9 - 1


class SampleState(QObject):
    """Seed, index and label channel (task) of the sample shown; ``changed`` after each real
    change."""

    changed = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.seed = 0
        self.index = 0
        self.task = 0

    def update(self, seed: int | None = None, index: int | None = None,
               task: int | None = None) -> None:
        """Change any of the three (each kept within its range)."""
        new = (self.seed if seed is None else max(int(seed), 0),
               self.index if index is None else min(max(int(index), 0), MAX_INDEX),
               self.task if task is None else max(int(task), 0))
        if new != (self.seed, self.index, self.task):
            self.seed, self.index, self.task = new
            self.changed.emit()

    def step(self, delta: int) -> None:
        """The next (``+1``) or previous (``-1``) sample."""
        self.update(index=self.index + delta)
