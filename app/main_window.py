"""The studio's main window: the views in the centre, the library browser on the left, the
inspector and the instance panel on the right, log and undo history at the bottom.

The window only wires things together: the document (what is edited), the instance state
(how it is drawn), the view state (what the slices show) and the preview service (the core,
off the GUI thread). Every number it shows comes from a :class:`~app.preview.PreviewResult`.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QUrl
from PyQt6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QUndoGroup
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QTabWidget,
    QUndoView,
    QWidget,
)

from app.actions import ACTIONS, make_actions
from app.bundle_actions import BundleActions
from app.composition.mode import CompositionMode
from app.composition.preset_editor import PresetEditor
from app.document import ShapeDocument
from app.file_actions import FileActions
from app.jobs.panel import JobsPanel
from app.meshing import mesh_arrays
from app.panels.inspector import Inspector
from app.panels.instance_panel import InstancePanel
from app.panels.library import LibraryBrowser
from app.panels.log import LogView
from app.preview import PreviewRequest, PreviewResult, PreviewService
from app.state import InstanceState, ViewState
from app.status_line import StatusLine
from app.window_slots import connect_actions
from app.workspace import Workspace
from fdif_core.errors import FdifError
from fdif_core.library import resolve_shape
from fdif_core.meshing import MESH_FORMATS, write_mesh
from fdif_core.presets import load_preset

log = logging.getLogger("fdif.studio")
START_CLASS = "five_star_prism"  # a built-in class with a surface worth looking at
START_PRESET = "quick"  # composition mode opens on it: small samples, every class
OPENABLE = (".toml", ".fdifbundle")
MODES = ("designer", "composition")
MODE_DOCKS = {"designer": ("inspector", "instance"), "composition": ("sample", "preset")}
#: actions that act on one mode only (disabled in the other)
MODE_ACTIONS = {"designer": ("new", "reroll", "remove_node", "move_up", "move_down",
                             "export_mesh", "toggle_intensity"),
                "composition": ("next_sample", "previous_sample", "export_bundle")}


class MainWindow(QMainWindow):
    """The studio.

    Parameters
    ----------
    settings : QSettings, optional
        Where layout, recent files and presets persist (tests pass a temporary file).
    thumbnails : bool
        Render missing library icons in the background.
    """

    def __init__(self, settings: QSettings | None = None, thumbnails: bool = True) -> None:
        super().__init__()
        self.settings = settings or QSettings("FDIF", "FDIF Studio")
        self.document = ShapeDocument(self)
        self.composition = CompositionMode(self.settings, self)
        self.undo_group = QUndoGroup(self)
        for stack in (self.document.undo_stack, self.composition.document.undo_stack):
            self.undo_group.addStack(stack)
        self.undo_group.setActiveStack(self.document.undo_stack)
        self.mode = "designer"
        self._composition_sized = False
        self.instance = InstanceState(parent=self)
        self.view_state = ViewState(parent=self)
        self.service = PreviewService(self)
        self.result: PreviewResult | None = None
        self.last_update_ms = 0.0
        self._shut_down = False
        self.exit_code = 0  # what the process returns when this window closes it
        self.workspace = Workspace(self.view_state, self.settings)
        self.modes = QTabWidget()
        self.modes.setDocumentMode(True)
        self.modes.addTab(self.workspace, "Designer")
        self.modes.addTab(self.composition.workspace, "Composition")
        self.modes.setTabToolTip(0, "Design one shape class (F2)")
        self.modes.setTabToolTip(1, "Whole samples of a preset, as fdif generate writes them "
                                 "(F3)")
        self.setCentralWidget(self.modes)
        self.library = LibraryBrowser(thumbnails)
        self.inspector = Inspector(self.document)
        self.preset_editor = PresetEditor(self.composition.document)
        self.instance_panel = InstancePanel(self.instance)
        self.log_view = LogView()
        self.jobs = JobsPanel(preset_source=self.composition.preset_for_job)
        self.history = QUndoView(self.undo_group)
        self.history.setEmptyLabel("Opened")
        self.bundles = BundleActions(self.composition.document, self)
        self.files = FileActions(self.document, self.composition.document, self.settings, self,
                                 self.composition.open, lambda: self.active_document)
        self._build_docks()
        self.actions = make_actions(self)
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1480, 940)
        self._restore()
        self.document.load(resolve_shape(START_CLASS).model_dump(mode="json"), None, read_only=True)
        self.composition.open(load_preset(START_PRESET), None, read_only=True)
        saved_mode = self.settings.value("window/mode")
        self.mode = saved_mode if saved_mode in MODES else "designer"
        self._apply_mode()
        log.info("FDIF Studio ready: %s (built-in, read-only: Save As or Save to Library keeps "
                 "your changes)", START_CLASS)

    # -- layout ----------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState needs a name
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea,
                               Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)
        self.docks = {"library": self._dock("Library", "library", self.library, left),
                      "inspector": self._dock("Inspector", "inspector", self.inspector, right),
                      "instance": self._dock("Instance", "instance", self.instance_panel, right),
                      "sample": self._dock("Sample", "sample", self.composition.panel, right),
                      "log": self._dock("Messages", "log", self.log_view, bottom),
                      "history": self._dock("History", "history", self.history, bottom),
                      "jobs": self._dock("Jobs", "jobs", self.jobs, bottom)}
        self.docks["preset"] = self._dock("Preset", "preset", self.preset_editor, right)
        for key in MODE_DOCKS["composition"]:
            # Never on screen together with the designer's docks: a tab bar made for both
            # would stay behind, drawn over the views, once one side is hidden.
            self.docks[key].hide()
        self.tabifyDockWidget(self.docks["log"], self.docks["history"])
        self.tabifyDockWidget(self.docks["history"], self.docks["jobs"])
        self.tabifyDockWidget(self.docks["inspector"], self.docks["sample"])
        self.tabifyDockWidget(self.docks["sample"], self.docks["preset"])
        self.docks["log"].raise_()
        self.resizeDocks([self.docks["library"], self.docks["inspector"]], [250, 450],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["inspector"], self.docks["instance"]], [520, 380],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["log"]], [120], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        menus = {}
        for spec in ACTIONS:
            if spec.menu not in menus:
                menus[spec.menu] = self.menuBar().addMenu(f"&{spec.menu}")
            menus[spec.menu].addAction(self.actions[spec.key])
            if spec.key == "open":
                self.recent_menu = menus["File"].addMenu("Open &Recent")
            if spec.key in ("save_to_library", "import_bundle", "screenshot", "redo", "move_down",
                            "previous_sample", "mode_composition", "view_grid", "reset_window",
                            "new_finetune_job"):
                menus[spec.menu].addSeparator()
        panels = menus["View"].addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        self._fill_recent()

    def _build_status_bar(self) -> None:
        self.status_line = StatusLine(self.statusBar())
        self.readout, self.status = self.status_line.readout, self.status_line.labels

    # -- wiring ----------------------------------------------------------------------------
    def _connect(self) -> None:
        connect_actions(self)
        group = self.undo_group
        group.canUndoChanged.connect(self.actions["undo"].setEnabled)
        group.canRedoChanged.connect(self.actions["redo"].setEnabled)
        group.undoTextChanged.connect(lambda t: self.actions["undo"].setText(f"&Undo {t}".strip()))
        group.redoTextChanged.connect(lambda t: self.actions["redo"].setText(f"&Redo {t}".strip()))
        self.actions["undo"].setEnabled(False)
        self.actions["redo"].setEnabled(False)
        self.actions["toggle_overlay"].setChecked(self.view_state.overlay_visible)
        self.actions["toggle_planes"].setChecked(True)
        for state in (self.view_state, self.composition.view_state):
            state.overlay_changed.connect(self._sync_overlay_actions)
        self.document.changed.connect(lambda _structural: self.request_preview())
        for document in (self.document, self.composition.document):
            document.dirty_changed.connect(lambda _dirty: self._update_title())
            document.changed.connect(lambda _structural: self._update_title())  # a new name
            document.path_changed.connect(self._update_title)
        self.modes.currentChanged.connect(lambda i: self.set_mode(MODES[i]))
        self.composition.shown.connect(
            lambda result: self.status_line.composition(result, self.composition.last_update_ms))
        self.composition.open_class.connect(self.open_class_of_sample)
        self.files.preset_opened.connect(lambda: self.set_mode("composition"))
        self.files.shape_opened.connect(lambda: self.set_mode("designer"))
        self.instance.changed.connect(self.request_preview)
        self.service.ready.connect(self.show_result)
        self.service.failed.connect(self.show_failure)
        self.inspector.error.connect(lambda message: log.warning("edit refused: %s", message))
        self.library.open_shape.connect(self.files.open_shape)
        self.library.open_preset.connect(self.files.open_path)
        self.files.recent_changed.connect(self._fill_recent)
        self.files.collection_opened.connect(self.library.add_group)
        for source in (self.files, self.bundles):
            source.library_changed.connect(self.library.reload)
            source.failed.connect(self._show_file_error)
        for workspace in (self.workspace, self.composition.workspace):
            for view in workspace.slices.values():
                view.hovered.connect(self.readout.setText)

    def _sync_overlay_actions(self) -> None:
        state = self.active_view_state
        for key, on in (("toggle_overlay", state.overlay_visible),
                        ("toggle_outline", state.overlay_outline),
                        ("toggle_planes", self.active_workspace.viewport.planes_visible)):
            action = self.actions[key]
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    # -- modes -----------------------------------------------------------------------------
    @property
    def active_document(self):
        """The document of the mode on screen (the class, or the preset)."""
        return self.composition.document if self.mode == "composition" else self.document

    @property
    def active_workspace(self) -> Workspace:
        return self.composition.workspace if self.mode == "composition" else self.workspace

    @property
    def active_service(self):
        """The preview worker of the mode on screen."""
        return self.composition.service if self.mode == "composition" else self.service

    @property
    def active_view_state(self) -> ViewState:
        return self.composition.view_state if self.mode == "composition" else self.view_state

    def set_mode(self, mode: str) -> None:
        """Show the designer or composition mode: its views, docks, undo history, actions."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
        if mode != self.mode:
            self.mode = mode
            self._apply_mode()

    def _apply_mode(self) -> None:
        mode = self.mode
        self.modes.blockSignals(True)
        self.modes.setCurrentIndex(MODES.index(mode))
        self.modes.blockSignals(False)
        for name, keys in MODE_DOCKS.items():
            for key in keys:
                self.docks[key].setVisible(name == mode)
        if mode == "composition" and not self._composition_sized:
            self._composition_sized = True  # the object table's columns need room, once
            self.resizeDocks([self.docks["sample"]], [560], Qt.Orientation.Horizontal)
        for name, keys in MODE_ACTIONS.items():
            for key in keys:
                self.actions[key].setEnabled(name == mode)
        self.undo_group.setActiveStack(self.active_document.undo_stack)
        self.composition.set_active(mode == "composition")
        self._sync_overlay_actions()
        self._update_title()
        self.status_line.show(mode)

    def open_class_of_sample(self, name: str) -> None:
        """Open the class of an object of the sample in the designer."""
        library = self.composition.document.library
        try:
            shape = library.get(name)
        except FdifError as err:
            self._show_file_error(str(err))
            return
        source = library.sources.get(shape.name)
        self.files.open_shape(shape, str(source) if source and source.is_file() else "")
        self.set_mode("designer")

    def set_overlay_visible(self, on: bool) -> None:
        self.active_view_state.set_overlay(visible=on)

    def set_overlay_outline(self, on: bool) -> None:
        self.active_view_state.set_overlay(outline=on)

    def set_planes_visible(self, on: bool) -> None:
        self.active_workspace.viewport.set_planes_visible(on)

    # -- previews --------------------------------------------------------------------------
    def request_preview(self) -> int:
        """Ask the worker for the current class and instance; returns the request number."""
        return self.service.request(self.document.shape, self.instance.settings)

    def show_result(self, result: PreviewResult) -> None:
        """Show a finished preview everywhere (stale results never reach this)."""
        self.result = result
        preview = result.preview
        self.view_state.set_shape(preview.grid.shape)
        self.inspector.span = float(min(preview.grid.shape))
        self.workspace.show_result(result)
        self.workspace.show_error(None)
        self.inspector.show_instance(preview.instance)
        self.instance_panel.show_preview(preview)
        self.last_update_ms = self.service.elapsed_ms(result)
        self.status_line.designer(result, self.last_update_ms)

    def show_failure(self, request: PreviewRequest, message: str) -> None:
        """The core refused the class or instance: say why, keep showing the last result."""
        self.workspace.show_error(f"Cannot preview {request.shape.name} (seed "
                                  f"{request.settings.seed}): {message}")
        log.error("preview failed: %s", message)

    # -- commands --------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.docks["library"].show()
        self.docks["library"].raise_()
        self.library.search.setFocus()
        self.library.search.selectAll()

    def export_mesh(self, path: str | None = None) -> bool:
        """Write the surface shown through the core's mesh writer (format by suffix)."""
        if self.result is None or self.result.mesh.n_cells == 0:
            self._show_file_error("There is no surface to export: the instance has no zero crossing.")
            return False
        if path is None:
            filters = ";;".join(f"{s[1:].upper()} (*{s})" for s in MESH_FORMATS)
            path = QFileDialog.getSaveFileName(self, "Export mesh", f"{self.document.shape.name}.stl",
                                               filters)[0]
            if not path:
                return False
        vertices, faces = mesh_arrays(self.result.mesh)
        try:
            write_mesh(Path(path), vertices, faces, self.document.shape.name)
        except (FdifError, OSError) as err:
            self._show_file_error(f"Cannot export the mesh to {path}: {err}")
            return False
        log.info("exported %d vertices, %d triangles to %s", len(vertices), len(faces), path)
        return True

    def screenshot(self, path: str | None = None) -> bool:
        """Save the 3D view as PNG and put it on the clipboard."""
        image = self.active_workspace.viewport.grab_image()
        QGuiApplication.clipboard().setImage(image)
        if path is None:
            path = QFileDialog.getSaveFileName(self, "Save screenshot",
                                               f"{self.active_document.title}.png", "PNG (*.png)")[0]
            if not path:
                log.info("3D view copied to the clipboard")
                return False
        if not image.save(str(path), "PNG"):
            self._show_file_error(f"Cannot write the screenshot to {path}")
            return False
        log.info("3D view saved to %s and copied to the clipboard", path)
        return True

    def _show_file_error(self, message: str) -> None:
        self.workspace.show_error(message)
        self.statusBar().showMessage(message, 8000)

    # -- title, recent files, drag and drop ------------------------------------------------
    def _update_title(self) -> None:
        doc = self.active_document
        where = str(doc.path) if doc.path else ("built-in, read-only" if doc.read_only else "not saved")
        self.setWindowTitle(f"{doc.title}[*] — {where} — FDIF Studio")
        self.setWindowModified(doc.dirty)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.files.recent()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.files.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    @staticmethod
    def _dropped_files(urls: list[QUrl]) -> list[str]:
        return [url.toLocalFile() for url in urls
                if url.isLocalFile() and Path(url.toLocalFile()).suffix in OPENABLE]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and self._dropped_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        files = self._dropped_files(event.mimeData().urls())
        if files:
            event.acceptProposedAction()
            self.files.open_path(files[0])

    # -- lifetime --------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        grid = self.settings.value("instance/grid")
        if grid is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.instance.update(grid=(int(grid),) * 3)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("instance/grid", self.instance.settings.grid[0])
        self.settings.setValue("window/mode", self.mode)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        documents = (self.document, self.composition.document)
        if not all(self.files.may_discard(d) for d in documents) or not self.jobs.confirm_close():
            event.ignore()
            return
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the background threads and release GL (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.service.shutdown()
        self.composition.shutdown()
        self.library.shutdown()
        self.log_view.detach()
        self.jobs.shutdown()
        self.workspace.viewport.close_plotter()
