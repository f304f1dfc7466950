"""Linear algebra: MatMul, Gemm, Einsum."""

from __future__ import annotations

from core.ops.base import NodeCtx
from core.ops.registry import register


@register("MatMul")
def matmul(ctx: NodeCtx) -> str:
    return f"torch.matmul({ctx.x(0)}, {ctx.x(1)})"
