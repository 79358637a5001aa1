"""Per-object placement: translation, Euler rotation and the reference's symmetric "shear" (spec §3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fdif_core.grid import Grid
from fdif_core.linalg3 import inverse3

PLACEMENT_PARAMS = ("tx", "ty", "tz", "ax", "ay", "az", "h1", "h2", "h3")


@dataclass(frozen=True)
class Placement:
    """Where an object sits: ``p = R S q + t`` (local ``q`` to world ``p``)."""

    tx: float = 0.0
    ty: float = 0.0
    tz: float = 0.0
    ax: float = 0.0
    ay: float = 0.0
    az: float = 0.0
    h1: float = 0.0
    h2: float = 0.0
    h3: float = 0.0

    @property
    def translation(self) -> np.ndarray:
        return np.array([self.tx, self.ty, self.tz])

    def rotation(self) -> np.ndarray:
        """``R = Rz(az) Ry(ay) Rx(ax)``."""
        cx, sx = math.cos(self.ax), math.sin(self.ax)
        cy, sy = math.cos(self.ay), math.sin(self.ay)
        cz, sz = math.cos(self.az), math.sin(self.az)
        rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        return rz @ ry @ rx

    def shear(self) -> np.ndarray:
        """The symmetric unit-diagonal matrix S."""
        return np.array([[1, self.h1, self.h2], [self.h1, 1, self.h3], [self.h2, self.h3, 1]])

    def world_to_local(self) -> np.ndarray:
        """``A = S^-1 R^T`` so that ``q = A (p - t)``; exactly the identity when untransformed."""
        if not any((self.ax, self.ay, self.az, self.h1, self.h2, self.h3)):
            return np.eye(3)
        return inverse3(self.shear()) @ self.rotation().T

    def to_dict(self) -> dict[str, float]:
        """The nine numbers by name, in :data:`PLACEMENT_PARAMS` (field) order."""
        return {name: getattr(self, name) for name in PLACEMENT_PARAMS}


def sample_placement(rng: np.random.Generator, grid: Grid, transform: bool = True,
                     overrides: dict[str, float] | None = None) -> Placement:
    """Draw a placement as the reference does (translation, then rotation and shear).

    The translation scale keeps the reference's index mix-up: ``tx`` is scaled by ``D`` but
    moves along x (spec §3.1). All nine values are always drawn so overrides and
    ``transform=False`` never shift the stream of the draws that follow.
    """
    t = (rng.uniform(-0.35, 0.35, 3) * grid.shape).tolist()  # draws as three single calls
    angles = rng.uniform(-math.pi, math.pi, 3).tolist()
    shear = rng.uniform(-0.1, 0.1, 3).tolist()
    values = dict(zip(PLACEMENT_PARAMS, t + (angles + shear if transform else [0.0] * 6),
                      strict=True))
    for key, value in (overrides or {}).items():
        if key not in values:
            raise KeyError(f"unknown placement parameter {key!r} (known: {', '.join(PLACEMENT_PARAMS)})")
        values[key] = float(value)
    return Placement(**values)
