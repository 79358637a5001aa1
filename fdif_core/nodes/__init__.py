"""Node kinds. Importing this package registers every built-in kind."""

from fdif_core.nodes import fdif, profiles  # noqa: F401 - registration side effect
from fdif_core.nodes.registry import NODE_KINDS, NodeKind, ParamSpec, node_kind, register_node

__all__ = ["NODE_KINDS", "NodeKind", "ParamSpec", "node_kind", "register_node"]
