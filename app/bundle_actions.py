"""Library export and import: the preset being edited as a bundle (``fdif presets export``),
and a bundle into the user library (``fdif presets import``) after showing what it holds and
what importing would do — refused, as the core refuses, when a name would shadow another."""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.composition.document import PresetDocument
from fdif_core.bundles import BUNDLE_SUFFIX, ImportPlan, import_bundle, plan_import, write_bundle
from fdif_core.errors import FdifError

log = logging.getLogger("fdif.studio")
ACTION_TEXT = {"write": "new: will be written", "replace": "differs: will replace your file",
               "same": "already in your library", "refuse": "refused"}


class BundleImportDialog(QDialog):
    """A bundle's preset and classes, and what importing does with each."""

    def __init__(self, path: Path, plan: ImportPlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {path.name}")
        preset = plan.loaded.preset
        summary = QLabel(f"<b>{preset.name}</b> — {preset.description or 'no description'}<br>"
                         f"{'×'.join(map(str, preset.grid))} grid, objects "
                         f"{preset.objects[0]}–{preset.objects[1]}, "
                         f"{len(plan.loaded.library.classes)} classes in the bundle")
        summary.setWordWrap(True)
        self.table = QTableWidget(len(plan.steps), 4)
        self.table.setHorizontalHeaderLabels(["Kind", "Name", "Import", "Where"])
        for row, step in enumerate(plan.steps):
            where = step.reason or (str(step.target) if step.target else "")
            for column, text in enumerate((step.kind, step.name, ACTION_TEXT[step.action], where)):
                item = QTableWidgetItem(text)
                item.setToolTip(where)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.problem = QLabel("\n".join(step.reason for step in plan.refused))
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #ff6b6b;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Import")
        ok.setEnabled(not plan.refused)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (summary, self.table, self.problem, self.buttons):
            layout.addWidget(widget)
        self.resize(760, 420)


class BundleActions(QObject):
    """Export the edited preset as a bundle; import a bundle into the user library.

    Signals
    -------
    library_changed()
        Files were written into the user library.
    failed(str)
        An export or import was refused; the message says why.
    """

    library_changed = pyqtSignal()
    failed = pyqtSignal(str)

    def __init__(self, document: PresetDocument, window: QWidget) -> None:
        super().__init__(window)
        self.document, self.window = document, window

    # -- questions (replaced in tests) ---------------------------------------------------------
    def ask_export_path(self) -> str:
        suggestion = f"{self.document.preset.name}{BUNDLE_SUFFIX}"
        return QFileDialog.getSaveFileName(self.window, "Export preset as bundle", suggestion,
                                           f"Bundle (*{BUNDLE_SUFFIX})")[0]

    def ask_import_path(self) -> str:
        return QFileDialog.getOpenFileName(self.window, "Import bundle", "",
                                           f"Bundle (*{BUNDLE_SUFFIX})")[0]

    def confirm_import(self, path: Path, plan: ImportPlan) -> bool:
        return BundleImportDialog(path, plan, self.window).exec() == QDialog.DialogCode.Accepted

    # -- actions -------------------------------------------------------------------------------
    def export(self, path: str | Path | None = None) -> Path | None:
        """Write the preset being edited and every class it uses to one bundle file."""
        path = path or self.ask_export_path()
        if not path:
            return None
        try:
            written = write_bundle(self.document.loaded, Path(path))
        except (FdifError, OSError) as err:
            return self._fail(f"Cannot export the bundle to {path}: {err}")
        log.info("exported %s with %d classes to %s", self.document.preset.name,
                 len({e.name for e in self.document.preset.classes}), written)
        return written

    def import_(self, path: str | Path | None = None) -> list[Path] | None:
        """Show a bundle's contents and what importing does; import when the user agrees."""
        path = path or self.ask_import_path()
        if not path:
            return None
        path = Path(path)
        try:
            plan = plan_import(path)
        except (FdifError, OSError) as err:
            return self._fail(f"Cannot read the bundle {path}: {err}")
        if not self.confirm_import(path, plan):
            return None
        try:
            written = import_bundle(path)
        except (FdifError, OSError) as err:
            return self._fail(f"Cannot import {path.name}: {err}")
        log.info("imported %s: %s", path.name,
                 ", ".join(str(p) for p in written) or "nothing new to write")
        self.library_changed.emit()
        return written

    def _fail(self, message: str) -> None:
        log.error(message)
        self.failed.emit(message)
        return None
