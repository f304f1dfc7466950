"""Neural-network layers: convolution, pooling, normalisation, LRN, Dropout, Resize,
DepthToSpace/SpaceToDepth."""

from __future__ import annotations

from core.ops.base import NodeCtx, lit
from core.ops.registry import register


def _conv_padding(ctx: NodeCtx, spatial: int) -> tuple[str, str | None]:
    """(padding argument, explicit F.pad call or None) for Conv/Pool's pads and auto_pad."""
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise ctx.unsupported(f"auto_pad={auto_pad} is not handled yet")
    pads = list(ctx.attr("pads", [0] * (2 * spatial))) if auto_pad == "NOTSET" else [0] * (2 * spatial)
    begin, end = pads[:spatial], pads[spatial:]
    if begin == end:
        return lit(tuple(begin)), None
    # F.pad takes the last dimension first: (left, right, top, bottom, ...)
    torch_pads = []
    for b, e in zip(reversed(begin), reversed(end)):
        torch_pads += [b, e]
    return lit((0,) * spatial), lit(tuple(torch_pads))


@register("Conv")
def conv(ctx: NodeCtx) -> str:
    rank = ctx.rank(1)
    if rank is None:
        raise ctx.unsupported("weight rank unknown")
    spatial = rank - 2
    fn = {1: "F.conv1d", 2: "F.conv2d", 3: "F.conv3d"}.get(spatial)
    if fn is None:
        raise ctx.unsupported(f"{spatial}-d convolution")
    padding, pre_pad = _conv_padding(ctx, spatial)
    x = ctx.x(0) if pre_pad is None else f"F.pad({ctx.x(0)}, {pre_pad})"
    args = [x, ctx.x(1), ctx.x(2) or "None"]
    strides = tuple(ctx.attr("strides", [1] * spatial))
    dilations = tuple(ctx.attr("dilations", [1] * spatial))
    group = ctx.attr("group", 1)
    args.append(f"stride={lit(strides)}")
    args.append(f"padding={padding}")
    if any(d != 1 for d in dilations):
        args.append(f"dilation={lit(dilations)}")
    if group != 1:
        args.append(f"groups={group}")
    return f"{fn}({', '.join(args)})"
