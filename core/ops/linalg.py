"""Linear algebra: MatMul, Gemm, Einsum."""

from __future__ import annotations

import numpy as np
import torch

from core.ops.base import FLOAT_TYPES, NodeCtx
from core.ops.elementwise import number_literal
from core.ops.helpers import helper
from core.ops.registry import register


@helper()
def linear_onednn(x, w, b=None):
    """``x @ B + b`` for a constant weight B (K x N) and a 1-D bias ``b`` (a Gemm's C, or the Add that
    is a MatMul's only reader), by oneDNN with B reordered into its blocked layout (``w``: a
    OneDNNWeight, see PREPACKED_LINEAR). torch.matmul when ``w`` is the plain B (no oneDNN)."""
    if isinstance(w, torch.Tensor):
        y = torch.matmul(x, w)
        return y if b is None else y.add_(b)
    return torch.ops.mkldnn._linear_pointwise(x, w.for_threads(), b, "none", [], "")


@register("MatMul", since=1)
def matmul(ctx: NodeCtx) -> str:
    """numpy.matmul semantics (N-d batch broadcasting, 1-d operands), as torch.matmul; a constant
    float32 weight goes to oneDNN's linear (``linear_onednn``), with the bias of the Add after it."""
    if ctx.has(1) and ctx.node.inputs[1] in ctx.prepacked_linear:
        bias = ctx.post_op[1][0] if ctx.post_op is not None and ctx.post_op[0] == "bias" else None
        extra = f", {ctx.expr(bias)}" if bias else ""
        return f"{ctx.helper(linear_onednn)}({ctx.x(0)}, {ctx.x(1)}{extra})"
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
    ``F.linear``; other cases to ``torch.addmm`` / ``torch.mm``. A constant float32 B with alpha 1 and
    no C or a 1-D one goes to oneDNN's linear (``linear_onednn``).
    """
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    trans_a, trans_b = ctx.attr("transA", 0), ctx.attr("transB", 0)
    if ctx.node.inputs[1] in ctx.prepacked_linear:  # constant B, alpha 1, 1-D C (codegen._linear_use)
        c = f", {ctx.x(2)}" if ctx.has(2) else ""
        return f"{ctx.helper(linear_onednn)}({ctx.x(0)}, {ctx.x(1)}{c})"
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
