"""Opening and saving: new, open (class, preset or bundle), recent files, save, save as, save to
the user library, and the unsaved-changes prompt.

Every file is read and validated by the core *before* the current document is touched, so a
file that does not load costs nothing; writes are the core's atomic writes. The questions a
person answers (which file, discard changes?) are methods, so tests can answer them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings, pyqtSignal
from PyQt6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from app.dialogs import SaveToLibraryDialog
from app.document import ShapeDocument
from fdif_core.editing import blank_class
from fdif_core.errors import FdifError
from fdif_core.library import clear_cache, file_kind, load_shape_file, save_user_shape, user_root
from fdif_core.presets import load_preset
from fdif_core.shapes import ShapeClass

log = logging.getLogger("fdif.studio")
RECENT_KEY = "files/recent"
RECENT_COUNT = 10
OPEN_FILTER = "FDIF files (*.toml *.fdifbundle);;Shape classes and presets (*.toml);;Bundles (*.fdifbundle)"
SHAPE_FILTER = "Shape class (*.toml)"


class FileActions(QObject):
    """File handling for one document.

    Signals
    -------
    recent_changed()
        The recent-files list changed.
    collection_opened(str, list)
        A preset or bundle opened: its title and its classes (for the library browser).
    library_changed()
        A class was written into the user library.
    failed(str)
        A file could not be opened or saved; the message names the file and the problem.
    """

    recent_changed = pyqtSignal()
    collection_opened = pyqtSignal(str, list)
    library_changed = pyqtSignal()
    failed = pyqtSignal(str)

    def __init__(self, document: ShapeDocument, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.document, self.settings, self.window = document, settings, window

    # -- questions (replaced in tests) ---------------------------------------------------------
    def ask_discard(self) -> QMessageBox.StandardButton:
        """Save, Discard or Cancel for unsaved changes."""
        return QMessageBox.question(
            self.window, "Unsaved changes",
            f"The class {self.document.title!r} has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def ask_open_path(self) -> str:
        return QFileDialog.getOpenFileName(self.window, "Open", self._folder(), OPEN_FILTER)[0]

    def ask_save_path(self) -> str:
        suggestion = str(Path(self._folder()) / f"{self.document.shape.name}.toml")
        return QFileDialog.getSaveFileName(self.window, "Save class as", suggestion, SHAPE_FILTER)[0]

    def ask_library_entry(self) -> ShapeClass | None:
        dialog = SaveToLibraryDialog(self.document.data, self.window)
        return dialog.shape() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(self.window, "Replace?",
                                      f"{path} already exists in your library. Replace it?")
        return answer == QMessageBox.StandardButton.Yes

    def _folder(self) -> str:
        recent = self.recent()
        return str(Path(recent[0]).parent) if recent else str(Path.cwd())

    # -- the unsaved-changes rule --------------------------------------------------------------
    def may_discard(self) -> bool:
        """Whether the current document may be replaced (asks when it has unsaved changes)."""
        if not self.document.dirty:
            return True
        answer = self.ask_discard()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # -- opening -------------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.may_discard():
            return False
        self.document.load(blank_class())
        log.info("new class (a sphere)")
        return True

    def open(self) -> bool:
        path = self.ask_open_path()
        return bool(path) and self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a shape class, preset or bundle; ``False`` (with ``failed``) if it does not load."""
        path = Path(path)
        try:
            kind = file_kind(path)
            if kind == "shape":
                shape, title, shapes = load_shape_file(path), None, []
            else:
                loaded = load_preset(path)
                shapes = [loaded.library.get(entry.name) for entry in loaded.preset.classes]
                if not shapes:
                    raise FdifError(f"{path}: the {kind} lists no classes")
                shape, title = shapes[0], f"{kind.capitalize()}: {loaded.preset.name}"
        except FdifError as err:
            self._fail(f"Cannot open {path.name}: {err}")
            return False
        if not self.may_discard():
            return False
        if title is not None:
            self.collection_opened.emit(title, shapes)
            self.document.load(shape.model_dump(mode="json"), None, read_only=True)
        else:
            self.document.load(shape.model_dump(mode="json"), path, read_only=self._is_builtin(path))
        self._remember(path)
        log.info("opened %s (%s)", path, kind)
        return True

    def open_shape(self, shape: ShapeClass, source: str) -> bool:
        """Open a class chosen in the library browser (built-in classes open read-only)."""
        if not self.may_discard():
            return False
        path = Path(source) if source else None
        self.document.load(shape.model_dump(mode="json"), path,
                           read_only=path is None or self._is_builtin(path))
        log.info("opened class %s%s", shape.name, f" from {source}" if source else "")
        return True

    @staticmethod
    def _is_builtin(path: Path) -> bool:
        from fdif_core.library import builtin_root

        return path.resolve().is_relative_to((builtin_root() / "shapes").resolve())

    # -- saving --------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.document.path is None or self.document.read_only:
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        path = Path(path)
        return self._write(path if path.suffix == ".toml" else path.with_name(path.name + ".toml"))

    def _write(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except (FdifError, OSError) as err:
            self._fail(f"Cannot save {path}: {err}")
            return False
        self._remember(path)
        clear_cache()
        log.info("saved %s (content hash %s)", path, self.document.shape.content_hash[:12])
        return True

    def save_to_library(self) -> bool:
        """Ask for name and description, validate, write into the user library atomically."""
        shape = self.ask_library_entry()
        if shape is None:
            return False
        target = user_root() / "shapes" / f"{shape.name}.toml"
        overwrite = target.exists() and self.ask_overwrite(target)
        if target.exists() and not overwrite:
            return False
        try:
            path = save_user_shape(shape, overwrite=overwrite)
        except (FdifError, OSError) as err:
            self._fail(f"Cannot save to the library: {err}")
            return False
        self.document.load(shape.model_dump(mode="json"), path)
        self._remember(path)
        self.library_changed.emit()
        log.info("saved %s to the user library: %s", shape.name, path)
        return True

    # -- recent files --------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, []) or []
        return [str(v) for v in (value if isinstance(value, list) else [value])]

    def _remember(self, path: Path) -> None:
        entry = str(Path(path).resolve())
        recent = [entry, *(p for p in self.recent() if p != entry)][:RECENT_COUNT]
        self.settings.setValue(RECENT_KEY, recent)
        self.recent_changed.emit()

    def _fail(self, message: str) -> None:
        log.error(message)
        self.failed.emit(message)
