"""Element-wise arithmetic, comparison, logic and math functions (numpy-style broadcasting)."""

from __future__ import annotations

from core.ops.base import NodeCtx
from core.ops.registry import register


@register("Add")
def add(ctx: NodeCtx) -> str:
    return f"torch.add({ctx.x(0)}, {ctx.x(1)})"


@register("Mul")
def mul(ctx: NodeCtx) -> str:
    return f"torch.mul({ctx.x(0)}, {ctx.x(1)})"
