"""Meshing a shape instance for other tools: marching cubes and simple mesh file writers.

Formats: binary STL, Wavefront OBJ, ASCII PLY and legacy ASCII VTK polydata. Vertices are in
world voxel units (x, y, z); triangles are wound counter-clockwise seen from outside.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from fdif_core.errors import FdifError
from fdif_core.files import atomic_write_bytes

MESH_FORMATS = (".stl", ".obj", ".ply", ".vtk")


def marching_cubes(sdf: np.ndarray, origin: tuple[float, float, float],
                   spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
                   level: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Surface ``{f = level}`` of a ``(D, H, W)`` volume (axis 0 is z) as ``(vertices, faces)``.

    Parameters
    ----------
    sdf : ndarray (D, H, W)
        Signed distances, negative inside.
    origin : (float, float, float)
        World ``(x, y, z)`` of voxel ``[0, 0, 0]``.
    spacing : (float, float, float)
        Voxel size along ``(x, y, z)``.
    level : float
        Iso-value.

    Returns
    -------
    vertices : ndarray (N, 3) float64, world ``(x, y, z)``
    faces : ndarray (M, 3) int64, outward counter-clockwise
    """
    from skimage.measure import marching_cubes as skimage_mc

    sdf = np.asarray(sdf, dtype=np.float32)
    if not (sdf.min() < level < sdf.max()):
        raise FdifError("the shape has no surface inside the meshing grid")
    verts, faces, _, _ = skimage_mc(sdf, level=level, spacing=spacing[::-1])
    xyz = verts[:, ::-1] + np.asarray(origin, dtype=np.float64)
    faces = faces.astype(np.int64)
    if signed_volume(xyz, faces) < 0:  # swapping (z, y, x) to (x, y, z) mirrors the winding
        faces = faces[:, ::-1].copy()
    return xyz, faces


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed triangle mesh (positive for outward winding)."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def surface_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Total triangle area."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    return float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2)


def mesh_bytes(vertices: np.ndarray, faces: np.ndarray, suffix: str, name: str = "fdif") -> bytes:
    """Encode a mesh as ``.stl`` (binary), ``.obj``, ``.ply`` or ``.vtk`` (legacy ASCII)."""
    suffix = suffix.lower()
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if suffix == ".stl":
        tri = v[f].astype(np.float32)  # (M, 3, 3)
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        lengths = np.linalg.norm(normals, axis=1, keepdims=True)
        normals = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)
        records = np.zeros(len(f), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
        records["n"], records["v"] = normals, tri
        header = f"{name} (fdif-studio)".encode()[:80].ljust(80, b" ")
        return header + struct.pack("<I", len(f)) + records.tobytes()
    out = io.StringIO()
    if suffix == ".obj":
        out.write(f"# {name} (fdif-studio)\no {name}\n")
        np.savetxt(out, v, fmt="v %.6f %.6f %.6f")
        np.savetxt(out, f + 1, fmt="f %d %d %d")
    elif suffix == ".ply":
        out.write(f"ply\nformat ascii 1.0\ncomment {name} (fdif-studio)\n"
                  f"element vertex {len(v)}\nproperty float x\nproperty float y\n"
                  f"property float z\nelement face {len(f)}\n"
                  "property list uchar int vertex_indices\nend_header\n")
        np.savetxt(out, v, fmt="%.6f %.6f %.6f")
        np.savetxt(out, f, fmt="3 %d %d %d")
    elif suffix == ".vtk":
        out.write(f"# vtk DataFile Version 3.0\n{name} (fdif-studio)\nASCII\n"
                  f"DATASET POLYDATA\nPOINTS {len(v)} float\n")
        np.savetxt(out, v, fmt="%.6f %.6f %.6f")
        out.write(f"POLYGONS {len(f)} {4 * len(f)}\n")
        np.savetxt(out, f, fmt="3 %d %d %d")
    else:
        raise FdifError(f"unknown mesh format {suffix!r} (use {', '.join(MESH_FORMATS)})")
    return out.getvalue().encode()


def write_mesh(path: Path, vertices: np.ndarray, faces: np.ndarray, name: str = "fdif") -> None:
    """Write a mesh atomically, the format chosen by the file suffix."""
    path = Path(path)
    atomic_write_bytes(path, mesh_bytes(vertices, faces, path.suffix, name))
