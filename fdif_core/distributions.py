"""Parameter distributions: how a shape class turns into concrete numbers.

A parameter of a shape class is a plain number, a *product expression* (a string such as
``"0.15*min_grid"`` or ``"2*r/3"``), or one of the distributions below. Any distribution may
carry ``scale``: a product expression of numbers and names, where a name is a grid quantity
(``min_grid``, ``min_dh``, ``min_dw``, ``D``, ``H``, ``W``) or a parameter declared earlier in
the same class; the drawn value is multiplied by it. ``uniform(0.15, 0.40)`` with
``scale = "min_grid"`` is the spec's ``U(0.15, 0.40)·mn``; ``uniform(0.3, 0.7)`` with
``scale = "R"`` is ``R·U(0.3, 0.7)``; ``scale = "0.5*min_grid"`` halves the grid size first.

Product expressions are read by :func:`parse_product`, a tokenizer that accepts only numbers,
names, ``*`` and ``/`` (no parentheses, no calls, at most 100 characters) — nothing is ever
evaluated as Python.
"""

from __future__ import annotations

import functools
import math
import re
from abc import abstractmethod
from statistics import NormalDist
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_PRODUCT_LENGTH = 100
MAX_RANDINT = 2**31 - 1  # randint bounds lie within +-MAX_RANDINT (node seeds go up to it)
_PRODUCT_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[*/]))")


def parse_product(text: str) -> list[tuple[str, float | str]]:
    """Parse ``"0.15*min_grid"`` into ``[("*", 0.15), ("*", "min_grid")]``.

    Parameters
    ----------
    text : str
        Numbers and names joined by ``*`` or ``/``.

    Returns
    -------
    list of (str, float or str)
        Each factor with the operator that applies it (the first one is ``*``).

    Raises
    ------
    ValueError
        Anything else: other characters, two operators in a row, a missing factor, a
        non-finite number, or a text longer than :data:`MAX_PRODUCT_LENGTH`.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a product expression")
    return list(_parse_product(text))


@functools.lru_cache(maxsize=4096)
def _parse_product(text: str) -> tuple[tuple[str, float | str], ...]:
    """:func:`parse_product` of a string, remembered: every drawn parameter parses one."""
    if len(text) > MAX_PRODUCT_LENGTH:
        raise ValueError(f"product expression longer than {MAX_PRODUCT_LENGTH} characters")
    factors: list[tuple[str, float | str]] = []
    pos, op, expect_factor = 0, "*", True
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _PRODUCT_TOKEN.match(stripped, pos)
        if match is None:
            raise ValueError(f"{text!r}: unexpected {stripped[pos:].strip()[:10]!r}; only numbers, "
                             "names, '*' and '/' are allowed")
        pos = match.end()
        if match["op"]:
            if expect_factor:
                raise ValueError(f"{text!r}: {match['op']!r} needs a factor before it")
            op, expect_factor = match["op"], True
            continue
        if not expect_factor:
            raise ValueError(f"{text!r}: missing '*' or '/' between factors")
        if match["num"]:
            value = float(match["num"])
            if not math.isfinite(value) or (op == "/" and value == 0):
                raise ValueError(f"{text!r}: {match['num']} is not a usable factor")
            factors.append((op, value))
        else:
            factors.append((op, match["name"]))
        expect_factor = False
    if expect_factor:
        raise ValueError(f"{text!r}: incomplete product expression")
    return tuple(factors)


def product_names(text: str) -> list[str]:
    """The names a product expression refers to, in order."""
    return [f for _, f in parse_product(text) if isinstance(f, str)]


def eval_product(text: str, env: dict[str, float]) -> float:
    """Value of a product expression with names looked up in ``env``."""
    value = 1.0
    for op, factor in parse_product(text):
        number = float(env[factor]) if isinstance(factor, str) else factor
        if op == "*":
            value *= number
        elif number == 0:
            raise ValueError(f"{text!r}: division by zero ({factor} is 0)")
        else:
            value /= number
    return value


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    scale: str | None = None

    @field_validator("scale")
    @classmethod
    def _scale_syntax(cls, v: str | None) -> str | None:
        if v is not None:
            parse_product(v)
        return v

    @abstractmethod
    def _draw(self, rng: np.random.Generator) -> float:
        """One unscaled value."""

    def draw(self, rng: np.random.Generator, env: dict[str, float]) -> float:
        """Draw one value and apply ``scale`` looked up in ``env``."""
        return self.scaled(self.draw_unscaled(rng), env)

    def draw_unscaled(self, rng: np.random.Generator) -> float:
        """One value before ``scale`` (what the generator consumes from ``rng``)."""
        return self._draw(rng)

    def scaled(self, value: float, env: dict[str, float]) -> float:
        """``value`` times ``scale`` evaluated in ``env`` (unchanged without scale)."""
        return value * eval_product(self.scale, env) if self.scale else value

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
        if not math.isfinite(self.high - self.low):
            raise ValueError(f"the range {self.low} .. {self.high} is too wide to draw from")
        return self

    def _draw(self, rng: np.random.Generator) -> float:
        return float(self.low + (self.high - self.low) * rng.random())

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


MIN_ACCEPTANCE = 1e-3  # below this a truncated normal is drawn by its inverse CDF
_STANDARD = NormalDist()


def _upper_tail(x: float) -> float:
    """``P(Z > x)`` for a standard normal ``Z``, accurate far in the tail."""
    return 0.5 * math.erfc(x / math.sqrt(2))


def _mass(a: float, b: float) -> float:
    """``P(a <= Z <= b)``, computed on the side of the mean where it does not cancel."""
    if a > 0:
        return _upper_tail(a) - _upper_tail(b)
    if b < 0:
        return _upper_tail(-b) - _upper_tail(-a)
    return 1.0 - _upper_tail(-a) - _upper_tail(b)


def _truncated_quantile(a: float, b: float, u: float) -> float:
    """The ``u``-quantile (``0 <= u < 1``) of a standard normal truncated to ``[a, b]``."""
    if b <= 0:
        return -_truncated_quantile(-b, -a, 1.0 - u) if u > 0 else a
    if a >= 0:  # in the upper tail: through survival probabilities, which keep their digits
        high, low = _upper_tail(a), _upper_tail(b)
        return -_STANDARD.inv_cdf(high - u * (high - low))
    low, high = _STANDARD.cdf(a), _STANDARD.cdf(b)
    return _STANDARD.inv_cdf(low + u * (high - low))


class Normal(_Dist):
    """Normal ``(mean, std)`` truncated to ``[low, high]``.

    Drawn by rejection (normals until one falls in the interval) when the interval holds at
    least :data:`MIN_ACCEPTANCE` of the probability; else, as rejection would take
    thousands of draws or never finish, by the inverse CDF of one uniform draw.
    """

    dist: Literal["normal"] = "normal"
    mean: float
    std: float = Field(gt=0)
    # -inf and inf (the defaults, which files written by write_toml spell out) mean unbounded
    low: float = Field(default=-math.inf, allow_inf_nan=True)
    high: float = Field(default=math.inf, allow_inf_nan=True)

    @model_validator(mode="after")
    def _ordered(self) -> Normal:
        if self.low == math.inf or math.isnan(self.low):
            raise ValueError(f"low {self.low} is not a lower bound (a finite number or -inf)")
        if self.high == -math.inf or math.isnan(self.high):
            raise ValueError(f"high {self.high} is not an upper bound (a finite number or inf)")
        if not self.low < self.high:
            raise ValueError(f"low {self.low} is not below high {self.high}")
        if (self.low - self.mean) / self.std > 6 or (self.mean - self.high) / self.std > 6:
            raise ValueError("the truncation interval lies more than 6 std away from the mean")
        return self

    @functools.cached_property
    def _standard_interval(self) -> tuple[float, float]:
        return (self.low - self.mean) / self.std, (self.high - self.mean) / self.std

    @functools.cached_property
    def acceptance(self) -> float:
        """Probability that an untruncated draw falls in ``[low, high]``."""
        return _mass(*self._standard_interval)

    def _draw(self, rng: np.random.Generator) -> float:
        if self.acceptance >= MIN_ACCEPTANCE:
            while True:
                value = float(rng.normal(self.mean, self.std))
                if self.low <= value <= self.high:
                    return value
        x = _truncated_quantile(*self._standard_interval, float(rng.random()))
        return min(max(self.mean + self.std * x, self.low), self.high)

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


class RandInt(_Dist):
    """Integer uniform on ``low..high``, both ends inclusive."""

    dist: Literal["randint"] = "randint"
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> RandInt:
        for end in (self.low, self.high):
            if abs(end) > MAX_RANDINT:
                raise ValueError(f"bound {end} is outside -{MAX_RANDINT}..{MAX_RANDINT}")
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
            if min(self.weights) < 0 or not 0 < sum(self.weights) < math.inf:
                raise ValueError("weights must be non-negative with a positive, finite sum")
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
ParamValue = Union[float, str, Distribution]  # noqa: UP007


def draw(value: ParamValue, rng: np.random.Generator, env: dict[str, float]) -> float:
    """Turn a parameter value (number, product expression or distribution) into a number.

    A product expression draws nothing from ``rng``.
    """
    if isinstance(value, _Dist):
        return value.draw(rng, env)
    if isinstance(value, str):
        return eval_product(value, env)
    return value
