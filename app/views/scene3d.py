"""The 3D scene: an off-screen pyvista plotter with the surface, the grid's box and the planes.

Everything here runs in the render thread (``app.views.viewport3d``), which creates the scene
and is the only thread that touches it: VTK's GL objects belong to the thread that made them.
The scene renders into an off-screen EGL window (on Linux; no X or Qt GL involved) and hands
back RGB pixels, so drawing a frame never blocks the GUI thread. Camera moves follow VTK's
trackball-camera interactor style (the one pyvistaqt and Slicer use).
"""

from __future__ import annotations

import math
import os
import sys

if sys.platform.startswith("linux"):  # before VTK makes its first render window
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    # Software GL (Mesa llvmpipe) draws with one thread per core by default, crowding out the GUI
    # thread and the preview worker; one core fewer keeps a drag smooth on a 2-core machine
    # (largest GUI-thread gap 47-57 ms against 66-182 ms, benchmarks/bench_studio.py --gui).
    os.environ.setdefault("LP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))

import numpy as np  # noqa: E402 - after the render-window choice
import pyvista as pv  # noqa: E402

# pyvista loads its plotting module on first use; loading it here, on the thread that imports
# this module, keeps two render threads (one per mode) from racing to load it.
from pyvista import Plotter  # noqa: E402, F401

from app.views.colors import BACKGROUND_3D, HIGHLIGHT, PLANE_COLOURS, SURFACE, label_colour  # noqa: E402
from fdif_core.grid import Grid  # noqa: E402

INTENSITY_RANGE = (0.0, 128.0)
STANDARD_VIEWS = ("xy", "xz", "yz", "isometric")
PLANE_NORMALS = {"axial": 2, "coronal": 1, "sagittal": 0}  # world axis (x 0, y 1, z 2) of the normal
MOTION_FACTOR = 10.0  # VTK's trackball style: degrees and dolly steps per widget size


def _quad(lo: np.ndarray, hi: np.ndarray, axis: int) -> pv.PolyData:
    """The grid's cross-section square normal to world ``axis``, at coordinate 0 there."""
    a, b = (i for i in range(3) if i != axis)
    corners = []
    for u, v in ((lo[a], lo[b]), (hi[a], lo[b]), (hi[a], hi[b]), (lo[a], hi[b])):
        point = [0.0, 0.0, 0.0]
        point[a], point[b] = u, v
        corners.append(point)
    return pv.PolyData(np.array(corners), faces=[4, 0, 1, 2, 3])


def plane_offsets(grid: Grid, crosshair: tuple[int, int, int]) -> dict[str, float]:
    """World coordinate along its normal of each slice plane through voxel ``crosshair``."""
    offsets = {}
    for name, axis in PLANE_NORMALS.items():  # world axis x, y, z = array axis 2, 1, 0
        offsets[name] = grid.start[2 - axis] + crosshair[2 - axis] * grid.step[2 - axis]
    return offsets


class Scene:
    """The plotter and its actors; ``size`` is the image size in pixels ``(width, height)``."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.plotter = pv.Plotter(off_screen=True, window_size=list(size), lighting="none")
        self.plotter.set_background(BACKGROUND_3D)
        self.plotter.add_light(pv.Light(light_type="headlight"))
        self.plotter.show(auto_close=False, interactive=False)
        _ = self.plotter.camera  # pyvista sets the camera up (and renders) on first access: here
        self.mesh = pv.PolyData()
        self.grid: Grid | None = None
        self.surface_actor = None
        self.outline = pv.PolyData()
        self.outline_actor = None
        self.planes: dict[str, tuple[pv.PolyData, object]] = {}
        self.colour_by_intensity = False
        self.planes_visible = True
        self.labels: dict[int, tuple[pv.PolyData, object]] = {}  # label value: mesh, actor
        self._spare: list[tuple[pv.PolyData, object]] = []  # label actors not shown now
        self.hidden_labels: frozenset[int] = frozenset()
        self.label_opacity = 1.0
        self.highlight = pv.PolyData()
        self.highlight_actor = None

    # -- content ---------------------------------------------------------------------------
    def _use_grid(self, grid: Grid) -> bool:
        """Size the box and planes to ``grid``; whether it is a new grid."""
        new_grid = self.grid is None or grid != self.grid
        self.grid = grid
        if new_grid:
            self._build_grid_items(grid)
        return new_grid

    def set_surface(self, mesh: pv.PolyData, grid: Grid) -> None:
        """Show ``mesh`` (updating the one surface actor in place) on ``grid``."""
        new_grid = self._use_grid(grid)
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

    def set_label_surfaces(self, meshes: dict[int, pv.PolyData], grid: Grid) -> None:
        """Show one surface per label value (label colours), replacing the previous set.

        The meshes are handed over (shallow copies, no array is copied). Actors are reused:
        those of values no longer shown wait in a pool for the next sample's new values, so a
        new sample adds actors only when it has more labels than any before (``add_mesh`` is
        milliseconds of Python each, which the GUI thread would wait for on the GIL)."""
        new_grid = self._use_grid(grid)
        shown = {v: m for v, m in meshes.items() if m.n_points}
        for value in [v for v in self.labels if v not in shown]:
            holder, actor = self.labels.pop(value)
            actor.SetVisibility(False)
            self._spare.append((holder, actor))
        for value, mesh in shown.items():
            if value in self.labels:
                self.labels[value][0].shallow_copy(mesh)
            else:
                self.labels[value] = self._label_actor(value, mesh)
        self._apply_label_style()
        if new_grid:
            self.reset_camera()

    def _label_actor(self, value: int, mesh: pv.PolyData) -> tuple[pv.PolyData, object]:
        """``mesh`` in the colour of ``value`` on an actor from the pool, or a new one."""
        rgb = [c / 255 for c in label_colour(value)]
        if self._spare:
            holder, actor = self._spare.pop()
            holder.shallow_copy(mesh)
            actor.GetProperty().SetColor(*rgb)
            return holder, actor
        holder = pv.PolyData()
        holder.shallow_copy(mesh)
        actor = self.plotter.add_mesh(holder, color=rgb, copy_mesh=False, smooth_shading=False,
                                      reset_camera=False, render=False)
        return holder, actor

    def set_hidden_labels(self, hidden: frozenset[int]) -> None:
        self.hidden_labels = frozenset(hidden)
        self._apply_label_style()

    def set_label_opacity(self, opacity: float) -> None:
        self.label_opacity = min(max(float(opacity), 0.0), 1.0)
        self._apply_label_style()

    def _apply_label_style(self) -> None:
        dimmed = self.highlight_actor is not None and self.highlight_actor.GetVisibility()
        for value, (_, actor) in self.labels.items():
            actor.SetVisibility(value not in self.hidden_labels)
            actor.GetProperty().SetOpacity(self.label_opacity * (0.25 if dimmed else 1.0))

    def set_highlight(self, mesh: pv.PolyData | None) -> None:
        """Draw ``mesh`` (one object's voxels) in the highlight colour over the labels, which
        fade while it shows; ``None`` or an empty mesh removes it."""
        show = mesh is not None and mesh.n_points > 0
        if show:
            self.highlight.copy_from(mesh)
            if self.highlight_actor is None:
                self.highlight_actor = self.plotter.add_mesh(
                    self.highlight, color=HIGHLIGHT, copy_mesh=False, smooth_shading=False,
                    reset_camera=False, render=False)
        if self.highlight_actor is not None:
            self.highlight_actor.SetVisibility(show)
        self._apply_label_style()

    def _build_grid_items(self, grid: Grid) -> None:
        """The grid's bounding box and one plane per slice view, sized to the grid."""
        lo = np.array(grid.start[::-1])
        hi = lo + (np.array(grid.shape[::-1]) - 1) * np.array(grid.step[::-1])
        self.outline.copy_from(pv.Box(bounds=(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])).outline())
        if self.outline_actor is None:
            self.outline_actor = self.plotter.add_mesh(self.outline, color="#8a94a3", copy_mesh=False,
                                                       reset_camera=False, render=False)
        for name, axis in PLANE_NORMALS.items():
            plane = _quad(lo, hi, axis)
            if name in self.planes:
                self.planes[name][0].copy_from(plane)
            else:
                actor = self.plotter.add_mesh(plane, color=PLANE_COLOURS[name], opacity=0.25,
                                              copy_mesh=False, reset_camera=False, render=False,
                                              lighting=False)
                actor.SetVisibility(self.planes_visible)
                self.planes[name] = (plane, actor)

    def place_planes(self, offsets: dict[str, float]) -> None:
        """Move each plane to its world coordinate along its normal."""
        for name, (_, actor) in self.planes.items():
            position = [0.0, 0.0, 0.0]
            position[PLANE_NORMALS[name]] = offsets[name]
            actor.SetPosition(*position)

    def plane_position(self, name: str) -> tuple[float, float, float]:
        """Where the plane of slice view ``name`` is drawn."""
        return tuple(self.planes[name][1].GetPosition())

    # -- options ---------------------------------------------------------------------------
    def set_colour_by_intensity(self, on: bool) -> None:
        self.colour_by_intensity = bool(on)
        self._apply_colouring()

    def _apply_colouring(self) -> None:
        if self.surface_actor is not None:
            self.surface_actor.mapper.SetScalarVisibility(self.colour_by_intensity)

    def set_planes_visible(self, on: bool) -> None:
        self.planes_visible = bool(on)
        for _, actor in self.planes.values():
            actor.SetVisibility(self.planes_visible)

    # -- camera ----------------------------------------------------------------------------
    def reset_camera(self) -> None:
        self.plotter.view_isometric(render=False)
        self.plotter.reset_camera(render=False)

    def standard_view(self, which: str, negative: bool = False) -> None:
        """Look along an axis (``"xy"``: down z, ``"xz"``, ``"yz"``) or from the diagonal."""
        if which not in STANDARD_VIEWS:
            raise ValueError(f"unknown view {which!r} (known: {', '.join(STANDARD_VIEWS)})")
        getattr(self.plotter, f"view_{which}")(negative=negative, render=False)

    def camera_pose(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(position, focal point, view up)`` of the camera, world coordinates."""
        camera = self.plotter.renderer.GetActiveCamera()
        return (np.array(camera.GetPosition()), np.array(camera.GetFocalPoint()),
                np.array(camera.GetViewUp()))

    def rotate(self, dx: float, dy: float) -> None:
        """Trackball rotation for a mouse move of ``(dx, dy)`` pixels (y down)."""
        width, height = self.plotter.window_size
        camera = self.plotter.renderer.GetActiveCamera()
        camera.Azimuth(-20.0 / width * dx * MOTION_FACTOR)
        camera.Elevation(20.0 / height * dy * MOTION_FACTOR)
        camera.OrthogonalizeViewUp()
        self.plotter.renderer.ResetCameraClippingRange()

    def zoom(self, steps: float) -> None:
        """Dolly towards the focal point by ``1.1 ** steps`` (positive: closer)."""
        self.plotter.renderer.GetActiveCamera().Dolly(1.1 ** steps)
        self.plotter.renderer.ResetCameraClippingRange()

    def zoom_drag(self, dy: float) -> None:
        """Zoom for a vertical mouse move of ``dy`` pixels (up: closer), as VTK's right drag."""
        self.zoom(-MOTION_FACTOR * dy / (self.plotter.window_size[1] / 2))

    def pan(self, dx: float, dy: float) -> None:
        """Move the scene with the mouse by ``(dx, dy)`` pixels (y down)."""
        camera = self.plotter.renderer.GetActiveCamera()
        position, focal = np.array(camera.GetPosition()), np.array(camera.GetFocalPoint())
        forward = focal - position
        distance = float(np.linalg.norm(forward))
        up = np.array(camera.GetViewUp())
        right = np.cross(forward / distance, up)
        height = self.plotter.window_size[1]
        if camera.GetParallelProjection():
            per_pixel = 2.0 * camera.GetParallelScale() / height
        else:
            per_pixel = 2.0 * distance * math.tan(math.radians(camera.GetViewAngle()) / 2) / height
        shift = (-dx * right + dy * up) * per_pixel
        camera.SetPosition(*(position + shift))
        camera.SetFocalPoint(*(focal + shift))
        self.plotter.renderer.ResetCameraClippingRange()

    # -- frames ----------------------------------------------------------------------------
    def resize(self, size: tuple[int, int]) -> None:
        if tuple(self.plotter.window_size) != tuple(size):
            self.plotter.window_size = list(size)

    def render(self) -> np.ndarray:
        """Draw the scene; its pixels ``(height, width, 3)`` uint8, top row first."""
        self.plotter.render()
        return np.ascontiguousarray(self.plotter.image)

    def close(self) -> None:
        self.plotter.close()
