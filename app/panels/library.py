"""The library browser: built-in FDIF classes by family, the shipped library, the user
library, presets, and the classes of opened presets or bundles; search by canonical name or
reference alias; an icon per class rendered by the core and cached on disk by content hash.
Classes drag out as :data:`CLASS_MIME` (their canonical names), e.g. onto the preset editor."""

from __future__ import annotations

import queue
from pathlib import Path

from PyQt6.QtCore import QMimeData, QSortFilterProxyModel, Qt, QThread, pyqtSignal
from PyQt6.QtGui import QIcon, QPixmap, QStandardItem, QStandardItemModel
from PyQt6.QtWidgets import QLineEdit, QTreeView, QVBoxLayout, QWidget

from app.background import lower_this_thread
from fdif_core.library import FAMILIES, builtin_root, family_of, library_roots, shape_library, user_root
from fdif_core.shapes import ShapeClass
from fdif_core.thumbnails import cached_thumbnail, thumbnail_path

SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
SHAPE_ROLE = Qt.ItemDataRole.UserRole + 2
SOURCE_ROLE = Qt.ItemDataRole.UserRole + 3
PRESET_ROLE = Qt.ItemDataRole.UserRole + 4
#: MIME type of dragged classes: their canonical names, one per line (UTF-8)
CLASS_MIME = "application/x-fdif-class-names"


def class_names(mime: QMimeData) -> list[str]:
    """The class names a drag from the library browser carries (none for other drags)."""
    if not mime.hasFormat(CLASS_MIME):
        return []
    return [n for n in bytes(mime.data(CLASS_MIME)).decode("utf-8").splitlines() if n]


class LibraryModel(QStandardItemModel):
    """The browser's items; dragging classes gives :data:`CLASS_MIME` and their names as
    plain text."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [CLASS_MIME, "text/plain"]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802 - Qt's name
        names = []
        for index in indexes:
            shape = index.data(SHAPE_ROLE)
            if shape is not None and shape.name not in names:
                names.append(shape.name)
        mime = QMimeData()
        mime.setData(CLASS_MIME, "\n".join(names).encode("utf-8"))
        mime.setText("\n".join(names))
        return mime


class ThumbnailLoader(QThread):
    """Renders missing thumbnails in the background, one class at a time."""

    ready = pyqtSignal(str, str)  # content hash, PNG path

    def __init__(self) -> None:
        super().__init__()
        self.jobs: queue.Queue[ShapeClass | None] = queue.Queue()

    def run(self) -> None:
        lower_this_thread()
        while (shape := self.jobs.get()) is not None:
            try:
                path = cached_thumbnail(shape)
            except Exception:  # noqa: BLE001 - a class that cannot be drawn keeps its blank icon
                continue
            self.ready.emit(shape.content_hash, str(path))

    def stop(self) -> None:
        with self.jobs.mutex:
            self.jobs.queue.clear()
        self.jobs.put(None)
        self.wait(10000)


def _where(source: Path) -> str:
    """Which library a class file belongs to."""
    source = source.resolve()
    if source.is_relative_to((builtin_root() / "shapes").resolve()):
        return "builtin"
    if source.is_relative_to(user_root().resolve()):
        return "user"
    return "extra"


class LibraryBrowser(QWidget):
    """Browser of classes and presets.

    Signals
    -------
    open_shape(ShapeClass, str)
        A class was double-clicked (with its file, or "" for a bundle's class).
    open_preset(str)
        A preset was double-clicked (its file).
    """

    open_shape = pyqtSignal(object, str)
    open_preset = pyqtSignal(str)

    def __init__(self, thumbnails: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes by name or alias (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.model = LibraryModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.tree.setIconSize(QPixmap(32, 32).size())
        self.tree.setUniformRowHeights(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeView.DragDropMode.DragOnly)
        self.tree.doubleClicked.connect(self._activated)
        self.search.textChanged.connect(self._filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        self._items_by_hash: dict[str, list[QStandardItem]] = {}
        self._loader = ThumbnailLoader() if thumbnails else None
        if self._loader is not None:
            self._loader.ready.connect(self._icon_ready)
            self._loader.start()
        self.reload()

    # -- content ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the libraries again (after a save) and rebuild the tree."""
        self.model.clear()
        self._items_by_hash = {}
        library = shape_library()
        groups: dict[str, QStandardItem] = {}

        def group(title: str) -> QStandardItem:
            if title not in groups:
                item = QStandardItem(title)
                item.setData(title, SEARCH_ROLE)
                item.setSelectable(False)
                item.setDragEnabled(False)
                groups[title] = item
            return groups[title]

        for family in FAMILIES:
            group(f"FDIF · {family}")
        for shape in library.ordered():
            where = _where(library.sources[shape.name])
            title = {"builtin": f"FDIF · {family_of(shape)}" if family_of(shape) else "Library",
                     "user": "User library", "extra": "Other libraries"}[where]
            group(title).appendRow(self._shape_item(shape, str(library.sources[shape.name])))
        presets = group("Presets")
        for root in library_roots():
            for path in sorted((root / "presets").glob("*.toml")):
                item = QStandardItem(path.stem)
                item.setData(f"{path.stem} preset", SEARCH_ROLE)
                item.setData(str(path), PRESET_ROLE)
                item.setDragEnabled(False)
                item.setToolTip(str(path))
                presets.appendRow(item)
        for item in groups.values():
            if item.rowCount():
                self.model.appendRow(item)
        self.tree.expandToDepth(0)

    def add_group(self, title: str, shapes: list[ShapeClass]) -> None:
        """A group of classes that live in no library folder (an opened preset or bundle)."""
        for row in range(self.model.rowCount()):
            if self.model.item(row).text() == title:
                self.model.removeRow(row)
                break
        item = QStandardItem(title)
        item.setData(title, SEARCH_ROLE)
        item.setSelectable(False)
        item.setDragEnabled(False)
        for shape in shapes:
            item.appendRow(self._shape_item(shape, ""))
        self.model.insertRow(0, item)
        self.tree.expand(self.proxy.mapFromSource(item.index()))

    def _shape_item(self, shape: ShapeClass, source: str) -> QStandardItem:
        text = shape.name if shape.fdif_id is None else f"{shape.fdif_id:3d}  {shape.name}"
        item = QStandardItem(text)
        item.setData(" ".join([shape.name, shape.display_name, *shape.aliases]), SEARCH_ROLE)
        item.setData(shape, SHAPE_ROLE)
        item.setData(source, SOURCE_ROLE)
        item.setToolTip(f"{shape.display_name}: {shape.description}\n{source or 'from a bundle'}")
        self._items_by_hash.setdefault(shape.content_hash, []).append(item)
        cached = thumbnail_path(shape)
        if cached.is_file():
            item.setIcon(QIcon(str(cached)))
        elif self._loader is not None:
            self._loader.jobs.put(shape)
        return item

    def _icon_ready(self, content_hash: str, path: str) -> None:
        icon = QIcon(path)
        for item in self._items_by_hash.get(content_hash, []):
            item.setIcon(icon)

    # -- use -------------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if text:
            self.tree.expandAll()

    def visible_shapes(self) -> list[str]:
        """Canonical names of the classes the search leaves visible, in tree order."""
        names = []
        for g in range(self.proxy.rowCount()):
            parent = self.proxy.index(g, 0)
            for r in range(self.proxy.rowCount(parent)):
                shape = self.proxy.index(r, 0, parent).data(SHAPE_ROLE)
                if shape is not None:
                    names.append(shape.name)
        return names

    def find(self, name: str):
        """The proxy index of class ``name`` (``None`` if hidden or absent)."""
        for g in range(self.proxy.rowCount()):
            parent = self.proxy.index(g, 0)
            for r in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(r, 0, parent)
                shape = index.data(SHAPE_ROLE)
                if shape is not None and shape.name == name:
                    return index
        return None

    def _activated(self, index) -> None:
        shape = index.data(SHAPE_ROLE)
        if shape is not None:
            self.open_shape.emit(shape, index.data(SOURCE_ROLE) or "")
        elif index.data(PRESET_ROLE):
            self.open_preset.emit(index.data(PRESET_ROLE))

    def shutdown(self) -> None:
        if self._loader is not None:
            self._loader.stop()
