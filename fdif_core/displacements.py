"""Displacement functions added to an object's signed distance (spec §9), plus seeded noise.

The eleven reference displacements are deterministic fields of the *world* grid coordinates,
normalised by the grid's largest coordinate per axis; the amplitude always uses the x maximum.
:class:`GradientNoise` is the improvement: seeded Perlin gradient noise with octaves, evaluated
in the object's local coordinates so every object gets its own pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from fdif_core.grid import Grid


@dataclass(frozen=True)
class WorldDisplacement:
    """A reference displacement ``delta(p)`` of normalised world coordinates."""

    key: str
    formula: str
    amp: float
    freq: float

    @property
    def long_name(self) -> str:
        """The reference's ``get_name()`` (used in display names and multi-task labels)."""
        base = self.formula
        if base == "perlin":
            return f"perlin_amp_{self.amp}_scale_{self.freq}"
        if base == "twisted":
            return f"twisted_amp_{self.amp}_freq_{self.freq}_axis_x"
        if base == "turbulence":
            return f"turbulence_amp_{self.amp}_scale_{self.freq}"
        return f"{base}_amp_{self.amp}_freq_{self.freq}"

    def amplitude(self, grid: Grid) -> float:
        """``A = clamp(amp, 0, 0.1) * max(X)`` in voxels."""
        return min(max(self.amp, 0.0), 0.1) * grid.axis_max[2]

    def lower_bound(self, grid: Grid) -> float:
        """The most negative value the field can take (it grows objects by at most this)."""
        a = self.amplitude(grid)
        return {"perlin": -2 * a, "turbulence": -3 * a, "sawtooth": -1.5 * a * 2 / math.pi}.get(
            self.formula, 0.0)

    def field(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, grid: Grid) -> torch.Tensor:
        """Evaluate at world coordinates (broadcastable tensors)."""
        mz, my, mx = grid.axis_max
        xn, yn, zn = x / mx, y / my, z / mz
        a, f = self.amplitude(grid), self.freq
        if self.formula == "perlin":
            return a * (torch.sin(f * xn) * torch.sin(f * yn) + torch.sin(f * zn))
        if self.formula == "turbulence":
            u, v, w = f * xn, f * yn, f * zn
            return a * (torch.sin(0.1 * u) * torch.cos(0.15 * v)
                        + torch.sin(0.2 * v) * torch.cos(0.25 * w)
                        + torch.sin(0.3 * w) * torch.cos(0.35 * u))
        if self.formula == "ridge":
            return a * (torch.abs(torch.sin(f * xn)) + torch.abs(torch.sin(f * yn))
                        + torch.abs(torch.sin(f * zn)))
        if self.formula == "sharpmax":
            return a * torch.maximum(torch.maximum(torch.abs(torch.sin(f * xn)),
                                                   torch.abs(torch.sin(f * yn))),
                                     torch.abs(torch.sin(f * zn)))
        if self.formula == "twisted":
            return a * torch.abs(torch.sin(f * xn))
        if self.formula == "sawtooth":
            total = 0
            for u in (xn, yn, zn):
                fu = f * u
                total = total + (fu - torch.floor(fu + 0.5))
            return a * (2 / math.pi) * total
        raise ValueError(f"unknown displacement formula {self.formula!r}")


@dataclass(frozen=True)
class GradientNoise:
    """Seeded 3D Perlin gradient noise (fBm) in object-local coordinates.

    ``delta(q) = amplitude * sum_o persistence^o * noise(frequency * 2^o * q + offset_o)`` with
    a permutation table drawn from ``seed``. Every object draws its own seed, so no two objects
    share a pattern (the reference's fields are one fixed world pattern).
    """

    key: str
    amplitude: float = 2.0
    frequency: float = 0.08
    octaves: int = 3
    persistence: float = 0.5

    @property
    def long_name(self) -> str:
        """Name used in display names and multi-task labels."""
        return f"{self.key}_amp_{self.amplitude}_freq_{self.frequency}_oct_{self.octaves}"

    @property
    def reach(self) -> float:
        """The largest ``|delta|`` (see :data:`NOISE_RANGE`)."""
        return NOISE_RANGE * self.amplitude * sum(self.persistence ** o
                                                  for o in range(self.octaves))

    def lower_bound(self, grid: Grid) -> float:
        return -self.reach

    def field(self, q: tuple[torch.Tensor, ...], seed: int) -> torch.Tensor:
        """Evaluate at local coordinates ``q = (x, y, z)`` with the object's ``seed``."""
        rng = np.random.default_rng(seed)
        total = None
        for octave in range(self.octaves):
            perm = torch.as_tensor(np.tile(rng.permutation(256), 2), device=q[0].device)
            offset = rng.uniform(0, 256, size=3)
            scale = self.frequency * 2 ** octave
            pts = [c * scale + float(o) for c, o in zip(q, offset, strict=True)]
            value = _perlin(pts, perm) * (self.amplitude * self.persistence ** octave)
            total = value if total is None else total + value
        return total


# |noise| <= 3/2 per octave: a corner term g.d has two unit components, so |g.d| <= sum_i |d_i|
# (d the offset from the corner, each |d_i| <= 1); the faded weights are products of one factor
# per axis that sum to 1, so the weighted sum of |d_i| over the corners is
# (1 - F(t)) t + F(t) (1 - t) <= 1/2 per axis (F the fade, t the cell coordinate). The factor
# covers float32 rounding.
NOISE_RANGE = 1.5 * (1 + 1e-3)
_GRADIENTS = ((1, 1, 0), (-1, 1, 0), (1, -1, 0), (-1, -1, 0), (1, 0, 1), (-1, 0, 1),
              (1, 0, -1), (-1, 0, -1), (0, 1, 1), (0, -1, 1), (0, 1, -1), (0, -1, -1))


def _perlin(p: list[torch.Tensor], perm: torch.Tensor) -> torch.Tensor:
    """Improved Perlin noise at broadcastable points ``p`` with the doubled permutation ``perm``.

    Per corner ``(dx, dy, dz)`` of the point's cell: the hashed gradient dotted with the offset
    from that corner, weighted by the faded distances. The hash lookups shared by corners
    (``perm`` of x, then of x and y) and the weights shared by corners are computed once.
    """
    x, y, z = torch.broadcast_tensors(*p)
    shape = x.shape
    cells = [torch.floor(c) for c in (x, y, z)]
    frac = [c - f for c, f in zip((x, y, z), cells, strict=True)]
    low = [f.long().reshape(-1) & 255 for f in cells]
    cell = [(i, (i + 1) & 255) for i in low]  # cell index of the lower and the upper corner
    offset = [(t, t - 1) for t in frac]  # offset from the lower and the upper corner
    fade = [t * t * t * (t * (t * 6 - 15) + 10) for t in frac]
    weight = [(1 - f, f) for f in fade]
    grads = torch.tensor(_GRADIENTS, dtype=x.dtype, device=x.device).T.contiguous()
    gx, gy, gz = grads.unbind(0)
    result = 0
    for dx in (0, 1):
        hx = perm.index_select(0, cell[0][dx])
        for dy in (0, 1):
            hxy = perm.index_select(0, hx + cell[1][dy])
            wxy = weight[0][dx] * weight[1][dy]
            for dz in (0, 1):
                h = perm.index_select(0, hxy + cell[2][dz]).remainder_(12)
                dot = (gx.index_select(0, h).view(shape) * offset[0][dx]
                       + gy.index_select(0, h).view(shape) * offset[1][dy]
                       + gz.index_select(0, h).view(shape) * offset[2][dz])
                result = result + wxy * weight[2][dz] * dot
    return result


_REFERENCE = [
    WorldDisplacement("perlin_more_fine", "perlin", 0.03, 50.0),
    WorldDisplacement("perlin_fine", "perlin", 0.01, 30.0),
    WorldDisplacement("turbulence", "turbulence", 0.05, 30.0),
    WorldDisplacement("ridge", "ridge", 0.03, 30.0),
    WorldDisplacement("ridge_coarse", "ridge", 0.05, 10.0),
    WorldDisplacement("sharpmax", "sharpmax", 0.05, 20.0),
    WorldDisplacement("sharpmax_fine", "sharpmax", 0.03, 40.0),
    WorldDisplacement("twisted_x", "twisted", 0.04, 20.0),
    WorldDisplacement("sawtooth", "sawtooth", 0.03, 15.0),
    WorldDisplacement("sawtooth_fine", "sawtooth", 0.02, 30.0),
]

DISPLACEMENTS: dict[str, WorldDisplacement | GradientNoise] = {d.key: d for d in _REFERENCE}
DISPLACEMENTS["gradient_noise"] = GradientNoise("gradient_noise")
DISPLACEMENTS["gradient_noise_fine"] = GradientNoise("gradient_noise_fine", amplitude=1.0,
                                                     frequency=0.2, octaves=2)
NONE = "none"


def get_displacement(key: str) -> WorldDisplacement | GradientNoise | None:
    """Look up a displacement by key; ``"none"`` gives ``None``."""
    if key == NONE:
        return None
    try:
        return DISPLACEMENTS[key]
    except KeyError:
        raise KeyError(f"unknown displacement {key!r} (known: none, {', '.join(DISPLACEMENTS)})") from None
