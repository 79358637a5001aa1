"""Opening and saving: new class or preset, open (class, preset or bundle), recent files, save,
save as, save to the user library, and the unsaved-changes prompt.

Two documents are edited: the shape class of the designer and the preset of composition mode.
Save acts on the active one (the mode on screen). Every file is read and validated by the core
*before* a document is touched, so a file that does not load costs nothing; writes are the
core's atomic writes. The questions a person answers (which file, discard changes?) are
methods, so tests can answer them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings, pyqtSignal
from PyQt6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from app.composition.document import PresetDocument
from app.dialogs import SavePresetDialog, SaveToLibraryDialog
from app.document import Document, ShapeDocument
from fdif_core.editing import blank_class
from fdif_core.errors import FdifError
from fdif_core.library import (
    builtin_root,
    clear_cache,
    file_kind,
    load_shape_file,
    save_user_shape,
    shape_library,
    user_root,
)
from fdif_core.preset_editing import blank_preset
from fdif_core.presets import LoadedPreset, Preset, load_preset, save_user_preset
from fdif_core.shapes import ShapeClass

log = logging.getLogger("fdif.studio")
RECENT_KEY = "files/recent"
RECENT_COUNT = 10
OPEN_FILTER = "FDIF files (*.toml *.fdifbundle);;Shape classes and presets (*.toml);;Bundles (*.fdifbundle)"
SAVE_FILTER = {"shape class": "Shape class (*.toml)", "preset": "Preset (*.toml)"}


class FileActions(QObject):
    """File handling for the class and the preset being edited.

    Signals
    -------
    recent_changed()
        The recent-files list changed.
    collection_opened(str, list)
        A preset or bundle opened: its title and its classes (for the library browser).
    preset_opened()
        A preset or bundle was loaded into the preset document (composition mode shows it).
    shape_opened()
        A class was loaded into the designer's document.
    library_changed()
        A class or preset was written into the user library.
    failed(str)
        A file could not be opened or saved; the message names the file and the problem.
    """

    recent_changed = pyqtSignal()
    collection_opened = pyqtSignal(str, list)
    preset_opened = pyqtSignal()
    shape_opened = pyqtSignal()
    library_changed = pyqtSignal()
    failed = pyqtSignal(str)

    def __init__(self, document: ShapeDocument, presets: PresetDocument, settings: QSettings,
                 window: QWidget, open_preset: Callable[[LoadedPreset, Path | None, bool], None],
                 active: Callable[[], Document]) -> None:
        super().__init__(window)
        self.document, self.presets, self.settings, self.window = document, presets, settings, window
        self._open_preset, self._active = open_preset, active

    @property
    def active(self) -> Document:
        """The document of the mode on screen."""
        return self._active()

    # -- questions (replaced in tests) ---------------------------------------------------------
    def ask_discard(self, document: Document | None = None) -> QMessageBox.StandardButton:
        """Save, Discard or Cancel for unsaved changes."""
        document = document or self.document
        return QMessageBox.question(
            self.window, "Unsaved changes",
            f"The {document.kind} {document.title!r} has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def ask_open_path(self) -> str:
        return QFileDialog.getOpenFileName(self.window, "Open", self._folder(), OPEN_FILTER)[0]

    def ask_save_path(self, document: Document | None = None) -> str:
        document = document or self.document
        suggestion = str(Path(self._folder()) / f"{document.title}.toml")
        return QFileDialog.getSaveFileName(self.window, f"Save {document.kind} as", suggestion,
                                           SAVE_FILTER[document.kind])[0]

    def ask_library_entry(self) -> ShapeClass | None:
        dialog = SaveToLibraryDialog(self.document.data, self.window)
        return dialog.shape() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_preset_entry(self) -> Preset | None:
        dialog = SavePresetDialog(self.presets.data, self.window)
        return dialog.preset() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(self.window, "Replace?",
                                      f"{path} already exists in your library. Replace it?")
        return answer == QMessageBox.StandardButton.Yes

    def _folder(self) -> str:
        recent = self.recent()
        return str(Path(recent[0]).parent) if recent else str(Path.cwd())

    # -- the unsaved-changes rule --------------------------------------------------------------
    def may_discard(self, document: Document | None = None) -> bool:
        """Whether ``document`` (the class by default) may be replaced; asks when it has
        unsaved changes."""
        document = document or self.document
        if not document.dirty:
            return True
        answer = self.ask_discard(document)
        if answer == QMessageBox.StandardButton.Save:
            return self.save(document)
        return answer == QMessageBox.StandardButton.Discard

    # -- opening -------------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.may_discard():
            return False
        self.document.load(blank_class())
        self.shape_opened.emit()
        log.info("new class (a sphere)")
        return True

    def new_preset(self) -> bool:
        if not self.may_discard(self.presets):
            return False
        library = shape_library()
        self._open_preset(LoadedPreset(Preset.model_validate(blank_preset(library)), library,
                                       "new preset"), None, False)
        self.preset_opened.emit()
        log.info("new preset (64³, 2-5 spheres)")
        return True

    def open(self) -> bool:
        path = self.ask_open_path()
        return bool(path) and self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a shape class (designer), preset or bundle (composition); ``False`` (with
        ``failed``) if it does not load."""
        path = Path(path)
        try:
            kind = file_kind(path)
            if kind == "shape":
                return self._open_shape_file(path)
            loaded = load_preset(path)
        except FdifError as err:
            self._fail(f"Cannot open {path.name}: {err}")
            return False
        if not self.may_discard(self.presets):
            return False
        shapes = [loaded.library.get(entry.name) for entry in loaded.preset.classes]
        self.collection_opened.emit(f"{kind.capitalize()}: {loaded.preset.name}", shapes)
        self._open_preset(loaded, path if kind == "preset" else None,
                          kind == "bundle" or self._is_builtin(path, "presets"))
        self._remember(path)
        self.preset_opened.emit()
        log.info("opened %s (%s)", path, kind)
        return True

    def _open_shape_file(self, path: Path) -> bool:
        shape = load_shape_file(path)
        if not self.may_discard():
            return False
        self.document.load(shape.model_dump(mode="json"), path,
                           read_only=self._is_builtin(path, "shapes"))
        self._remember(path)
        self.shape_opened.emit()
        log.info("opened %s (shape)", path)
        return True

    def open_shape(self, shape: ShapeClass, source: str) -> bool:
        """Open a class chosen in the library browser (built-in classes open read-only)."""
        if not self.may_discard():
            return False
        path = Path(source) if source else None
        self.document.load(shape.model_dump(mode="json"), path,
                           read_only=path is None or self._is_builtin(path, "shapes"))
        self.shape_opened.emit()
        log.info("opened class %s%s", shape.name, f" from {source}" if source else "")
        return True

    @staticmethod
    def _is_builtin(path: Path, folder: str) -> bool:
        return path.resolve().is_relative_to((builtin_root() / folder).resolve())

    # -- saving --------------------------------------------------------------------------------
    def save(self, document: Document | None = None) -> bool:
        document = document or self.active
        if document.path is None or document.read_only:
            return self.save_as(document)
        return self._write(document, document.path)

    def save_as(self, document: Document | None = None) -> bool:
        document = document or self.active
        path = self.ask_save_path(document)
        if not path:
            return False
        path = Path(path)
        return self._write(document,
                           path if path.suffix == ".toml" else path.with_name(path.name + ".toml"))

    def _write(self, document: Document, path: Path) -> bool:
        try:
            document.save(path)
        except (FdifError, OSError) as err:
            self._fail(f"Cannot save {path}: {err}")
            return False
        self._remember(path)
        clear_cache()
        log.info("saved %s %s (content hash %s)", document.kind, path,
                 document.model.content_hash[:12])
        return True

    def save_to_library(self) -> bool:
        """Ask for a name, validate, write the active document into the user library."""
        return self._save_preset_to_library() if self.active is self.presets \
            else self._save_shape_to_library()

    def _save_entry(self, target: Path, write: Callable[[bool], Path]) -> Path | None:
        overwrite = target.exists() and self.ask_overwrite(target)
        if target.exists() and not overwrite:
            return None
        try:
            return write(overwrite)
        except (FdifError, OSError) as err:
            self._fail(f"Cannot save to the library: {err}")
            return None

    def _save_shape_to_library(self) -> bool:
        shape = self.ask_library_entry()
        if shape is None:
            return False
        path = self._save_entry(user_root() / "shapes" / f"{shape.name}.toml",
                                lambda overwrite: save_user_shape(shape, overwrite=overwrite))
        if path is None:
            return False
        self.document.load(shape.model_dump(mode="json"), path)
        self._saved_to_library(shape.name, path)
        return True

    def _save_preset_to_library(self) -> bool:
        preset = self.ask_preset_entry()
        if preset is None:
            return False
        path = self._save_entry(user_root() / "presets" / f"{preset.name}.toml",
                                lambda overwrite: save_user_preset(preset, overwrite=overwrite))
        if path is None:
            return False
        self._open_preset(LoadedPreset(preset, shape_library(), str(path)), path, False)
        self._saved_to_library(preset.name, path)
        return True

    def _saved_to_library(self, name: str, path: Path) -> None:
        clear_cache()
        self._remember(path)
        self.library_changed.emit()
        log.info("saved %s to the user library: %s", name, path)

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
