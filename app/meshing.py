"""The zero surface of a preview's SDF as a VTK mesh (flying edges), for the 3D view.

The core's arrays are laid out ``(D, H, W)`` with axis 0 along z, which is VTK's x-fastest
point order, so the volume is handed to VTK without a copy. Flying edges releases the GIL,
so meshing in the preview worker leaves the GUI thread free.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D

from fdif_core.grid import Grid


def volume_image(grid: Grid, **arrays: np.ndarray) -> pv.ImageData:
    """A ``pyvista.ImageData`` of the grid with ``(D, H, W)`` point arrays."""
    d, h, w = grid.shape
    image = pv.ImageData(dimensions=(w, h, d), spacing=grid.step[::-1], origin=grid.start[::-1])
    for name, array in arrays.items():
        image.point_data[name] = np.ascontiguousarray(array).reshape(-1)
    return image


def zero_surface(grid: Grid, sdf: np.ndarray, intensity: np.ndarray | None = None) -> pv.PolyData:
    """The surface ``sdf = 0`` with gradient normals, and ``intensity`` (float32) interpolated
    at its vertices when given. Vertices are world ``(x, y, z)``; the mesh may be empty."""
    arrays = {"sdf": sdf.astype(np.float32, copy=False)}
    if intensity is not None:
        arrays["intensity"] = intensity.astype(np.float32)
    image = volume_image(grid, **arrays)
    flying = vtkFlyingEdges3D()
    flying.SetInputData(image)
    flying.SetValue(0, 0.0)
    flying.SetInputArrayToProcess(0, 0, 0, 0, "sdf")
    flying.ComputeNormalsOn()
    flying.ComputeScalarsOff()
    flying.SetInterpolateAttributes(intensity is not None)
    flying.Update()
    mesh = pv.wrap(flying.GetOutput())
    if "sdf" in mesh.point_data:
        mesh.point_data.remove("sdf")
    return mesh


def mesh_arrays(mesh: pv.PolyData) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices (N, 3), triangles (M, 3))`` of a :func:`zero_surface` mesh, wound
    counter-clockwise seen from outside as the core's writers expect (flying edges winds the
    triangles of a negative-inside field the other way)."""
    if mesh.n_cells == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    faces = mesh.faces.reshape(-1, 4)
    return np.asarray(mesh.points, dtype=np.float64), faces[:, :0:-1].astype(np.int64)
