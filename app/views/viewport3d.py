"""The 3D view: the instance's zero surface, the grid's box and the three slice planes.

A pyvistaqt ``QtInteractor`` with ``auto_update=False`` and no multisampling (each render on
a software GL costs milliseconds per frame); meshes are updated in place with ``copy_from``,
so the scene keeps one actor per item however many updates arrive, and every change ends in
one ``update()`` (one paint).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from app.state import ViewState
from app.views.colors import BACKGROUND_3D, PLANE_COLOURS, SURFACE
from fdif_core.grid import Grid

INTENSITY_RANGE = (0.0, 128.0)
STANDARD_VIEWS = ("xy", "xz", "yz", "isometric")
PLANE_NORMALS = {"axial": 2, "coronal": 1, "sagittal": 0}  # world axis (x 0, y 1, z 2) of the normal


def _quad(lo: np.ndarray, hi: np.ndarray, axis: int) -> pv.PolyData:
    """The grid's cross-section square normal to world ``axis``, at coordinate 0 there."""
    a, b = (i for i in range(3) if i != axis)
    corners = []
    for u, v in ((lo[a], lo[b]), (hi[a], lo[b]), (hi[a], hi[b]), (lo[a], hi[b])):
        point = [0.0, 0.0, 0.0]
        point[a], point[b] = u, v
        corners.append(point)
    return pv.PolyData(np.array(corners), faces=[4, 0, 1, 2, 3])


class Viewport3D(QWidget):
    """The 3D view. ``mesh`` is the surface shown (world x, y, z)."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.plotter = QtInteractor(self, auto_update=False, multi_samples=0)
        self.plotter.set_background(BACKGROUND_3D)
        self.plotter.remove_all_lights()
        self.plotter.add_light(pv.Light(light_type="headlight"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plotter)
        self.mesh = pv.PolyData()
        self.grid: Grid | None = None
        self.surface_actor = None
        self.outline = pv.PolyData()
        self.outline_actor = None
        self.planes: dict[str, tuple[pv.PolyData, object]] = {}
        self.colour_by_intensity = False
        self.planes_visible = True
        self.renders = 0
        state.crosshair_changed.connect(self._place_planes)

    # -- content ---------------------------------------------------------------------------
    def set_surface(self, mesh: pv.PolyData, grid: Grid) -> None:
        """Show ``mesh`` (updating the one surface actor in place) on ``grid``."""
        new_grid = self.grid is None or grid != self.grid
        self.grid = grid
        if new_grid:
            self._build_grid_items(grid)
        if mesh.n_points:
            self.mesh.copy_from(mesh)
            if self.surface_actor is None:
                self.surface_actor = self.plotter.add_mesh(
                    self.mesh, color=SURFACE, scalars="intensity" if "intensity" in mesh.point_data
                    else None, cmap="bone", clim=INTENSITY_RANGE, show_scalar_bar=False,
                    smooth_shading=False, copy_mesh=False, reset_camera=False, render=False)
                self._apply_colouring()
            self.surface_actor.SetVisibility(True)
        elif self.surface_actor is not None:
            self.surface_actor.SetVisibility(False)
        if new_grid:
            self.reset_camera()
        self.redraw()

    def _build_grid_items(self, grid: Grid) -> None:
        """The grid's bounding box and one plane per slice view, sized to the grid."""
        lo = np.array(grid.start[::-1])
        hi = lo + (np.array(grid.shape[::-1]) - 1) * np.array(grid.step[::-1])
        box = pv.Box(bounds=(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])).outline()
        self.outline.copy_from(box)
        if self.outline_actor is None:
            self.outline_actor = self.plotter.add_mesh(self.outline, color="#8a94a3",
                                                       copy_mesh=False, reset_camera=False,
                                                       render=False)
        for name, axis in PLANE_NORMALS.items():
            plane = _quad(lo, hi, axis)
            if name in self.planes:
                self.planes[name][0].copy_from(plane)
            else:
                actor = self.plotter.add_mesh(plane, color=PLANE_COLOURS[name], opacity=0.25,
                                              copy_mesh=False, reset_camera=False, render=False,
                                              lighting=False)
                self.planes[name] = (plane, actor)
        self._place_planes(redraw=False)

    def _place_planes(self, redraw: bool = True) -> None:
        if self.grid is None:
            return
        grid = self.grid
        for name, (_, actor) in self.planes.items():
            axis = PLANE_NORMALS[name]  # world axis x, y, z = array axis 2, 1, 0
            offset = [0.0, 0.0, 0.0]
            offset[axis] = grid.start[2 - axis] + self.state.crosshair[2 - axis] * grid.step[2 - axis]
            actor.SetPosition(*offset)
            actor.SetVisibility(self.planes_visible)
        if redraw:
            self.redraw()

    # -- options ---------------------------------------------------------------------------
    def set_colour_by_intensity(self, on: bool) -> None:
        self.colour_by_intensity = bool(on)
        self._apply_colouring()
        self.redraw()

    def _apply_colouring(self) -> None:
        if self.surface_actor is not None:
            self.surface_actor.mapper.SetScalarVisibility(self.colour_by_intensity)

    def set_planes_visible(self, on: bool) -> None:
        self.planes_visible = bool(on)
        self._place_planes()

    def reset_camera(self) -> None:
        self.plotter.view_isometric(render=False)
        self.plotter.reset_camera(render=False)
        self.redraw()

    def standard_view(self, which: str, negative: bool = False) -> None:
        """Look along an axis (``"xy"``: down z, ``"xz"``, ``"yz"``) or from the diagonal."""
        if which not in STANDARD_VIEWS:
            raise ValueError(f"unknown view {which!r} (known: {', '.join(STANDARD_VIEWS)})")
        getattr(self.plotter, f"view_{which}")(negative=negative, render=False)
        self.redraw()

    def redraw(self) -> None:
        """Schedule one paint of the scene."""
        self.renders += 1
        self.plotter.update()

    def grab_image(self) -> QImage:
        """The rendered scene as an image (what a screenshot saves)."""
        self.plotter.render()
        return self.plotter.grabFramebuffer()

    def close_plotter(self) -> None:
        """Release the GL resources (before the widget is destroyed)."""
        self.plotter.close()
