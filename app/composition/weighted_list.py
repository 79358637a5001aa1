"""A weighted list of the preset (classes, mappers or displacements) as a table: its ids (for
classes), name, weight spin box and remove button, with Add, Up and Down below. The class
table also takes classes dropped from the library browser (:data:`~app.panels.library.CLASS_MIME`).

The widget only asks; the preset editor runs the core's edit and the table shows the
document again (rows are rebuilt only when the names change).
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.composition.preset_fields import StepDoubleSpinBox
from app.panels.library import class_names

MAX_WEIGHT = 1e6


def ids_text(ids: list[int]) -> str:
    """``"7"``, ``"1–3"`` or ``"1, 5"``: label ids, runs shortened."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


class _DropTable(QTableWidget):
    """A table that takes class names dragged from the library browser."""

    dropped = pyqtSignal(list)

    def __init__(self, columns: int, accepts_classes: bool) -> None:
        super().__init__(0, columns)
        self.setAcceptDrops(accepts_classes)
        self.viewport().setAcceptDrops(accepts_classes)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly if accepts_classes
                             else QAbstractItemView.DragDropMode.NoDragDrop)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        event.setAccepted(bool(class_names(event.mimeData())))

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt's name
        event.setAccepted(bool(class_names(event.mimeData())))

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        names = class_names(event.mimeData())
        if names:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.dropped.emit(names)
        else:
            event.ignore()


class WeightedList(QWidget):
    """The entries of one list with their weights.

    Parameters
    ----------
    noun : str
        What an entry is ("class", "mapper", "displacement"): button texts and tooltips.
    weight_tip : str
        What a weight does.
    describe : callable
        The tooltip of an entry's name.
    accepts_classes : bool
        Whether classes may be dropped here from the library browser (and an id column shows).

    Signals
    -------
    add_clicked()
        The user wants to add entries (the editor opens a picker).
    weight_edited(str, float, object)
        Name, new weight, merge key (shared by the steps of one gesture).
    remove_clicked(str), move_clicked(str, int)
        Remove an entry; move it by an offset (-1 up, +1 down).
    dropped(list)
        Class names dropped on the table.
    """

    add_clicked = pyqtSignal()
    weight_edited = pyqtSignal(str, float, object)
    remove_clicked = pyqtSignal(str)
    move_clicked = pyqtSignal(str, int)
    dropped = pyqtSignal(list)

    def __init__(self, noun: str, weight_tip: str, describe: Callable[[str], str],
                 accepts_classes: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.noun, self.weight_tip, self.describe = noun, weight_tip, describe
        self.with_ids = accepts_classes
        self.names: list[str] = []
        self.spins: dict[str, StepDoubleSpinBox] = {}
        self.columns = ("Id", "Name", "Weight", "") if self.with_ids else ("Name", "Weight", "")
        self.table = _DropTable(len(self.columns), accepts_classes)
        self.table.setHorizontalHeaderLabels(self.columns)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self._column("Name"), QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.dropped.connect(self.dropped)
        self.add = QPushButton(f"Add {noun}…")
        self.up = QPushButton("↑ Up")
        self.down = QPushButton("↓ Down")
        self.up.setToolTip(f"Move the selected {noun} up" + (" (its class ids change)"
                                                             if self.with_ids else ""))
        self.down.setToolTip(f"Move the selected {noun} down" + (" (its class ids change)"
                                                                 if self.with_ids else ""))
        self.add.clicked.connect(self.add_clicked)
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(1))
        self.table.itemSelectionChanged.connect(self._enable_moves)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add, self.up, self.down):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        if accepts_classes:
            hint = QLabel("Drag classes here from the library, or use Add. The order gives the "
                          "class ids.")
            hint.setWordWrap(True)
            hint.setStyleSheet("color: #9aa4b1;")
            layout.addWidget(hint)
        layout.addLayout(buttons)
        self._enable_moves()

    def _column(self, title: str) -> int:
        return self.columns.index(title)

    # -- showing ---------------------------------------------------------------------------
    def set_entries(self, entries: list[dict], ids: dict[str, list[int]] | None = None) -> None:
        """Rebuild the rows for ``entries`` (``{name, weight}``), keeping the selected name."""
        selected = self.selected()
        self.names = [e["name"] for e in entries]
        self.spins = {}
        self.table.setRowCount(0)
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            self._fill_row(row, entry["name"])
        self.show_values(entries, ids)
        if selected in self.names:
            self.table.selectRow(self.names.index(selected))
        self._enable_moves()

    def _fill_row(self, row: int, name: str) -> None:
        item = QTableWidgetItem(name)
        item.setToolTip(self.describe(name))
        self.table.setItem(row, self._column("Name"), item)
        if self.with_ids:
            ids = QTableWidgetItem()
            ids.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 0, ids)
        spin = StepDoubleSpinBox(f"weight {self.noun} {name}", MAX_WEIGHT, 0.1, 3,
                                 f"Weight of {name}: {self.weight_tip}")
        spin.setFrame(False)
        spin.edited.connect(lambda v, key, n=name: self.weight_edited.emit(n, float(v), key))
        self.table.setCellWidget(row, self._column("Weight"), spin)
        self.spins[name] = spin
        remove = QToolButton()
        remove.setText("✕")
        remove.setAutoRaise(True)
        remove.setToolTip(f"Remove {name} from the preset")
        remove.clicked.connect(lambda _=False, n=name: self.remove_clicked.emit(n))
        self.table.setCellWidget(row, self._column(""), remove)

    def show_values(self, entries: list[dict], ids: dict[str, list[int]] | None = None) -> None:
        """Show the weights (and class ids) of the same names without rebuilding."""
        for row, entry in enumerate(entries):
            self.spins[entry["name"]].set_value(float(entry["weight"]))
            if self.with_ids and ids is not None:
                self.table.item(row, 0).setText(ids_text(ids.get(entry["name"], [])))

    # -- asking ----------------------------------------------------------------------------
    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.names[rows[0].row()] if rows and rows[0].row() < len(self.names) else None

    def select(self, name: str) -> None:
        self.table.selectRow(self.names.index(name))

    def _enable_moves(self) -> None:
        name = self.selected()
        row = self.names.index(name) if name is not None else -1
        self.up.setEnabled(row > 0)
        self.down.setEnabled(0 <= row < len(self.names) - 1)

    def _move(self, offset: int) -> None:
        name = self.selected()
        if name is not None:
            self.move_clicked.emit(name, offset)
