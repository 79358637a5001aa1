"""Colours shared by the views: label table, crosshair planes, the surface."""

from __future__ import annotations

import numpy as np

SURFACE = "#ec9448"  # the studio's surface colour (the core's thumbnails use the same)
HIGHLIGHT = "#fff27a"  # the object picked in composition mode (3D surface, slice outline)
BACKGROUND_3D = "#20242b"
# Slicer's convention: axial red, coronal green, sagittal yellow (planes, titles, crosshair lines)
PLANE_COLOURS = {"axial": "#e05555", "coronal": "#5fbf5f", "sagittal": "#e6c84f"}

# ITK-SNAP-like label colours: 0 is background (transparent), then distinct hues.
_LABELS = [
    (0, 0, 0), (255, 80, 60), (60, 200, 90), (70, 130, 255), (255, 220, 60), (0, 210, 210),
    (220, 90, 220), (255, 150, 40), (150, 100, 255), (120, 220, 40), (255, 110, 160),
    (40, 160, 160), (200, 160, 90), (130, 180, 255), (230, 230, 140), (180, 60, 90),
]


def label_lut(size: int = 256) -> np.ndarray:
    """RGBA lookup table ``(size, 4)`` uint8: label 0 transparent, others opaque, repeating."""
    lut = np.zeros((size, 4), dtype=np.uint8)
    for i in range(1, size):
        lut[i, :3] = _LABELS[1 + (i - 1) % (len(_LABELS) - 1)]
        lut[i, 3] = 255
    return lut


def label_colour(label: int) -> tuple[int, int, int]:
    """The RGB colour of ``label``."""
    return tuple(int(c) for c in label_lut(max(label + 1, 2))[label, :3])
