"""ONNX → torch op table, one module per op family.

Importing this package registers every converter. See :mod:`core.ops.registry`.
"""

from core.ops import activation, elementwise, linalg, nn, reduce, tensor  # noqa: F401  (registers)
from core.ops.registry import OpDef, lookup, register, supported_ops, table_entries

__all__ = ["OpDef", "lookup", "register", "supported_ops", "table_entries"]
