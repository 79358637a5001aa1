"""The mapper node: a class's own intensity mapping (spec §10).

A ``mapper`` node may only be the root of a class tree. Its distance is its child's; it tells the
composer to map this class's objects with ``name`` instead of the mapper the preset draws per
object, so a designed class can carry its texture with it.
"""

from __future__ import annotations

import torch

from fdif_core.mappers import MAPPERS
from fdif_core.nodes.base import SDF3, Bounds, Vec3
from fdif_core.nodes.registry import ParamSpec, register_node


@register_node(
    "mapper", category="domain",
    description="Root only: map this class's distances to intensity with the named mapper.",
    params=[ParamSpec("name", "Mapper (spec §10).", "inverse_cube", unit="choice",
                      choices=tuple(MAPPERS))],
    children=1)
class MapperNode(SDF3):
    """Passes the child's distance through; :func:`class_mapper` reads ``name``."""

    def __init__(self, name: str = "inverse_cube", children: list | None = None) -> None:
        super().__init__(children)
        self.name = name

    def __call__(self, q: Vec3) -> torch.Tensor:
        return self.children[0](q)

    def bounds(self, level: float) -> Bounds | None:
        return self.children[0].bounds(level)

    @property
    def lipschitz(self) -> float:
        return self.children[0].lipschitz

    def lipschitz_near(self, q: Vec3, radius: float) -> float | torch.Tensor:
        return self.children[0].lipschitz_near(q, radius)

    def floor_near(self, q: Vec3, radius: float) -> torch.Tensor | None:
        return self.children[0].floor_near(q, radius)


def class_mapper(tree: dict) -> str | None:
    """The mapper a concrete tree fixes (its root is a ``mapper`` node), else ``None``."""
    return tree["params"].get("name", "inverse_cube") if tree["kind"] == "mapper" else None
