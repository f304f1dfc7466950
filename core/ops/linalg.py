"""Linear algebra: MatMul, Gemm, Einsum."""

from __future__ import annotations

import numpy as np

from core.ops.base import FLOAT_TYPES, NodeCtx
from core.ops.elementwise import number_literal
from core.ops.registry import register


@register("MatMul", since=1)
def matmul(ctx: NodeCtx) -> str:
    """numpy.matmul semantics (N-d batch broadcasting, 1-d operands), as torch.matmul."""
    return f"torch.matmul({ctx.x(0)}, {ctx.x(1)})"


def _num(value: float, elem_type: int) -> str:
    """alpha/beta as a literal of the computation's type (float32 value, shortest form)."""
    if elem_type in FLOAT_TYPES or not float(value).is_integer():
        return number_literal(np.float32(value)) or repr(float(value))
    return str(int(value))


@register("Gemm", since=1)
def gemm(ctx: NodeCtx) -> str:
    """Y = alpha * A' @ B' + beta * C (C optional from opset 11, unidirectionally broadcast).

    ``transB=1, alpha=beta=1`` with a 1-D C (the Linear layer torch exports) maps to
    ``F.linear``; other cases to ``torch.addmm`` / ``torch.mm``.
    """
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    trans_a, trans_b = ctx.attr("transA", 0), ctx.attr("transB", 0)
    et = ctx.elem_type(0)
    a = f"{ctx.x(0)}.t()" if trans_a else f"{ctx.x(0)}"
    b = f"{ctx.x(1)}.t()" if trans_b else f"{ctx.x(1)}"
    c = ctx.x(2) if ctx.has(2) and beta != 0.0 else None

    if trans_b and alpha == 1.0 and beta == 1.0:
        n = (ctx.info(1).shape or (None,))[0]
        c_shape = ctx.info(2).shape if c is not None else None
        if c is None or (c_shape is not None and len(c_shape) == 1 and c_shape[0] == n and n is not None):
            return f"F.linear({a}, {ctx.x(1)}{', ' + c if c else ''})"

    if c is None:
        mm = f"torch.mm({a}, {b})"
        return mm if alpha == 1.0 else f"torch.mul({mm}, {_num(alpha, et)})"
    if et in FLOAT_TYPES or (alpha.is_integer() and beta.is_integer()):
        scale = ([f"beta={_num(beta, et)}"] if beta != 1.0 else []) + (
            [f"alpha={_num(alpha, et)}"] if alpha != 1.0 else []
        )
        return f"torch.addmm({', '.join([c, a, b] + scale)})"
    # integer matrices with fractional alpha/beta: computed in float64 and truncated, as the reference does
    dtype = ctx.dtype(et)
    return f"({alpha!r} * torch.mm({a}, {b}).double() + {beta!r} * {c}.double()).to({dtype})"


@register("Einsum", since=12)
def einsum(ctx: NodeCtx) -> str:
    equation = "".join(str(ctx.attr("equation")).split())
    return f"torch.einsum({equation!r}, {', '.join(ctx.xs())})"
