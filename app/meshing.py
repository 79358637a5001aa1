"""The zero surface of a preview's SDF as a VTK mesh (flying edges), for the 3D view.

The core's arrays are laid out ``(D, H, W)`` with axis 0 along z, which is VTK's x-fastest
point order, so the volume is handed to VTK without a copy. Flying edges releases the GIL,
so meshing in the preview worker leaves the GUI thread free.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from scipy import ndimage
from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D

from fdif_core.grid import Grid

MASK_MARGIN = 2  # voxels around a label's box: room for the smoothing and a closed surface


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


def _box(mask: np.ndarray) -> tuple[slice, slice, slice] | None:
    """The voxel box of ``mask``'s true voxels, widened by :data:`MASK_MARGIN` (``None`` if
    there are none)."""
    box = []
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(mask.any(axis=others))
        if not len(hits):
            return None
        box.append(slice(max(int(hits[0]) - MASK_MARGIN, 0), int(hits[-1]) + MASK_MARGIN + 1))
    return tuple(box)


def mask_surface(grid: Grid, mask: np.ndarray, smooth: bool = True) -> pv.PolyData:
    """The boundary of a boolean ``(D, H, W)`` mask as a mesh in world ``(x, y, z)``.

    Flying edges runs on the mask's box only, at level 1/2 of the mask — first averaged over
    3 × 3 × 3 voxels when ``smooth`` (as label-map surfaces are smoothed in Slicer), which
    rounds the voxel steps off — with gradient normals. Empty masks give an empty mesh.
    """
    box = _box(mask)
    if box is None:
        return pv.PolyData()
    field = mask[box].astype(np.float32)
    if smooth:
        field = ndimage.uniform_filter(field, 3, mode="constant")
    d, h, w = field.shape
    start = [grid.start[a] + box[a].start * grid.step[a] for a in range(3)]
    image = pv.ImageData(dimensions=(w, h, d), spacing=grid.step[::-1], origin=start[::-1])
    image.point_data["mask"] = field.reshape(-1)
    flying = vtkFlyingEdges3D()
    flying.SetInputData(image)
    flying.SetValue(0, 0.5)
    flying.ComputeNormalsOn()
    flying.ComputeScalarsOff()
    flying.Update()
    return pv.wrap(flying.GetOutput())


def label_surfaces(grid: Grid, label: np.ndarray, smooth: bool = True) -> dict[int, pv.PolyData]:
    """One :func:`mask_surface` per label value present in ``label`` (background 0 left out)."""
    values = np.unique(label)
    return {int(v): mask_surface(grid, label == v, smooth) for v in values if v != 0}
