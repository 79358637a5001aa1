"""A searchable picker of names (shape classes, mappers, displacements) to add to a preset:
type to filter by name, display name or alias, select one or several, Add (or double-click)."""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Choice:
    """One name to offer: what the list shows, what the search matches, the tooltip."""

    name: str
    text: str
    search: str
    tip: str = ""


class NamePicker(QDialog):
    """Pick names from ``choices``; names in ``taken`` show greyed out and cannot be picked.

    Opened with :meth:`open` (window-modal, does not block); ``accepted`` then
    :meth:`chosen` gives the picked names in list order.
    """

    def __init__(self, title: str, choices: list[Choice], taken: set[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by name or alias")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for choice in choices:
            item = QListWidgetItem(choice.text + ("   (in the preset)" if choice.name in taken
                                                  else ""))
            item.setData(Qt.ItemDataRole.UserRole, choice.name)
            item.setData(SEARCH_ROLE, choice.search.lower())
            item.setToolTip(choice.tip)
            if choice.name in taken:
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        self.count = QLabel()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.search.textChanged.connect(self.filter)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.buttons)
        self.resize(420, 520)
        self._selection_changed()

    def filter(self, text: str) -> None:
        """Show only the names whose search text holds every word of ``text``."""
        words = text.lower().split()
        for row in range(self.list.count()):
            item = self.list.item(row)
            hidden = not all(w in item.data(SEARCH_ROLE) for w in words)
            item.setHidden(hidden)
            if hidden:
                item.setSelected(False)

    def visible_names(self) -> list[str]:
        """The names the search leaves visible, in list order."""
        return [self.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.list.count())
                if not self.list.item(r).isHidden()]

    def chosen(self) -> list[str]:
        """The selected names, in list order."""
        return [self.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.list.count())
                if self.list.item(r).isSelected()]

    def _selection_changed(self) -> None:
        n = len(self.chosen())
        self.count.setText(f"{n} selected" if n else "Select one or more (Ctrl/Shift for several)")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(n > 0)
