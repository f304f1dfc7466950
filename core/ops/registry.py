"""The op table: ONNX (domain, op_type, since_version) → converter.

A converter takes a :class:`~core.ops.base.NodeCtx` and returns the right-hand
side of one Python statement (an expression) that computes the node's outputs
with torch. Register one with::

    @register("Relu")
    def relu(ctx): return f"torch.relu({ctx.x(0)})"

    @register("Split", since=13)   # schema versions: the newest ``since`` ≤ the node's wins
    def split13(ctx): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.ops.base import NodeCtx

Converter = Callable[["NodeCtx"], str]


@dataclass(frozen=True)
class OpDef:
    op_type: str
    domain: str
    since: int
    fn: Converter

    @property
    def family(self) -> str:
        return self.fn.__module__.rsplit(".", 1)[-1]


_TABLE: dict[tuple[str, str], list[OpDef]] = {}


def register(*op_types: str, since: int = 1, domain: str = "") -> Callable[[Converter], Converter]:
    """Register a converter for one or more op types from schema version ``since`` on."""

    def deco(fn: Converter) -> Converter:
        for op_type in op_types:
            entries = _TABLE.setdefault((domain, op_type), [])
            if any(e.since == since for e in entries):
                raise ValueError(f"converter for {op_type} since {since} registered twice")
            entries.append(OpDef(op_type, domain, since, fn))
            entries.sort(key=lambda e: e.since)
        return fn

    return deco


def lookup(op_type: str, domain: str, since_version: int) -> OpDef | None:
    """The converter in force for a node whose schema is ``since_version``, or None."""
    best = None
    for entry in _TABLE.get((domain, op_type), ()):
        if entry.since <= since_version:
            best = entry
    return best


def supported_ops() -> list[tuple[str, str]]:
    """(domain, op_type) pairs that the table covers, sorted."""
    return sorted(_TABLE)


def table_entries() -> list[OpDef]:
    return [e for entries in _TABLE.values() for e in entries]
