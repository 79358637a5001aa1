"""Node kinds. Importing this package registers every built-in kind.

FDIF families (:mod:`~fdif_core.nodes.fdif`, :mod:`~fdif_core.nodes.profiles`), further
primitives (:mod:`~fdif_core.nodes.primitives`), 2D polygons and the torus sweep
(:mod:`~fdif_core.nodes.polygons`), CSG (:mod:`~fdif_core.nodes.csg`), domain operations
(:mod:`~fdif_core.nodes.domain_ops`), displacement (:mod:`~fdif_core.nodes.displace`), the
formula node (:mod:`~fdif_core.nodes.formula`) and the root-only mapper node
(:mod:`~fdif_core.nodes.mapper`).
"""

from fdif_core.nodes import (  # noqa: F401 - registration side effect
    csg,
    displace,
    domain_ops,
    fdif,
    formula,
    mapper,
    polygons,
    primitives,
    profiles,
)
from fdif_core.nodes.registry import NODE_KINDS, NodeKind, ParamSpec, node_kind, register_node

__all__ = ["NODE_KINDS", "NodeKind", "ParamSpec", "node_kind", "register_node"]
