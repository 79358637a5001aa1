"""The inspector: the class's node tree, the selected node's parameters and the class
parameters. Every change goes through :mod:`fdif_core.editing` and the document's undo stack."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.document import ShapeDocument
from app.panels.distribution import DistributionEditor
from app.panels.editors import ParamEditor, ReferenceEditor, editor_for
from fdif_core import editing
from fdif_core.errors import FdifError
from fdif_core.nodes import NODE_KINDS, node_kind
from fdif_core.nodes.registry import ParamSpec
from fdif_core.preview import Instance

CATEGORY_TITLES = {"primitive": "Primitives", "profile": "2D profiles",
                   "construction": "Constructions", "csg": "CSG", "domain": "Domain operations",
                   "displacement": "Displacement"}
PATH_ROLE = Qt.ItemDataRole.UserRole


def describe_value(value: Any) -> str:
    """A short text for undo entries: ``0.45``, ``uniform(0.15, 0.4) × min_grid``, ``r``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        args = {"constant": ("value",), "uniform": ("low", "high"), "randint": ("low", "high"),
                "normal": ("mean", "std"), "choice": ("values",)}[value["dist"]]
        text = f"{value['dist']}({', '.join(str(value[a]) for a in args)})"
        return text + (f" × {value['scale']}" if value.get("scale") else "")
    return str(value)


def node_label(node: dict) -> str:
    """``star  r=r n=5 w=0.5``: the kind and its first parameters."""
    params = " ".join(f"{k}={describe_value(v)}" for k, v in list(node.get("params", {}).items())[:4])
    return f"{node['kind']}  {params}".strip()


class Inspector(QWidget):
    """Node tree, node editor and class parameters of the document.

    Signals
    -------
    error(str)
        An edit the core refused (shown inline as well).
    """

    error = pyqtSignal(str)

    def __init__(self, document: ShapeDocument, span: float = 96.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.span = span
        self.selected: editing.Path = ()
        self.drawn: dict[str, float] = {}
        self.node_editors: dict[str, ParamEditor] = {}
        self.class_editors: dict[str, DistributionEditor] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setMinimumHeight(120)
        self.tree.currentItemChanged.connect(self._on_select)
        self.node_box = QGroupBox("Node")
        self.node_form = QFormLayout(self.node_box)
        self.node_error = QLabel()
        self.node_error.setWordWrap(True)
        self.node_error.setStyleSheet("color: #ff6b6b;")
        self.node_error.hide()
        self.class_box = QGroupBox("Class parameters")
        self.class_layout = QVBoxLayout(self.class_box)
        editors = QWidget()
        editors_layout = QVBoxLayout(editors)
        editors_layout.setContentsMargins(0, 0, 0, 0)
        editors_layout.addWidget(self.node_box)
        editors_layout.addWidget(self.node_error)
        editors_layout.addWidget(self.class_box)
        editors_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(editors)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.scroll)
        splitter.setSizes([160, 440])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self._toolbar())
        layout.addWidget(splitter, 1)
        document.changed.connect(self._on_document_changed)
        self._rebuild()

    # -- toolbar ---------------------------------------------------------------------------
    def _toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.add_button = self._menu_button("Add", "Add a child node of any kind to the selection",
                                            lambda kind: self.add_node(kind), children_only=False)
        self.wrap_button = self._menu_button("Wrap", "Wrap the selection in a CSG or domain "
                                             "operation", lambda kind: self.wrap_node(kind),
                                             children_only=True)
        bar.addWidget(self.add_button)
        bar.addWidget(self.wrap_button)
        for text, tip, slot in (("Remove", "Remove the selected node (Delete)", self.remove_node),
                                ("↑", "Move the node up among its siblings (Ctrl+Up)",
                                 lambda: self.move_node(-1)),
                                ("↓", "Move the node down (Ctrl+Down)", lambda: self.move_node(1))):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            bar.addWidget(button)
        bar.addStretch(1)
        return bar

    def _menu_button(self, text: str, tip: str, slot, children_only: bool) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        for category, kinds in editing.kinds_by_category().items():
            if children_only:
                kinds = [k for k in kinds if NODE_KINDS[k].children[1] > 0]
            if not kinds:
                continue
            sub = menu.addMenu(CATEGORY_TITLES.get(category, category))
            for kind in kinds:
                action = QAction(kind, sub)
                action.setToolTip(NODE_KINDS[kind].description)
                action.triggered.connect(lambda _=False, k=kind: slot(k))
                sub.addAction(action)
        button.setMenu(menu)
        return button

    # -- edits -----------------------------------------------------------------------------
    def _apply(self, edit, text: str, merge_key: Any = None, select: editing.Path | None = None) -> bool:
        """Run an edit function of :mod:`fdif_core.editing`; push its result or show why not.

        The selection moves to the path an edit returns (a new or moved node), else to
        ``select`` when given."""
        try:
            result = edit()
        except (FdifError, IndexError) as err:
            self._show_error(str(err.args[0] if err.args else err))
            return False
        data, path = result if isinstance(result, tuple) else (result, select)
        self._show_error(None)
        if path is not None:
            self.selected = path
        self.document.apply(data, text, merge_key)
        return True

    def add_node(self, kind: str) -> bool:
        parent = self.selected
        return self._apply(lambda: editing.add_child(self.document.data, parent, kind),
                           f"Add {kind} to {self._kind(parent)}")

    def wrap_node(self, kind: str) -> bool:
        path = self.selected
        return self._apply(lambda: editing.wrap_node(self.document.data, path, kind),
                           f"Wrap {self._kind(path)} in {kind}")

    def remove_node(self) -> bool:
        path = self.selected
        return self._apply(lambda: editing.remove_node(self.document.data, path),
                           f"Remove {self._kind(path)}", select=path[:-1])

    def move_node(self, offset: int) -> bool:
        path = self.selected
        return self._apply(lambda: editing.move_node(self.document.data, path, offset),
                           f"Move {self._kind(path)} {'up' if offset < 0 else 'down'}")

    def set_node_param(self, name: str, value: Any, merge_key: Any = None) -> bool:
        path = self.selected
        key = None if merge_key is None else ("node", path, merge_key)
        return self._apply(lambda: editing.set_node_param(self.document.data, path, name, value),
                           f"Change {name} of {self._kind(path)} to {describe_value(value)}", key)

    def set_class_param(self, name: str, value: Any, merge_key: Any = None) -> bool:
        key = None if merge_key is None else ("class", merge_key)
        return self._apply(lambda: editing.set_class_param(self.document.data, name, value),
                           f"Change class parameter {name} to {describe_value(value)}", key)

    def _kind(self, path: editing.Path) -> str:
        try:
            return editing.node_at(self.document.data, path)["kind"]
        except IndexError:
            return "node"

    def _show_error(self, message: str | None) -> None:
        self.node_error.setText(message or "")
        self.node_error.setVisible(bool(message))
        if message:
            self.error.emit(message)

    # -- showing ---------------------------------------------------------------------------
    def _on_document_changed(self, structural: bool) -> None:
        if structural:
            self._rebuild()
        else:
            self._refresh_values()

    def _rebuild(self) -> None:
        """Rebuild the tree and the editors (the selection is kept where it still exists)."""
        data = self.document.data
        try:
            editing.node_at(data, self.selected)
        except IndexError:
            self.selected = ()
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items: dict[editing.Path, QTreeWidgetItem] = {}
        self._add_item(self.tree.invisibleRootItem(), data["shape"], ())
        self.tree.expandAll()
        self.tree.setCurrentItem(self._items[self.selected])
        self.tree.blockSignals(False)
        self._build_node_editors()
        self._build_class_editors()

    def _add_item(self, parent: QTreeWidgetItem, node: dict, path: editing.Path) -> None:
        item = QTreeWidgetItem(parent, [node_label(node)])
        item.setToolTip(0, NODE_KINDS[node["kind"]].description)
        item.setData(0, PATH_ROLE, path)
        self._items[path] = item
        for i, child in enumerate(node.get("children", [])):
            self._add_item(item, child, (*path, i))

    def _on_select(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        if item is None:
            return
        self.selected = tuple(item.data(0, PATH_ROLE))
        self._show_error(None)
        self._build_node_editors()

    def select(self, path: editing.Path) -> None:
        """Select the node at ``path`` in the tree."""
        self.tree.setCurrentItem(self._items[tuple(path)])

    def _build_node_editors(self) -> None:
        while self.node_form.rowCount():
            self.node_form.removeRow(0)
        self.node_editors = {}
        node = editing.node_at(self.document.data, self.selected)
        kind = node_kind(node["kind"])
        self.node_box.setTitle(f"Node: {node['kind']}")
        self.node_box.setToolTip(kind.description)
        specs = list(kind.params)
        declared = {s.name for s in specs}
        specs += [ParamSpec(name, "A named value of the formula.", 0.0) for name in node["params"]
                  if name not in declared]
        class_params = set(self.document.data.get("params", {}))
        for spec in specs:
            value = node["params"].get(spec.name, spec.default)
            editor = editor_for(spec, value, self.span, class_params,
                                lambda text, name=spec.name: self._text_problem(name, text),
                                self.drawn)
            editor.edited.connect(lambda v, key, name=spec.name: self.set_node_param(name, v, key))
            if isinstance(editor, ReferenceEditor):
                editor.jump.connect(self.focus_class_param)
            label = QLabel(spec.name)
            label.setToolTip(spec.description + (f"  [{spec.unit}]" if spec.unit else ""))
            editor.setToolTip(spec.description)
            self.node_form.addRow(label, editor)
            self.node_editors[spec.name] = editor
        if not specs:
            self.node_form.addRow(QLabel("This node has no parameters."))

    def _text_problem(self, name: str, text: str) -> str | None:
        try:
            editing.set_node_param(self.document.data, self.selected, name, text)
        except FdifError as err:
            return str(err.args[0]).split(": ", 1)[-1]
        return None

    def _build_class_editors(self) -> None:
        while self.class_layout.count():
            widget = self.class_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.class_editors = {}
        params = self.document.data.get("params", {})
        self.class_box.setVisible(bool(params))
        for name, value in params.items():
            editor = DistributionEditor(name, value, lambda v, n=name: self._class_problem(n, v))
            editor.edited.connect(lambda v, key, n=name: self.set_class_param(n, v, key))
            editor.set_drawn(self.drawn.get(name))
            self.class_layout.addWidget(editor)
            self.class_editors[name] = editor

    def _class_problem(self, name: str, value: Any) -> str | None:
        try:
            editing.set_class_param(self.document.data, name, value)
        except FdifError as err:
            return str(err.args[0]).split(": ", 1)[-1]
        return None

    def _refresh_values(self) -> None:
        """After a value edit (or its undo): show the values without rebuilding."""
        node = editing.node_at(self.document.data, self.selected)
        for name, editor in self.node_editors.items():
            if name in node["params"]:
                editor.set_value(node["params"][name])
        for name, editor in self.class_editors.items():
            editor.set_value(self.document.data["params"][name])
        for path, item in self._items.items():
            item.setText(0, node_label(editing.node_at(self.document.data, path)))

    def show_instance(self, instance: Instance) -> None:
        """Show the drawn values of the current instance."""
        self.drawn = dict(instance.params)
        for name, editor in self.class_editors.items():
            editor.set_drawn(self.drawn.get(name))
        for editor in self.node_editors.values():
            if isinstance(editor, ReferenceEditor):
                editor.set_drawn(self.drawn.get(editor.name))

    def focus_class_param(self, name: str) -> None:
        """Scroll to and highlight class parameter ``name``."""
        editor = self.class_editors.get(name)
        if editor is not None:
            editor.form.setFocus()
            self.scroll.ensureWidgetVisible(editor)
