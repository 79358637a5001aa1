"""The sample panel of composition mode: which sample (seed, index, previous / next, label
channel), its labels (colour, name, voxels; show or hide each or all; 3D opacity) and its
objects (class, mapper, displacement, voxels, label). Clicking an object highlights it in
every view; double-clicking opens its class in the designer."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.composition.state import MAX_INDEX, SampleState
from app.state import ViewState
from app.views.colors import label_colour
from fdif_core.composition import ObjectRow, SamplePreview

OBJECT_COLUMNS = ("#", "Class", "Mapper", "Displacement", "Voxels", "Shown", "Label")
LABEL_COLUMNS = ("", "Label", "Name", "Voxels")


def _item(text, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(str(text))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(columns: tuple[str, ...], table: QTableWidget | None = None) -> QTableWidget:
    """A read-only table, one row selected at a time. Columns are sized to their contents
    once per fill (:func:`_filled`): sizing on every ``setItem`` cost 1.5 ms a cell."""
    table = table or QTableWidget(0, len(columns))
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    return table


@contextmanager
def _filled(table: QTableWidget, rows: int):
    """Refill ``table`` with ``rows`` rows without signals or repaints, then size columns."""
    table.blockSignals(True)
    table.setUpdatesEnabled(False)
    try:
        table.setRowCount(rows)
        yield
    finally:
        table.resizeColumnsToContents()
        table.setUpdatesEnabled(True)
        table.blockSignals(False)


class SampleNavigator(QWidget):
    """Seed, index with previous / next, and the label channel of multi-task presets."""

    def __init__(self, state: SampleState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Dataset seed: sample i depends only on (preset, seed, i)")
        self.index = QSpinBox()
        self.index.setRange(0, MAX_INDEX)
        self.index.setKeyboardTracking(False)
        self.index.setToolTip("Sample index: type one to jump to it")
        self.previous = QPushButton("◀")
        self.previous.setToolTip("Previous sample (P)")
        self.next = QPushButton("▶")
        self.next.setToolTip("Next sample (N)")
        for button in (self.previous, self.next):
            button.setFixedWidth(32)
        self.task = QComboBox()
        self.task.setToolTip("Label channel shown (multi-task labels)")
        self.task_label = QLabel("Channel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Seed"), self.seed, QLabel("Sample"), self.previous, self.index,
                       self.next, self.task_label, self.task):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.seed.valueChanged.connect(lambda v: state.update(seed=v))
        self.index.valueChanged.connect(lambda v: state.update(index=v))
        self.previous.clicked.connect(lambda: state.step(-1))
        self.next.clicked.connect(lambda: state.step(1))
        self.task.activated.connect(lambda i: state.update(task=i))
        state.changed.connect(self.refresh)
        self.set_tasks(["class"])
        self.refresh()

    def set_tasks(self, tasks: list[str]) -> None:
        """The label channels of the preset (the picker shows only for several)."""
        self.task.blockSignals(True)
        self.task.clear()
        self.task.addItems(tasks)
        self.task.setCurrentIndex(min(self.state.task, len(tasks) - 1))
        self.task.blockSignals(False)
        for widget in (self.task, self.task_label):
            widget.setVisible(len(tasks) > 1)

    def refresh(self) -> None:
        for widget, value in ((self.seed, self.state.seed), (self.index, self.state.index)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.previous.setEnabled(self.state.index > 0)
        if self.task.count() > self.state.task:
            self.task.setCurrentIndex(self.state.task)


class LabelTable(QWidget):
    """The labels of the channel shown: tick to show, colour, value, name, voxels."""

    def __init__(self, view_state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_state = view_state
        self.table = _table(LABEL_COLUMNS)
        self.show_all = QPushButton("Show all")
        self.hide_all = QPushButton("Hide all")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(100)
        self.opacity.setToolTip("Opacity of the label surfaces in 3D")
        buttons = QHBoxLayout()
        for widget in (self.show_all, self.hide_all, QLabel("3D opacity"), self.opacity):
            buttons.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        self.values: list[int] = []
        self.show_all.clicked.connect(lambda: view_state.set_hidden_labels(()))
        self.hide_all.clicked.connect(lambda: view_state.set_hidden_labels(self.values))
        self.opacity.valueChanged.connect(lambda v: view_state.set_surface_opacity(v / 100))
        self.table.itemChanged.connect(self._ticked)
        view_state.labels_changed.connect(self._sync_ticks)

    def show_labels(self, label: np.ndarray, names: dict[int, str]) -> None:
        """One row per label value present in ``label`` (background left out)."""
        counts = np.bincount(label.reshape(-1).astype(np.int64))
        self.values = [int(v) for v in np.flatnonzero(counts) if v]
        with _filled(self.table, len(self.values)):
            self._fill(counts, names)
        self._sync_ticks()

    def _fill(self, counts: np.ndarray, names: dict[int, str]) -> None:
        for row, value in enumerate(self.values):
            tick = _item("")  # the tick box on the label's colour
            tick.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            tick.setData(Qt.ItemDataRole.UserRole, value)
            tick.setBackground(QColor(*label_colour(value)))
            cells = (tick, _item(value, True), _item(names.get(value, "")),
                     _item(f"{counts[value]:,}", True))
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)

    def _ticked(self, item: QTableWidgetItem) -> None:
        value = item.data(Qt.ItemDataRole.UserRole)
        if value is not None:
            self.view_state.set_label_visible(value, item.checkState() == Qt.CheckState.Checked)

    def _sync_ticks(self) -> None:
        hidden = self.view_state.hidden_labels
        self.table.blockSignals(True)
        for row, value in enumerate(self.values):
            self.table.item(row, 0).setCheckState(
                Qt.CheckState.Unchecked if value in hidden else Qt.CheckState.Checked)
        self.table.blockSignals(False)


class ObjectTable(QTableWidget):
    """The sample's objects in drawing order.

    Signals
    -------
    open_class(str)
        An object was double-clicked: the canonical name of its class.
    """

    open_class = pyqtSignal(str)

    def __init__(self, view_state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(0, len(OBJECT_COLUMNS), parent)
        self.view_state = view_state
        self.rows: list[ObjectRow] = []
        _table(OBJECT_COLUMNS, self)
        self.setToolTip("Click: highlight the object in every view; double-click: open its "
                        "class in the designer")
        self.itemSelectionChanged.connect(self._selected)
        self.cellDoubleClicked.connect(lambda row, _col: self.open_class.emit(self.rows[row].shape))
        view_state.highlight_changed.connect(self._sync_selection)

    def show_objects(self, preview: SamplePreview, task: int) -> None:
        self.rows = preview.objects
        with _filled(self, len(self.rows)):
            self._fill(task)
        self._sync_selection()

    def _fill(self, task: int) -> None:
        for r, row in enumerate(self.rows):
            label = row.labels[task] if len(row.labels) > task else ""
            cells = (_item(row.position, True), _item(row.shape), _item(row.mapper),
                     _item(row.displacement), _item(f"{row.inside:,}", True),
                     _item(f"{row.shown:,}", True), _item(label, True))
            for column, cell in enumerate(cells):
                if row.shown == 0:
                    cell.setForeground(QColor("#8a94a3"))
                    cell.setToolTip("This object holds no voxel of the label (outside the "
                                    "grid, or hidden by the objects that win the overlap)")
                self.setItem(r, column, cell)
            self.item(r, 1).setToolTip(f"label name: {row.class_name}")
            if label != "":
                self.item(r, 6).setBackground(QColor(*label_colour(int(label))))

    def _selected(self) -> None:
        rows = self.selectionModel().selectedRows()
        self.view_state.set_highlight(self.rows[rows[0].row()].position if rows else 0)

    def _sync_selection(self) -> None:
        position = self.view_state.highlight
        rows = self.selectionModel().selectedRows()
        if (self.rows[rows[0].row()].position if rows else 0) == position:
            return  # already shown (and a click in progress keeps its pressed cell)
        self.blockSignals(True)
        self.clearSelection()
        for r, row in enumerate(self.rows):
            if row.position == position:
                self.selectRow(r)
        self.blockSignals(False)


class SamplePanel(QWidget):
    """Navigator, summary line, labels and objects of the sample shown."""

    def __init__(self, state: SampleState, view_state: ViewState, parent: QWidget | None = None,
                 ) -> None:
        super().__init__(parent)
        self.navigator = SampleNavigator(state)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #9aa4b1;")
        self.labels = LabelTable(view_state)
        self.objects = ObjectTable(view_state)
        label_box, object_box = QGroupBox("Labels"), QGroupBox("Objects")
        QVBoxLayout(label_box).addWidget(self.labels)
        QVBoxLayout(object_box).addWidget(self.objects)
        layout = QVBoxLayout(self)
        layout.addWidget(self.navigator)
        layout.addWidget(self.summary)
        layout.addWidget(label_box, 2)
        layout.addWidget(object_box, 3)

    def show_preview(self, preview: SamplePreview, task: int) -> None:
        """Fill the tables from a rendered sample."""
        self.navigator.set_tasks(preview.tasks)
        label = preview.task_label(task)
        self.labels.show_labels(label, preview.label_names[task])
        self.objects.show_objects(preview, task)
        empty = len(preview.empty_objects)
        self.summary.setText(
            f"{preview.preset}: sample {preview.index} of seed {preview.seed}, "
            f"{'×'.join(map(str, preview.grid.shape))}, {len(preview.objects)} objects"
            + (f" ({empty} hold no voxel)" if empty else "")
            + f", {len(self.labels.values)} labels, foreground {np.count_nonzero(label):,} voxels")
