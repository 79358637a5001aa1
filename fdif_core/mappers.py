"""SDF mappers: signed distance to intensity in [0, 128] (spec §10)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

PEAK = 128.0


@dataclass(frozen=True)
class Mapper:
    """A mapper ``g(d)``; every mapper but ``inverse_cube`` is 0 outside (``d > 0``)."""

    key: str
    formula: str
    value: float = 0.0
    modulus: int = 0

    @property
    def has_halo(self) -> bool:
        """Whether it is non-zero outside the object (then it needs the whole grid)."""
        return self.formula == "inverse_cube"

    @property
    def expression(self) -> str:
        """``g(d)`` written out (spec §10), e.g. ``"g(d) = 128·2^d inside, 0 outside"``."""
        v, m = f"{self.value:g}", self.modulus
        inside = {
            "inverse_cube": "128 / (|d|³ + 1) everywhere",
            "exponential": f"128·{v}^d",
            "linear": f"clamp(128 + {v}·d, 0, 128)",
            "floor": f"clamp(128 + 10·ceil(d/{v}), 0, 128)",
            "modular": f"((ceil(d/{v}) + {m - 1}) mod {m})·128/{m - 1}",
            "sinusoidal": f"64·(cos(2π·d/{v}) + 1)",
        }[self.formula]
        return f"g(d) = {inside}" + ("" if self.has_halo else " inside, 0 outside")

    def bound_beyond(self, distance: float | torch.Tensor) -> float | torch.Tensor:
        """Largest value at any ``|d| > distance`` (only halo mappers are non-zero there);
        ``distance`` may be a tensor of non-negative distances."""
        if self.formula == "inverse_cube":
            return PEAK / (distance ** 3 + 1)
        return 0.0

    def __call__(self, d: torch.Tensor, all_inside: bool = False) -> torch.Tensor:
        """``g(d)``; ``all_inside`` promises every ``d <= 0`` (the outside test is skipped)."""
        if self.formula == "inverse_cube":
            a = torch.abs(d)
            return PEAK / (a * a * a + 1)
        if self.formula == "exponential":
            g = PEAK * torch.pow(self.value, d)
        elif self.formula == "linear":
            g = (PEAK + self.value * d).clamp_(0, PEAK)
        elif self.formula == "floor":
            g = (PEAK + 10 * torch.ceil(d / self.value)).clamp_(0, PEAK)
        elif self.formula == "modular":
            m = self.modulus
            k = torch.ceil(d / self.value) + (m - 1)
            g = (k - m * torch.floor(k / m)) * (PEAK / (m - 1))
        elif self.formula == "sinusoidal":
            g = 64 * (torch.cos((2 * math.pi / self.value) * d) + 1)
        else:
            raise ValueError(f"unknown mapper formula {self.formula!r}")
        if all_inside:
            return g
        return torch.where(d <= 0, g, torch.zeros((), dtype=g.dtype, device=g.device))


MAPPERS: dict[str, Mapper] = {m.key: m for m in [
    Mapper("inverse_cube", "inverse_cube"),
    Mapper("exponential_base_2.0", "exponential", 2.0),
    Mapper("exponential_base_1.5", "exponential", 1.5),
    Mapper("linear_slope_20.0", "linear", 20.0),
    Mapper("linear_slope_10.0", "linear", 10.0),
    Mapper("floor_width_1.0", "floor", 1.0),
    Mapper("floor_width_0.5", "floor", 0.5),
    Mapper("modular_5", "modular", 1.0, 5),
    Mapper("modular_10", "modular", 0.5, 10),
    Mapper("sinusoidal_wavelength_1.0", "sinusoidal", 1.0),
    Mapper("sinusoidal_wavelength_3.0", "sinusoidal", 3.0),
]}


def get_mapper(key: str) -> Mapper:
    """Look up a mapper by key, with an error that lists the known ones."""
    try:
        return MAPPERS[key]
    except KeyError:
        raise KeyError(f"unknown mapper {key!r} (known: {', '.join(MAPPERS)})") from None
