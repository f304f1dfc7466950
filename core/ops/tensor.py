"""Tensor manipulation: Reshape, Flatten, Transpose, (Un)Squeeze, Concat, Split, Slice,
Gather*, Scatter*, Shape, Size, Expand, Tile, Pad, ConstantOfShape, Cast, Identity, Range..."""

from __future__ import annotations

from core.ops.base import NodeCtx
from core.ops.helpers import as_ints
from core.ops.registry import register


@register("Concat", since=4)
def concat(ctx: NodeCtx) -> str:
    return f"torch.cat([{', '.join(ctx.xs())}], dim={ctx.attr('axis')})"


@register("Reshape", since=5)
def reshape(ctx: NodeCtx) -> str:
    allowzero = ctx.attr("allowzero", 0)
    shape = ctx.const_list(1)
    if shape is None:
        shape_expr = f"{ctx.helper(as_ints)}({ctx.x(1)})"
        if not allowzero:
            raise ctx.unsupported("dynamic shape input is not handled yet")
        return f"torch.reshape({ctx.x(0)}, {shape_expr})"
    in_shape = ctx.info(0).shape
    if not allowzero and 0 in shape:
        if in_shape is None or any(not isinstance(in_shape[i], int) for i, s in enumerate(shape) if s == 0):
            raise ctx.unsupported("0 in shape with unknown input dims")
        shape = [in_shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return f"torch.reshape({ctx.x(0)}, {tuple(shape)!r})"
