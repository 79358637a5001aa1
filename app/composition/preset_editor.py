"""The preset editor of composition mode: every field of the preset a person may change.

An edit runs the core's edit function (:mod:`fdif_core.preset_editing`) on the document's data
and library and pushes the result on the document's undo stack; steps of one spin-box gesture
merge into one entry. An edit the core refuses changes nothing: its reason shows in red (and
in the log) and the widget shows the document's value again. When the document changes (an
edit, undo, redo, another preset) the editor shows its data without emitting edits; the
tables are rebuilt only when the names in the lists change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.composition.document import PresetDocument
from app.composition.name_picker import Choice, NamePicker
from app.composition.preset_fields import (
    GridEditor,
    NoneProbabilityEditor,
    RangeEditor,
    StepSpinBox,
)
from app.composition.preset_help import (
    TIPS,
    WEIGHT_TIPS,
    describe_class,
    describe_displacement,
    describe_mapper,
)
from app.composition.weighted_list import WeightedList
from fdif_core import preset_editing
from fdif_core.displacements import DISPLACEMENTS
from fdif_core.errors import FdifError
from fdif_core.library import ShapeLibrary
from fdif_core.mappers import MAPPERS

log = logging.getLogger("fdif.studio")
Data = dict[str, Any]
NOUNS = {"classes": "class", "mappers": "mapper", "displacements": "displacement"}
CHOICES = {"overlap": ("smaller_wins", "larger_wins", "last_wins"),
           "label_mode": ("single", "multi_task"),
           "mapper_mode": ("augmentation", "class"),
           "displacement_mode": ("augmentation", "class"),
           "dataset.format": ("decathlon", "nnunet", "classification")}
SPINS = {"combined_unions": (0, 10000), "union_seed": (0, 2**31 - 1),
         "dataset.seed": (0, 2**31 - 1), "dataset.num_samples": (1, 2**31 - 1),
         "dataset.num_val_samples": (0, 2**31 - 1)}


def field_value(data: Data, field: str) -> Any:
    """The value of one of :data:`fdif_core.preset_editing.FIELDS` in ``data``."""
    if field.startswith("dataset."):
        return data.get("dataset", {}).get(field.split(".", 1)[1])
    return data.get(field)


def _shown(value: Any) -> str:
    """A value as the undo history names it: ``64×64×64``, ``2–5``, ``on``, ``0.25``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return "×".join(map(str, value)) if len(value) == 3 else "–".join(map(str, value))
    return "reference" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _canonical(library: ShapeLibrary, name: str) -> str:
    try:
        return library.get(name).name
    except FdifError:
        return name


class PresetEditor(QWidget):
    """Name, sample, labels, unions and dataset defaults (General), the classes, and the
    mappers and displacements of the preset being edited.

    Signals
    -------
    error(str)
        An edit the core refused (shown in the editor as well).
    """

    error = pyqtSignal(str)

    def __init__(self, document: PresetDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.picker: NamePicker | None = None
        self._summary_key: tuple | None = None
        self._summary: tuple[dict[str, list[int]], int, dict[str, int]] = ({}, 0, {})
        self.fields: dict[str, QWidget] = {}
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setToolTip("The classes of the table the preset makes (spec §11.3)")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #ff6b6b;")
        self.problem.hide()
        self.lists = {name: self._weighted_list(name) for name in NOUNS}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._scrolled(self._general_page()), "General")
        self.tabs.addTab(self._list_page("classes"), "Classes")
        self.tabs.addTab(self._scrolled(self._intensity_page()), "Mappers && displacements")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.problem)
        layout.addWidget(self.tabs, 1)
        document.changed.connect(self._on_document_changed)
        self._on_document_changed(True)

    # -- pages -----------------------------------------------------------------------------
    @staticmethod
    def _scrolled(page: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(page)
        return scroll

    def _general_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        preset = QFormLayout()
        for field in ("name", "description"):
            line = QLineEdit()
            line.setToolTip(TIPS[field])
            line.editingFinished.connect(lambda f=field, w=line: self._text_finished(f, w))
            self._add_field(preset, field.capitalize(), field, line)
        self._add_field(preset, "Grid", "grid", GridEditor(TIPS["grid"]))
        self._add_field(preset, "Objects", "objects",
                        RangeEditor("objects", 1, 1000, TIPS["objects"]))
        transform = QCheckBox("rotate and shear each object")
        transform.toggled.connect(lambda on: self.set_field("transform", on))
        self._add_field(preset, "Transform", "transform", transform)
        self._add_field(preset, "Overlap", "overlap", self._combo("overlap"))
        self._add_field(preset, "Labels", "label_mode", self._combo("label_mode"))
        self._add_field(preset, "Unions", "combined_unions", self._spin("combined_unions"))
        self._add_field(preset, "Union seed", "union_seed", self._spin("union_seed"))
        dataset_box = QGroupBox("Dataset defaults (fdif generate)")
        dataset = QFormLayout(dataset_box)
        for title, field in (("Seed", "dataset.seed"), ("Training samples", "dataset.num_samples"),
                             ("Validation samples", "dataset.num_val_samples")):
            self._add_field(dataset, title, field, self._spin(field))
        self._add_field(dataset, "Format", "dataset.format", self._combo("dataset.format"))
        layout.addLayout(preset)
        layout.addWidget(dataset_box)
        layout.addStretch(1)
        for field in ("grid", "objects"):
            self.fields[field].edited.connect(lambda v, key, f=field: self.set_field(f, v, key))
        return page

    def _list_page(self, list_name: str, *rows: tuple[str, str, QWidget]) -> QWidget:
        box = QGroupBox(list_name.capitalize()) if rows else QWidget()
        box.setToolTip(TIPS[list_name])
        layout = QVBoxLayout(box)
        if rows:
            form = QFormLayout()
            for title, field, widget in rows:
                self._add_field(form, title, field, widget)
            layout.addLayout(form)
        layout.addWidget(self.lists[list_name], 1)
        return box

    def _intensity_page(self) -> QWidget:
        none = NoneProbabilityEditor(TIPS["none_probability"])
        none.edited.connect(lambda v, key: self.set_field("none_probability", v, key))
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._list_page("mappers", ("Mode", "mapper_mode",
                                                     self._combo("mapper_mode"))), 1)
        layout.addWidget(self._list_page(
            "displacements", ("Mode", "displacement_mode", self._combo("displacement_mode")),
            ("None", "none_probability", none)), 1)
        return page

    def _add_field(self, form: QFormLayout, title: str, field: str, widget: QWidget) -> None:
        label = QLabel(title)
        label.setToolTip(TIPS[field])
        form.addRow(label, widget)
        self.fields[field] = widget

    def _combo(self, field: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(CHOICES[field])
        combo.setToolTip(TIPS[field])
        combo.activated.connect(lambda i, f=field: self.set_field(f, CHOICES[f][i]))
        return combo

    def _spin(self, field: str) -> StepSpinBox:
        spin = StepSpinBox(field, *SPINS[field], tip=TIPS[field])
        spin.edited.connect(lambda v, key, f=field: self.set_field(f, int(v), key))
        return spin

    def _weighted_list(self, list_name: str) -> WeightedList:
        library = lambda: self.document.library  # noqa: E731 - the library changes on open
        describe = {"classes": lambda n: describe_class(library(), n),
                    "mappers": describe_mapper, "displacements": describe_displacement}[list_name]
        table = WeightedList(NOUNS[list_name], WEIGHT_TIPS[list_name], describe,
                             accepts_classes=list_name == "classes")
        table.setToolTip(TIPS[list_name])
        table.add_clicked.connect(lambda: self.open_picker(list_name))
        table.weight_edited.connect(lambda n, w, key: self.set_weight(list_name, n, w, key))
        table.remove_clicked.connect(lambda n: self.remove_entry(list_name, n))
        table.move_clicked.connect(lambda n, offset: self.move_entry(list_name, n, offset))
        table.dropped.connect(lambda names: self.add_entries(list_name, names))
        return table

    # -- edits -----------------------------------------------------------------------------
    def _apply(self, edit: Callable[[Data], Data], text: str, merge_key: Any = None) -> bool:
        """Run a core edit on the document's data; push it, or show why the core refused."""
        try:
            data = edit(self.document.data)
        except FdifError as err:
            message = str(err)
            self._show_problem(message)
            log.warning("preset edit refused: %s", message)
            self.error.emit(message)
            self.refresh()  # the widget shows the document's value again
            return False
        self._show_problem(None)
        self.document.apply(data, text, merge_key)
        return True

    def set_field(self, field: str, value: Any, merge_key: Any = None) -> bool:
        """Set one of the preset's fields (``"dataset.seed"`` sets a dataset default)."""
        library = self.document.library

        def edit(data: Data) -> Data:
            if field == "displacement_mode" and value == "class":
                data = preset_editing.set_field(data, "none_probability", None, library)
            return preset_editing.set_field(data, field, value, library)

        return self._apply(edit, f"Set {field.replace('_', ' ')} to {_shown(value)}",
                           None if merge_key is None else ("field", field, merge_key))

    def add_entries(self, list_name: str, names: list[str]) -> bool:
        """Add ``names`` to a list (weight 1) as one undo entry; all or none."""
        if not names:
            return False
        library = self.document.library

        def edit(data: Data) -> Data:
            for name in names:
                data = preset_editing.add_entry(data, list_name, name, library)
            return data

        noun = NOUNS[list_name]
        text = f"Add {noun} {names[0]}" if len(names) == 1 else f"Add {len(names)} {list_name}"
        if not self._apply(edit, text):
            return False
        table = self.lists[list_name]
        table.select(table.names[-1])
        return True

    def remove_entry(self, list_name: str, name: str) -> bool:
        return self._apply(lambda d: preset_editing.remove_entry(d, list_name, name,
                                                                 self.document.library),
                           f"Remove {NOUNS[list_name]} {name}")

    def set_weight(self, list_name: str, name: str, weight: float, merge_key: Any = None) -> bool:
        return self._apply(lambda d: preset_editing.set_weight(d, list_name, name, weight,
                                                               self.document.library),
                           f"Set weight of {name} to {weight:g}",
                           None if merge_key is None else ("weight", list_name, merge_key))

    def move_entry(self, list_name: str, name: str, offset: int) -> bool:
        return self._apply(lambda d: preset_editing.move_entry(d, list_name, name, offset,
                                                               self.document.library),
                           f"Move {NOUNS[list_name]} {name} {'up' if offset < 0 else 'down'}")

    def open_picker(self, list_name: str) -> NamePicker:
        """Open the searchable picker of what ``list_name`` may hold; Add adds the choice."""
        taken = {e["name"] for e in self.document.data[list_name]}
        if list_name == "classes":
            library = self.document.library
            taken |= {_canonical(library, n) for n in taken}
            choices = [Choice(s.name, s.name if s.fdif_id is None else f"{s.fdif_id:3d}  {s.name}",
                              " ".join([s.name, s.display_name, *s.aliases]),
                              describe_class(library, s.name)) for s in library.ordered()]
        else:
            known = MAPPERS if list_name == "mappers" else DISPLACEMENTS
            describe = describe_mapper if list_name == "mappers" else describe_displacement
            choices = [Choice(n, n, f"{n} {describe(n)}", describe(n)) for n in known]
        self.picker = NamePicker(f"Add {list_name}", choices, taken, self)
        self.picker.accepted.connect(lambda p=self.picker: self.add_entries(list_name, p.chosen()))
        self.picker.open()
        return self.picker

    # -- showing ---------------------------------------------------------------------------
    def _show_problem(self, message: str | None) -> None:
        self.problem.setText(message or "")
        self.problem.setVisible(bool(message))

    def _label_summary(self, data: Data) -> tuple[dict[str, list[int]], int, dict[str, int]]:
        """The core's label summary, computed again only when what it depends on changed (a
        weight does not: unions make it cost)."""
        key = (self.document.structure(data), data["combined_unions"], data["union_seed"],
               id(self.document.library))
        if key != self._summary_key:
            self._summary = preset_editing.label_summary(data, self.document.library)
            self._summary_key = key
        return self._summary

    def _on_document_changed(self, structural: bool) -> None:
        self._show_problem(None)
        data = self.document.data
        try:
            ids, count, tasks = self._label_summary(data)
        except FdifError as err:
            ids, count, tasks = {}, 0, {}
            self._show_problem(str(err))
        for list_name, table in self.lists.items():
            if structural:
                table.set_entries(data[list_name], ids)
            else:
                table.show_values(data[list_name], ids)
        self.tabs.setTabText(1, f"Classes ({len(data['classes'])})")
        self.summary.setText(self._summary_text(count, tasks))
        self.refresh()

    @staticmethod
    def _summary_text(count: int, tasks: dict[str, int]) -> str:
        noun = "class" if count == 1 else "classes"
        if not tasks:
            return f"{count} {noun} → label ids 1..{count}"
        channels = ", ".join(f"{task} 1..{n}" for task, n in tasks.items())
        return f"{count} {noun} → multi-task labels: {channels}"

    def refresh(self) -> None:
        """Show the document's values in the fields (without emitting edits)."""
        data = self.document.data
        for field, widget in self.fields.items():
            value = field_value(data, field)
            widget.blockSignals(True)
            if isinstance(widget, QLineEdit):
                widget.setText(str(value))
                widget.setCursorPosition(0)  # the start of a long description
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                widget.setCurrentText(str(value))
            elif isinstance(widget, NoneProbabilityEditor):
                widget.set_value(value, len(data["displacements"]))
                widget.setEnabled(data["displacement_mode"] == "augmentation")
            else:
                widget.set_value(value)
            widget.blockSignals(False)
        for list_name, table in self.lists.items():
            table.show_values(data[list_name])

    def _text_finished(self, field: str, line: QLineEdit) -> None:
        if line.text() != field_value(self.document.data, field):
            self.set_field(field, line.text())
