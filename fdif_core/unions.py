"""Combined-union classes (spec §6; optional, not used by the paper).

A preset with ``combined_unions = N`` gets N extra classes after its primitives: ordered pairs
``(A, B)`` of its classes (``A == B`` allowed) shuffled by ``union_seed`` and cut to N. Each
class is built in memory as data: the parameters of both children (prefixed ``a_`` and
``b_``), the blend width ``k = U(0.01, 0.15)·min(G)``, the axis and the move ratio, over an
``fdif_union`` node. The children stay axis-aligned, as in the reference (§15.16).
"""

from __future__ import annotations

import itertools

import numpy as np

from fdif_core.distributions import RandInt, Uniform, parse_product
from fdif_core.errors import FdifError
from fdif_core.shapes import NodeSpec, ShapeClass


def reference_key(shape: ShapeClass) -> str:
    """The reference registry key of a class (its first alias, else its name)."""
    return shape.aliases[0] if shape.aliases else shape.name


def _rename_scale(text: str | None, rename: dict[str, str]) -> str | None:
    if text is None:
        return None
    parts = []
    for i, (op, factor) in enumerate(parse_product(text)):
        token = rename.get(factor, factor) if isinstance(factor, str) else repr(factor)
        parts.append(token if i == 0 and op == "*" else f"{op}{token}")
    return "".join(parts)


def _prefixed(shape: ShapeClass, prefix: str) -> tuple[dict, NodeSpec]:
    rename = {name: f"{prefix}{name}" for name in shape.params}
    params = {}
    for name, value in shape.params.items():
        if hasattr(value, "scale"):
            value = value.model_copy(update={"scale": _rename_scale(value.scale, rename)})
        params[rename[name]] = value

    def node(spec: NodeSpec) -> NodeSpec:
        values = {k: rename.get(v, v) if isinstance(v, str) else v for k, v in spec.params.items()}
        return NodeSpec(kind=spec.kind, params=values, children=[node(c) for c in spec.children])

    return params, node(shape.shape)


def union_class(a: ShapeClass, b: ShapeClass, index: int) -> ShapeClass:
    """The union class ``Union_{keyA}_{keyB}_{index:03d}`` of two classes."""
    params_a, tree_a = _prefixed(a, "a_")
    params_b, tree_b = _prefixed(b, "b_")
    params = {**params_a, **params_b,
              "k": Uniform(low=0.01, high=0.15, scale="min_grid"),
              "axis": RandInt(low=0, high=2),
              "move_ratio": Uniform(low=0.1, high=0.7)}
    tree = NodeSpec(kind="fdif_union", params={"k": "k", "axis": "axis", "move_ratio": "move_ratio"},
                    children=[tree_a, tree_b])
    return ShapeClass(name=f"union_{a.name}_{b.name}_{index:03d}",
                      display_name=f"{a.display_name}_union_{b.display_name}",
                      aliases=[f"Union_{reference_key(a)}_{reference_key(b)}_{index:03d}"],
                      description=f"Combined union of {a.display_name} and {b.display_name} "
                                  "(spec §6).",
                      category="combined_union", params=params, shape=tree)


def union_catalogue(shapes: list[ShapeClass], count: int, seed: int) -> list[ShapeClass]:
    """The first ``count`` ordered pairs of ``shapes`` after a shuffle seeded by ``seed``."""
    pairs = list(itertools.product(shapes, repeat=2))
    if count > len(pairs):
        raise FdifError(f"combined_unions: {count} asked, but {len(shapes)} classes give only "
                        f"{len(pairs)} ordered pairs")
    order = np.random.default_rng(seed).permutation(len(pairs))
    return [union_class(*pairs[int(j)], i) for i, j in enumerate(order[:count])]
