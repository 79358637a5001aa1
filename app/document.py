"""What is being edited — a shape class or a preset — its data, file, dirty flag and the undo
stack that changes it.

A document holds the core's JSON-ready dictionary. Every change is an :class:`EditCommand` on
a :class:`QUndoStack` that stores the dictionary before and after — parameter values, never
volumes. Changes come from :mod:`fdif_core.editing` (classes) and
:mod:`fdif_core.preset_editing` (presets), so what the stack holds has always been validated
by the core. Consecutive commands with the same merge key (one slider drag) merge into one
entry.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QUndoCommand, QUndoStack

from fdif_core.editing import blank_class, validated
from fdif_core.files import write_toml
from fdif_core.shapes import ShapeClass

Data = dict[str, Any]


def skeleton(data: Data) -> tuple:
    """What a value edit leaves alone: node kinds, child counts, parameter names and which
    node parameters name class parameters. Editors rebuild only when this changes."""

    def node(n: Data) -> tuple:
        refs = tuple(sorted((k, isinstance(v, str)) for k, v in n.get("params", {}).items()))
        return (n["kind"], refs, tuple(node(c) for c in n.get("children", [])))

    params = tuple((name, type(v).__name__, v.get("dist") if isinstance(v, dict) else None)
                   for name, v in data.get("params", {}).items())
    return node(data["shape"]), params


class EditCommand(QUndoCommand):
    """One change of the document's data; ``merge_key`` groups a drag into one entry."""

    def __init__(self, document: Document, before: Data, after: Data, text: str,
                 merge_key: Any = None) -> None:
        super().__init__(text)
        self.document, self.before, self.after, self.merge_key = document, before, after, merge_key

    def id(self) -> int:  # noqa: A003 - Qt's name
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())
        return True

    def redo(self) -> None:
        self.document._set(self.after)

    def undo(self) -> None:
        self.document._set(self.before)


class Document(QObject):
    """Something edited as core data, with its file, dirty flag and undo stack.

    Subclasses say how data is validated (:meth:`validate`), turned into the core's model
    (:meth:`build`), written (:meth:`write`), and which part of it editors are built from
    (:meth:`structure`).

    Signals
    -------
    changed(bool)
        The data changed; the flag says whether its :meth:`structure` changed.
    dirty_changed(bool)
        Unsaved changes appeared or were saved.
    path_changed()
        The file the document belongs to changed.
    """

    changed = pyqtSignal(bool)
    dirty_changed = pyqtSignal(bool)
    path_changed = pyqtSignal()
    kind = "document"

    def __init__(self, data: Data, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda clean: self.dirty_changed.emit(not clean))
        self.data: Data = data
        self.model = self.build(data)
        self.path: Path | None = None
        self.read_only = False  # built in: saving asks for a new file

    # Subclasses define validate(data, source) -> data, build(data) -> model and
    # write(path); structure(data) is what editors are built from (all of it by default).
    def structure(self, data: Data) -> Any:
        return data

    # -- shared ----------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        return self.model.name

    def load(self, data: Data, path: Path | None = None, read_only: bool = False) -> None:
        """Start editing ``data`` (validated here); the undo history starts anew."""
        data = self.validate(data, str(path) if path else self.kind)
        self.undo_stack.clear()
        self.path, self.read_only = path, read_only
        self._set(data, structural=True)
        self.undo_stack.setClean()
        self.dirty_changed.emit(False)
        self.path_changed.emit()

    def apply(self, after: Data, text: str, merge_key: Any = None) -> None:
        """Push a change to ``after`` (already validated by the core's edit functions)."""
        if after == self.data:
            return
        self.undo_stack.push(EditCommand(self, copy.deepcopy(self.data), after, text, merge_key))

    def save(self, path: Path) -> None:
        """Write the document to ``path`` atomically and mark it saved."""
        self.write(Path(path))
        self.path, self.read_only = Path(path), False
        self.undo_stack.setClean()
        self.path_changed.emit()

    def _set(self, data: Data, structural: bool | None = None) -> None:
        if structural is None:
            structural = self.structure(data) != self.structure(self.data)
        self.data = data
        self.model = self.build(data)
        self.changed.emit(structural)


class ShapeDocument(Document):
    """The shape class being designed."""

    kind = "shape class"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(blank_class(), parent)

    @property
    def shape(self) -> ShapeClass:
        return self.model

    def validate(self, data: Data, source: str) -> Data:
        return validated(data, source)

    def build(self, data: Data) -> ShapeClass:
        return ShapeClass.model_validate(data)

    def write(self, path: Path) -> None:
        write_toml(path, self.shape)

    def structure(self, data: Data) -> tuple:
        return skeleton(data)
