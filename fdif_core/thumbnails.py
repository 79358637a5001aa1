"""Small shaded pictures of shape classes, made by ray casting the class's SDF.

A thumbnail shows the instance of seed 0, centred and untransformed, on a 64³ reference grid,
seen from above the front right. Each pixel's ray is sampled along its depth; the first sample
with ``f <= 0`` is refined by linear interpolation, and the depth map's gradient gives the
normal for Lambert shading. Pictures are cached on disk by the class's content hash (and a
version of this renderer), so a library of a hundred classes is rendered once per machine.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from fdif_core.domain import Domain
from fdif_core.files import atomic_write_bytes
from fdif_core.grid import Grid
from fdif_core.shapes import ShapeClass, compile_tree, sample_class

RENDERER_VERSION = 1
THUMBNAIL_GRID = (64, 64, 64)
BASE_COLOUR = np.array([236, 148, 72], dtype=np.float64)  # the studio's surface colour
LIGHT = np.array([-0.4, 0.6, 0.7])  # camera frame: right, up, toward the eye
AZIMUTH, ELEVATION = math.radians(35.0), math.radians(25.0)
RAY_POINTS = 1 << 18  # ray samples evaluated per call (bounds the class's temporaries)


def cache_dir() -> Path:
    """``$FDIF_CACHE_DIR/thumbnails``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)
    ``/fdif-studio/thumbnails``."""
    root = os.environ.get("FDIF_CACHE_DIR")
    if root:
        return Path(root) / "thumbnails"
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "fdif-studio" / "thumbnails"


def _camera() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ``right``, ``up`` and viewing direction ``forward`` (into the scene), world x, y, z."""
    ca, sa, ce, se = math.cos(AZIMUTH), math.sin(AZIMUTH), math.cos(ELEVATION), math.sin(ELEVATION)
    forward = -np.array([sa * ce, se, ca * ce])  # the eye sits at +z, a little right and above
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return right, up, forward


@torch.inference_mode()
def render_thumbnail(shape: ShapeClass, size: int = 64, depth_samples: int = 96) -> np.ndarray:
    """An RGBA ``(size, size, 4)`` uint8 picture of ``shape`` (transparent background).

    Parameters
    ----------
    shape : ShapeClass
        The class to draw.
    size : int
        Width and height in pixels.
    depth_samples : int
        Samples along each ray.
    """
    grid = Grid.reference(THUMBNAIL_GRID)
    _, tree = sample_class(shape, np.random.default_rng(0), grid.size)
    sdf = compile_tree(tree)
    if sdf.domain_dependent:
        sdf.prepare(Domain(grid, np.eye(3), np.zeros(3)))
    bounds = sdf.bounds(0.0)
    half = np.asarray(THUMBNAIL_GRID, dtype=np.float64)[::-1] / 2
    lo, hi = (-half, half) if bounds is None else (np.maximum(bounds[0], -half),
                                                    np.minimum(bounds[1], half))
    centre = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 1.0) * 1.05
    right, up, forward = _camera()
    across = np.linspace(-radius, radius, size)  # columns run right, rows run down
    down = across[::-1]
    w = np.linspace(-radius, radius, depth_samples)
    hit = np.empty((size, size), dtype=bool)
    depth = np.empty((size, size), dtype=np.float64)
    rows = max(1, RAY_POINTS // (size * depth_samples))
    for r in (slice(r0, r0 + rows) for r0 in range(0, size, rows)):
        points = (centre + across[None, :, None, None] * right + down[r, None, None, None] * up
                  + w[None, None, :, None] * forward)
        points = torch.as_tensor(points, dtype=torch.float32)
        values = sdf((points[..., 0], points[..., 1], points[..., 2])).expand(points.shape[:3])
        hit[r], depth[r] = _first_crossing(values.numpy(), w)
    return _shade(hit, depth, radius, size)


def _first_crossing(values: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ray of ``values`` (rows, cols, depth): whether it reaches ``f <= 0``, and the depth
    ``w`` of the first crossing, refined by linear interpolation."""
    inside = values <= 0
    hit = inside.any(axis=2)
    first = inside.argmax(axis=2)
    before = np.clip(first - 1, 0, None)
    f0 = np.take_along_axis(values, before[..., None], 2)[..., 0]
    f1 = np.take_along_axis(values, first[..., None], 2)[..., 0]
    crossing = (first > 0) & (f0 > f1)
    frac = np.where(crossing, f0 / np.where(crossing, f0 - f1, 1.0), 0.0)
    return hit, w[before] + frac * (w[1] - w[0])


def _shade(hit: np.ndarray, depth: np.ndarray, radius: float, size: int) -> np.ndarray:
    """RGBA picture from the rays' hits and crossing depths (rows, cols)."""
    depth = np.where(hit, depth, depth[hit].max() if hit.any() else 0.0)
    d_row, d_col = np.gradient(depth, 2 * radius / max(size - 1, 1))
    # camera frame (right, up, toward the eye); rows run down, so up is minus the row
    normal = np.stack([d_col, -d_row, np.ones_like(depth)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    lambert = np.clip(normal @ (LIGHT / np.linalg.norm(LIGHT)), 0.0, 1.0)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., :3] = np.clip((0.3 + 0.7 * lambert)[..., None] * BASE_COLOUR, 0, 255).astype(np.uint8)
    rgba[..., 3] = np.where(hit, 255, 0).astype(np.uint8)
    return rgba


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode an RGBA uint8 array as PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def thumbnail_path(shape: ShapeClass, directory: Path | None = None) -> Path:
    """Where the thumbnail of ``shape`` is cached (its content hash names the file)."""
    return (directory or cache_dir()) / f"{shape.content_hash[:32]}-v{RENDERER_VERSION}.png"


def cached_thumbnail(shape: ShapeClass, directory: Path | None = None) -> Path:
    """The cached thumbnail of ``shape``, rendered and written atomically if missing."""
    path = thumbnail_path(shape, directory)
    if not path.is_file():
        atomic_write_bytes(path, png_bytes(render_thumbnail(shape)))
    return path
