"""The studio's dialogs: save to the library, keyboard shortcuts, about."""

from __future__ import annotations

import platform
from importlib import metadata

from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.actions import ACTIONS, MOUSE_HELP
from fdif_core.errors import FdifError
from fdif_core.presets import Preset
from fdif_core.shapes import ShapeClass


class _LibraryEntryDialog(QDialog):
    """Name, description (and ``extra`` line fields) of an entry saved into the user library.

    Subclasses say how the entry validates (:meth:`validated`); the Save button stays disabled
    and the reason is shown while it does not.
    """

    title = "Save to library"
    name_tip = ""

    def __init__(self, data: dict, parent: QWidget | None = None,
                 extra: tuple[tuple[str, QLineEdit], ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.title)
        self.data = data
        self.name = QLineEdit(data["name"])
        self.name.setToolTip(self.name_tip)
        self.description = QPlainTextEdit(data.get("description", ""))
        self.description.setFixedHeight(80)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #ff6b6b;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        for label, widget in (("Name", self.name), *extra, ("Description", self.description)):
            form.addRow(label, widget)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for widget in (self.name, *(w for _, w in extra)):
            widget.textChanged.connect(self._check)
        self.description.textChanged.connect(self._check)
        self._check()

    def validated(self):
        """The entry as the core will write it (``FdifError`` naming the problem)."""
        raise TypeError(f"{type(self).__name__} says how its entry validates")

    def explain(self, err: FdifError) -> str:
        return str(err)

    def _check(self) -> None:
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        try:
            self.validated()
        except FdifError as err:
            self.problem.setText(self.explain(err))
            save.setEnabled(False)
            return
        self.problem.setText("")
        save.setEnabled(True)


class SaveToLibraryDialog(_LibraryEntryDialog):
    """Name, display name and description of a class saved into the user library;
    :meth:`shape` returns the class as it will be written, validated by the core."""

    name_tip = "Canonical name: lower case letters, digits and _, starting with a letter"

    def __init__(self, data: dict, parent: QWidget | None = None) -> None:
        self.display_name = QLineEdit(data.get("display_name", ""))
        self.display_name.setPlaceholderText("(from the name)")
        super().__init__(data, parent, (("Display name", self.display_name),))

    def entry(self) -> dict:
        """The class data with the entered name, display name and description."""
        data = dict(self.data)
        data.update(name=self.name.text().strip(), display_name=self.display_name.text().strip(),
                    description=self.description.toPlainText().strip())
        if data.get("category") in (None, "", "basic") or data.get("fdif_id") is not None:
            data["category"] = "custom"
        data["fdif_id"] = None
        if data["name"] != self.data["name"]:
            data["aliases"] = []  # a renamed copy must not claim the original's aliases
        return data

    def shape(self) -> ShapeClass:
        """The validated class (``FdifError`` naming the field if it does not validate)."""
        from fdif_core.files import parse_model

        return parse_model(ShapeClass, self.entry(), "library entry")

    validated = shape


class SavePresetDialog(_LibraryEntryDialog):
    """Name and description of a preset saved into the user library; :meth:`preset` returns
    it validated by the core against the user's libraries."""

    title = "Save preset to library"
    name_tip = "Preset name: letters, digits, _ . -, starting with a letter or digit"

    def preset(self) -> Preset:
        """The validated preset (``FdifError`` naming the problem if it does not validate)."""
        from fdif_core.library import shape_library
        from fdif_core.preset_editing import validated_preset

        data = dict(self.data, name=self.name.text().strip(),
                    description=self.description.toPlainText().strip())
        return Preset.model_validate(validated_preset(data, shape_library(), "library entry"))

    validated = preset

    def explain(self, err: FdifError) -> str:
        if "unknown shape class" in str(err):
            return (f"{err} — classes of a bundle must be in your library first "
                    "(File → Import Bundle…)")
        return str(err)


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut of :data:`~app.actions.ACTIONS` and the mouse gestures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts and mouse")
        rows = [(s.shortcut, s.text.replace("&", ""), s.menu) for s in ACTIONS if s.shortcut]
        rows += [(gesture, what, "Mouse") for gesture, what in MOUSE_HELP]
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(620, 640)


def versions() -> dict[str, str]:
    """Versions of the studio and the libraries it rests on."""
    import pyvista
    import torch
    import vtk

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {"FDIF Studio": version("fdif-studio"), "Python": platform.python_version(),
            "torch": torch.__version__, "VTK": vtk.vtkVersion.GetVTKVersion(),
            "pyvista": pyvista.__version__, "Qt": QT_VERSION_STR, "PyQt6": PYQT_VERSION_STR,
            "pyqtgraph": version("pyqtgraph"), "superqt": version("superqt"),
            "MONAI": version("monai")}


def about_text() -> str:
    """The About box's text (HTML)."""
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions().items())
    return ("<h3>FDIF Studio</h3><p>Formula-driven pre-training data for 3D medical image "
            "segmentation: design SDF shape classes, preview synthetic volumes, generate "
            f"datasets.</p><table>{rows}</table>")
