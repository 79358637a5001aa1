"""Meshing a shape instance for other tools: marching cubes and simple mesh file writers.

Formats: binary STL, Wavefront OBJ, ASCII PLY and legacy ASCII VTK polydata. Vertices are in
world voxel units (x, y, z); triangles are wound counter-clockwise seen from outside.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fdif_core.errors import FdifError
from fdif_core.files import atomic_write_bytes

MESH_FORMATS = (".stl", ".obj", ".ply", ".vtk")
MAX_LATTICE_POINTS = 400**3
LATTICE_MARGIN = 2  # lattice steps beyond the bounds on every side
SLAB_POINTS = 1 << 18  # lattice points evaluated per call (bounds the shape's temporaries)


@dataclass(frozen=True)
class Lattice:
    """The points a shape is meshed on: ``counts`` (x, y, z) points ``step`` apart from the
    world corner ``lo`` (x, y, z)."""

    lo: tuple[float, float, float]
    counts: tuple[int, int, int]
    step: float

    @property
    def points(self) -> int:
        """Number of lattice points."""
        return math.prod(self.counts)

    @classmethod
    def around(cls, bounds: tuple[np.ndarray, np.ndarray], step: float,
               what: str = "the shape") -> Lattice:
        """The lattice covering ``bounds`` (world ``(lo, hi)``, x y z) with a margin of
        :data:`LATTICE_MARGIN` steps, refused before anything is allocated when its bounds are
        not finite or it would exceed :data:`MAX_LATTICE_POINTS` points.

        Raises
        ------
        FdifError
            Naming ``what``, the extent and the step.
        """
        low, high = (np.asarray(b, dtype=np.float64) for b in bounds)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise FdifError(f"{what} has no finite extent (its bounds are {low.tolist()} .. "
                            f"{high.tolist()}); use smaller parameters")
        with np.errstate(over="ignore", invalid="ignore"):  # a huge extent is refused below
            lo = np.floor(low / step - LATTICE_MARGIN) * step
            hi = np.ceil(high / step + LATTICE_MARGIN) * step
            counts = np.round((hi - lo) / step) + 1
            span = high - low
        if not float(np.prod(counts)) <= MAX_LATTICE_POINTS:
            extent = " x ".join(f"{v:.4g}" for v in span)
            raise FdifError(f"{what} spans {extent} voxels: meshing it at step {step:g} takes "
                            f"{' x '.join(f'{c:.4g}' for c in counts)} points, more than "
                            f"{round(MAX_LATTICE_POINTS ** (1 / 3))}^3; use a larger step or "
                            "smaller parameters")
        return cls(tuple(float(v) for v in lo), tuple(int(c) for c in counts), float(step))

    def axis(self, i: int) -> torch.Tensor:
        """World coordinates along x (0), y (1) or z (2), float32."""
        return torch.as_tensor(self.lo[i] + self.step * np.arange(self.counts[i]),
                               dtype=torch.float32)

    def evaluate(self, sdf: Callable) -> np.ndarray:
        """``sdf`` at every point, float32 ``(z, y, x)``, evaluated slab by slab along z."""
        nx, ny, nz = self.counts
        x, y, z = (self.axis(i) for i in range(3))
        out = np.empty((nz, ny, nx), dtype=np.float32)
        depth = max(1, SLAB_POINTS // (nx * ny))
        for z0 in range(0, nz, depth):
            zs = z[z0:z0 + depth]
            values = sdf((x.view(1, 1, -1), y.view(1, -1, 1), zs.view(-1, 1, 1)))
            out[z0:z0 + len(zs)] = values.expand(len(zs), ny, nx).numpy()
        return out


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
