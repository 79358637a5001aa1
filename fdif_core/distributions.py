"""Parameter distributions: how a shape class turns into concrete numbers.

A parameter of a shape class is either a plain number or one of the distributions below. Any of
them may carry ``scale``: the name of a grid quantity (``min_grid``, ``min_dh``, ``min_dw``,
``D``, ``H``, ``W``) or of a parameter declared earlier in the same class; the drawn value is
multiplied by it. ``uniform(0.15, 0.40)`` with ``scale = "min_grid"`` is the spec's
``U(0.15, 0.40)·mn``; ``uniform(0.3, 0.7)`` with ``scale = "R"`` is ``R·U(0.3, 0.7)``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scale: str | None = None

    @abstractmethod
    def _draw(self, rng: np.random.Generator) -> float:
        """One unscaled value."""

    def draw(self, rng: np.random.Generator, env: dict[str, float]) -> float:
        """Draw one value and apply ``scale`` looked up in ``env``."""
        value = self._draw(rng)
        return value * env[self.scale] if self.scale else value

    @abstractmethod
    def bounds(self) -> tuple[float, float]:
        """Unscaled (low, high) of the values this distribution can produce."""


class Constant(_Dist):
    """Always ``value`` (times ``scale``)."""

    dist: Literal["constant"] = "constant"
    value: float

    def _draw(self, rng: np.random.Generator) -> float:
        return float(self.value)

    def bounds(self) -> tuple[float, float]:
        return (self.value, self.value)


class Uniform(_Dist):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low <= self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    def _draw(self, rng: np.random.Generator) -> float:
        return float(self.low + (self.high - self.low) * rng.random())

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class Normal(_Dist):
    """Normal ``(mean, std)`` truncated to ``[low, high]`` (rejection sampling)."""

    dist: Literal["normal"] = "normal"
    mean: float
    std: float = Field(gt=0)
    low: float = -math.inf
    high: float = math.inf

    @model_validator(mode="after")
    def _ordered(self) -> Normal:
        if not self.low < self.high:
            raise ValueError(f"low {self.low} is not below high {self.high}")
        if (self.low - self.mean) / self.std > 6 or (self.mean - self.high) / self.std > 6:
            raise ValueError("the truncation interval lies more than 6 std away from the mean")
        return self

    def _draw(self, rng: np.random.Generator) -> float:
        while True:
            value = float(rng.normal(self.mean, self.std))
            if self.low <= value <= self.high:
                return value

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class RandInt(_Dist):
    """Integer uniform on ``low..high``, both ends inclusive."""

    dist: Literal["randint"] = "randint"
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> RandInt:
        if not self.low <= self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    def _draw(self, rng: np.random.Generator) -> float:
        return int(rng.integers(self.low, self.high, endpoint=True))

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class Choice(_Dist):
    """One of ``values``, with optional ``weights``."""

    dist: Literal["choice"] = "choice"
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights and values differ in length")
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative with a positive sum")
        return self

    def _draw(self, rng: np.random.Generator) -> float:
        p = None if self.weights is None else np.asarray(self.weights) / sum(self.weights)
        return self.values[int(rng.choice(len(self.values), p=p))]

    def bounds(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))


Distribution = Annotated[
    Union[Constant, Uniform, Normal, RandInt, Choice],  # noqa: UP007 - pydantic discriminator
    Field(discriminator="dist"),
]
ParamValue = Union[float, Distribution]  # noqa: UP007


def draw(value: ParamValue, rng: np.random.Generator, env: dict[str, float]) -> float:
    """Turn a parameter value (number or distribution) into a number."""
    if isinstance(value, _Dist):
        return value.draw(rng, env)
    return value
