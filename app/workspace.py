"""The centre of the window: the view controls, an error banner, and the 2 × 2 view grid
(3D, axial, coronal, sagittal) showing one preview result."""

from __future__ import annotations

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.panels.view_controls import ViewControls
from app.preview import PreviewResult
from app.state import ViewState
from app.views.colors import PLANE_COLOURS
from app.views.grid import ViewFrame, ViewGrid
from app.views.slices import ORIENTATIONS, SliceView
from app.views.viewport3d import Viewport3D

VIEW_BUTTONS = (("Reset", "Fit the grid in view, isometric (Home)", "reset"),
                ("Top", "Look down z (axial)", "xy"), ("Front", "Look along y (coronal)", "xz"),
                ("Side", "Look along x (sagittal)", "yz"), ("Iso", "Isometric view", "isometric"))


class Workspace(QWidget):
    """Views, their controls and the banner that shows why a change could not be previewed."""

    def __init__(self, state: ViewState, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.viewport = Viewport3D(state)
        self.slices = {name: SliceView(name, state) for name in ORIENTATIONS}
        self.frames = {"3d": ViewFrame("3d", self.viewport, "#c8ced6", "3D")}
        for name, view in self.slices.items():
            self.frames[name] = ViewFrame(name, view, PLANE_COLOURS[name], name.capitalize())
        frame3d = self.frames["3d"]
        for text, tip, which in VIEW_BUTTONS:
            frame3d.add_tool(text, tip, (lambda _=False, w=which: self.viewport.reset_camera())
                             if which == "reset" else
                             (lambda _=False, w=which: self.viewport.standard_view(w)))
        self.grid = ViewGrid(self.frames)
        self.controls = ViewControls(state, settings)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #5a1e1e; color: #ffd6d6; padding: 4px 8px;")
        self.banner.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.controls)
        layout.addWidget(self.banner)
        layout.addWidget(self.grid, 1)
        state.crosshair_changed.connect(self._update_titles)

    def show_result(self, result: PreviewResult) -> None:
        """Show a preview in all four views."""
        preview = result.preview
        for view in self.slices.values():
            view.set_volumes(preview.grid, preview.image, preview.label, preview.sdf)
        self.viewport.set_surface(result.mesh, preview.grid)
        self.frames["3d"].info.setText(f"{result.mesh.n_points:,} vertices, "
                                       f"{result.mesh.n_cells:,} triangles")
        self._update_titles()

    def show_sample(self, result) -> None:
        """Show a composed sample (:class:`~app.composition.service.SampleResult`): image and
        the labels of the chosen channel in the slices, one surface per label in 3D."""
        preview, task = result.preview, result.task
        names = preview.label_names[task]
        for view in self.slices.values():
            view.set_volumes(preview.grid, preview.image, preview.task_label(task),
                             owner=preview.owner, names=names)
        self.viewport.set_label_surfaces(result.surfaces, preview.grid)
        points = sum(mesh.n_points for mesh in result.surfaces.values())
        self.frames["3d"].info.setText(f"{len(result.surfaces)} label surfaces, "
                                       f"{points:,} vertices")
        self._update_titles()

    def show_error(self, message: str | None) -> None:
        """Show (or, with ``None``, hide) the banner."""
        self.banner.setText(message or "")
        self.banner.setVisible(bool(message))

    def _update_titles(self) -> None:
        for name, view in self.slices.items():
            self.frames[name].info.setText(view.title().split("  ", 1)[-1])
