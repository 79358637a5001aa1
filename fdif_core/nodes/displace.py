"""The ``displace`` node: a child's distance plus a seeded surface displacement.

Unlike the preset-level displacements (one world pattern per sample, spec §9), a ``displace``
node is part of the shape: its seed is a class parameter, so it can be drawn per object, and
the pattern lives in the child's local frame.
"""

from __future__ import annotations

import torch

from fdif_core.displacements import GradientNoise
from fdif_core.nodes.base import SDF3, Bounds, Vec3
from fdif_core.nodes.registry import ParamSpec, register_node

PATTERNS = ("noise", "sine")


@register_node(
    "displace", category="displacement",
    description=("Add a displacement to the child: seeded Perlin gradient noise (fBm) or the "
                 "sine pattern a sin(fx) sin(fy) sin(fz)."),
    params=[ParamSpec("pattern", "Displacement pattern.", "noise", unit="choice",
                      choices=PATTERNS),
            ParamSpec("amplitude", "Amplitude of the first octave.", 1.5, 0.0, 1000.0),
            ParamSpec("frequency", "Spatial frequency.", 0.1, 0.0, 10.0, unit="voxel^-1"),
            ParamSpec("octaves", "Noise octaves (each doubles the frequency).", 3, 1, 8,
                      unit="count", integer=True),
            ParamSpec("persistence", "Amplitude ratio between octaves.", 0.5, 0.0, 1.0,
                      unit="ratio"),
            ParamSpec("seed", "Seed of the noise pattern.", 0, 0, 2**31 - 1, unit="seed",
                      integer=True)],
    children=1)
class Displace(SDF3):
    """``f = child + delta(q)``; ``delta >= -lower`` keeps the bounds exact."""

    def __init__(self, pattern: str = "noise", amplitude: float = 1.5, frequency: float = 0.1,
                 octaves: int = 3, persistence: float = 0.5, seed: int = 0,
                 children: list | None = None) -> None:
        super().__init__(children)
        self.pattern, self.seed = pattern, int(seed)
        self.amplitude, self.frequency = float(amplitude), float(frequency)
        self.noise = GradientNoise("displace", amplitude=self.amplitude,
                                   frequency=self.frequency, octaves=int(octaves),
                                   persistence=float(persistence))

    @property
    def lower(self) -> float:
        """The largest amount by which ``delta`` can lower the distance."""
        if self.pattern == "sine":
            return self.amplitude
        return self.noise.reach

    def delta(self, q: Vec3) -> torch.Tensor:
        """The displacement at local points ``q``."""
        if self.pattern == "sine":
            x, y, z = q
            f = self.frequency
            return self.amplitude * torch.sin(f * x) * torch.sin(f * y) * torch.sin(f * z)
        return self.noise.field(q, self.seed)

    def __call__(self, q: Vec3) -> torch.Tensor:
        return self.children[0](q) + self.delta(q)

    def bounds(self, level: float) -> Bounds | None:
        return self.children[0].bounds(level + self.lower)
