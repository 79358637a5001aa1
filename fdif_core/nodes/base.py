"""Base classes of compiled nodes: 3D signed distance functions and 2D profiles.

Coordinates travel as a tuple ``(x, y, z)`` of tensors that broadcast against each other, so a
grid is passed as three 1D axes shaped ``(1, 1, W)``, ``(1, H, 1)``, ``(D, 1, 1)`` without
materialising ``(D, H, W, 3)``. Every kernel is a torch function of those tensors; on the CPU in
float32 the hottest ones hand their arithmetic to native code that gives bitwise the same values
(:mod:`fdif_core.native`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from fdif_core.domain import Domain

Vec3 = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
Bounds = tuple[np.ndarray, np.ndarray]


def constants(owner: object, like: torch.Tensor, *values: float) -> tuple[torch.Tensor, ...]:
    """``values`` as 0-dim tensors of ``like``'s dtype and device, made once per ``owner``.

    A Python number in an operation with a tensor costs torch a scalar-to-tensor conversion
    (about 4 us in torch 2.13) each time. A 0-dim tensor of the tensor's dtype gives bitwise
    the same result, as the number is rounded to that dtype either way. The tensors are cached
    on ``owner`` (a node), so they live as long as the numbers they hold. On a GPU they are
    filled there: copying them from the host would wait for the GPU's queue to drain.
    """
    cache = owner.__dict__.setdefault("_constants", {})
    key = (like.dtype, like.device, values)
    found = cache.get(key)
    if found is None:
        if like.device.type == "cpu":
            found = torch.tensor(values, dtype=like.dtype).unbind(0)
        else:
            found = tuple(torch.full((), v, dtype=like.dtype, device=like.device) for v in values)
        cache[key] = found
    return found


class _PerPointConstants(dict):
    """The :func:`constants` cache of a batched node: its fields are already per-point tensors
    (passed through); other numbers become 0-dim tensors, filled on the device (a
    ``torch.tensor`` copy from the host would wait for a GPU's queue to drain)."""

    def get(self, key: tuple, default: object = None) -> tuple[torch.Tensor, ...]:
        dtype, device, values = key
        return tuple(v if isinstance(v, torch.Tensor) else
                     torch.full((), v, dtype=dtype, device=device) for v in values)


class Batchable:
    """Nodes that many objects can share in one evaluation (:meth:`batched`).

    ``batch_fields`` names the attributes holding a node's numbers as its kernel reads them
    (floats, or tuples of floats), with every derived number computed in ``__init__`` in
    float64, so the kernel only combines them with point tensors; ``batch_shape`` names the
    attributes that shape the computation (counts, choices), which objects sharing a batch
    must agree on. ``None`` fields: the node cannot be batched.
    """

    batch_fields: tuple[str, ...] | None = None
    batch_shape: tuple[str, ...] = ()

    def batch_signature(self) -> tuple | None:
        """What objects must share to be evaluated together; ``None`` if never."""
        if self.batch_fields is None:
            return None
        children = tuple(child.batch_signature() for child in self.children)
        if None in children:
            return None
        return (type(self), tuple(getattr(self, name) for name in self.batch_shape), children)

    def batched(self, nodes: list, gather: Callable[[np.ndarray], torch.Tensor]):
        """A copy of this node whose fields hold the values of ``nodes`` (all of this node's
        signature), shaped to broadcast against the points: ``gather`` maps float64 values
        ``(G, ...)``, one row per node, to float32 ``(..., *P)`` for points of shape ``P``.
        Children are batched alike."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_constants"] = _PerPointConstants()
        if self.batch_fields:  # one gather for all fields: columns, one per number
            fields = [np.array([getattr(node, name) for node in nodes], dtype=np.float64)
                      .reshape(len(nodes), -1) for name in self.batch_fields]
            table = gather(np.concatenate(fields, axis=1))
            at = 0
            for name, field in zip(self.batch_fields, fields, strict=True):
                width = field.shape[1]
                value = getattr(self, name)
                copy.__dict__[name] = tuple(table[at:at + width].unbind(0)) \
                    if isinstance(value, tuple) else table[at]
                at += width
        copy.children = [child.batched([node.children[i] for node in nodes], gather)
                         for i, child in enumerate(self.children)]
        for name, value in self.__dict__.items():  # references to children (profile2d)
            for i, child in enumerate(self.children):
                if value is child:
                    copy.__dict__[name] = copy.children[i]
        return copy


class SDF3(Batchable, ABC):
    """A compiled 3D node: ``f(q)`` is negative inside."""

    children: list

    def __init__(self, children: list | None = None) -> None:
        self.children = list(children or [])

    @abstractmethod
    def __call__(self, q: Vec3) -> torch.Tensor:
        """Signed distance at local points ``q``."""

    @abstractmethod
    def bounds(self, level: float) -> Bounds | None:
        """A local axis-aligned box ``(lo, hi)`` holding every point with ``f <= level``.

        ``None`` means unknown or unbounded: callers then evaluate the whole domain.
        """

    def prepare(self, domain: Domain) -> None:
        """Fix quantities that depend on the evaluation domain (default: none, recurse)."""
        for child in self.children:
            child.prepare(domain)

    @property
    def domain_dependent(self) -> bool:
        """Whether :meth:`prepare` changes the function (then it must run before evaluation)."""
        return any(child.domain_dependent for child in self.children)

    @property
    def lipschitz(self) -> float:
        """An upper bound of ``|f(q1) - f(q2)| / |q1 - q2|``; ``inf`` when unknown.

        The generator skips blocks of voxels that this bound proves to be outside, so it must
        never be too small (1 for exact distances).
        """
        return math.inf

    def lipschitz_near(self, q: Vec3, radius: float) -> float | torch.Tensor:
        """A bound of the gradient norm within ``radius`` of each point ``q``.

        One number for all points or one per point, never above :attr:`lipschitz`. Nodes whose
        steepness varies in space (scaled extrusions) return tighter local bounds, so the culling
        keeps fewer blocks; the default is the global bound.
        """
        return self.lipschitz

    def floor_near(self, q: Vec3, radius: float) -> torch.Tensor | None:
        """A lower bound of ``f`` within ``radius`` of each point ``q``, known without ``f(q)``.

        ``None`` (the default) when the node has none; the culling then relies on
        :meth:`lipschitz_near` alone.
        """
        return None


class SDF2(Batchable, ABC):
    """A compiled 2D profile ``g(x, y)``, negative inside."""

    children: list

    def __init__(self, children: list | None = None) -> None:
        self.children = list(children or [])

    @abstractmethod
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Signed distance at 2D points."""

    @property
    @abstractmethod
    def radius(self) -> float:
        """Largest distance from the origin to a point of the profile's boundary."""

    def prepare(self, domain: Domain) -> None:  # noqa: B027 - optional hook
        """2D profiles have no domain-dependent quantities."""

    domain_dependent = False

    @property
    def lipschitz(self) -> float:
        """Upper bound of the gradient norm (1 for exact 2D distances; ``inf`` if unknown)."""
        return math.inf


def box(half: np.ndarray | list[float], centre: np.ndarray | list[float] | None = None) -> Bounds:
    """Bounds ``(centre - half, centre + half)``."""
    half = np.asarray(half, dtype=np.float64)
    centre = np.zeros(3) if centre is None else np.asarray(centre, dtype=np.float64)
    return centre - half, centre + half


def apply_linear(matrix: np.ndarray, q: Vec3) -> Vec3:
    """``matrix @ q`` for broadcastable component tensors, element-wise.

    Exact zero terms are skipped and unit factors not multiplied, so an identity matrix
    returns the inputs' values exactly; the operation order is fixed, so a subset of points
    gets bitwise the values it gets as part of a larger set.
    """
    out = []
    for i in range(3):
        acc = None
        for j in range(3):
            a = float(matrix[i, j])
            if a == 0.0:
                continue
            term = q[j] if a == 1.0 else q[j] * a
            acc = term if acc is None else acc + term
        out.append(acc if acc is not None else torch.zeros_like(q[i]))
    return tuple(out)
