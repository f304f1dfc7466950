"""Tensor manipulation: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Split, Slice,
Gather, GatherElements, GatherND, ScatterElements, ScatterND, Scatter, Shape, Size, Expand, Tile,
Pad, ConstantOfShape, Cast, CastLike, Identity, Range, Trilu, OneHot, NonZero, Compress, EyeLike,
ReverseSequence, CenterCropPad, Unique.

Shape-like inputs (shape, axes, pads, starts...) that are initializers are inlined as literals;
those computed at run time are int64 torch tensors, read with :func:`as_ints` or a helper below.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F  # noqa: N812

from core.ops.base import NodeCtx, lit
from core.ops.helpers import as_ints, helper
from core.ops.registry import register

# Slice bounds at or beyond this magnitude mean "to the end" (exporters write INT_MAX / INT64_MAX).
_BIG = 2**31 - 1


# -- helpers copied into generated modules ----------------------------------------------------
@helper(as_ints)
def onnx_reshape(x, shape, allowzero=0):
    """Reshape to a run-time ``shape``; a 0 copies the input's dim unless ``allowzero``."""
    dims = as_ints(shape)
    if not allowzero:
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return torch.reshape(x, dims)


@helper(as_ints)
def onnx_unsqueeze(x, axes):
    """Insert size-1 dims at ``axes`` (positions in the output; negative counts from its end)."""
    axes = as_ints(axes)
    rank = x.dim() + len(axes)
    for axis in sorted(a + rank if a < 0 else a for a in axes):
        x = torch.unsqueeze(x, axis)
    return x


@helper()
def onnx_split_equal(x, n, axis):
    """Split into ``n`` parts of ceil(dim / n); the last one takes what is left (Split-18)."""
    dim = x.shape[axis]
    size = dim // n if dim % n == 0 else dim // n + 1
    sizes = [size] * (n - 1) + [dim - size * (n - 1)]
    return torch.split(x, sizes, dim=axis)


@helper(as_ints)
def onnx_slice(x, starts, ends, axes=None, steps=None):
    """ONNX Slice: bounds clamped per the spec, negative steps by flipping."""
    starts, ends = as_ints(starts), as_ints(ends)
    axes = list(range(len(starts))) if axes is None else as_ints(axes)
    steps = [1] * len(starts) if steps is None else as_ints(steps)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = axis + x.dim() if axis < 0 else axis
        dim = x.shape[axis]
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        index = [slice(None)] * x.dim()
        if step > 0:
            index[axis] = slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
            x = x[tuple(index)]
        else:
            start = min(max(start, 0), dim - 1)
            end = min(max(end, -1), dim - 1)
            index[axis] = slice(end + 1, max(start + 1, end + 1))
            x = torch.flip(x[tuple(index)], (axis,))
            index[axis] = slice(None, None, -step)
            x = x[tuple(index)]
    return x


@helper()
def onnx_gather_elements(x, indices, axis):
    """torch.gather with ONNX's negative indices (counted from the end of ``axis``)."""
    indices = indices.long()
    indices = torch.where(indices < 0, indices + x.shape[axis], indices)
    return torch.gather(x, axis, indices)


@helper()
def onnx_gather_nd(data, indices, batch_dims=0):
    """ONNX GatherND: index the first ``indices.shape[-1]`` dims after the batch dims."""
    k = indices.shape[-1]
    nb = math.prod(data.shape[:batch_dims])
    m = math.prod(indices.shape[batch_dims:-1])
    flat = data.reshape(nb, *data.shape[batch_dims:])
    idx = indices.long().reshape(nb, m, k)
    rows = torch.arange(nb).reshape(nb, 1).expand(nb, m)
    out = flat[(rows,) + tuple(idx[..., j] for j in range(k))]
    return out.reshape(*indices.shape[:-1], *data.shape[batch_dims + k :])


@helper()
def onnx_scatter_elements(data, indices, updates, axis=0, reduction="none"):
    """ONNX ScatterElements: torch.scatter(_reduce) with negative indices wrapped."""
    indices = indices.long()
    indices = torch.where(indices < 0, indices + data.shape[axis], indices)
    if reduction == "none":
        return torch.scatter(data, axis, indices, updates)
    reduce = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[reduction]
    return torch.scatter_reduce(data, axis, indices, updates, reduce)


@helper()
def onnx_scatter_nd(data, indices, updates, reduction="none"):
    """ONNX ScatterND: write (or reduce) ``updates`` into slices of a copy of ``data``."""
    k = indices.shape[-1]
    lead, rest = data.shape[:k], data.shape[k:]
    n = math.prod(indices.shape[:-1])
    idx = indices.long().reshape(n, k)
    row = torch.zeros(n, dtype=torch.int64)
    for j in range(k):
        row = row * lead[j] + torch.where(idx[:, j] < 0, idx[:, j] + lead[j], idx[:, j])
    out = data.reshape(math.prod(lead), math.prod(rest)).clone()
    upd = updates.reshape(n, math.prod(rest)).to(data.dtype)
    if reduction == "none":
        out[row] = upd
    else:
        reduce = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[reduction]
        out.scatter_reduce_(0, row.reshape(n, 1).expand(n, upd.shape[1]), upd, reduce)
    return out.reshape(data.shape)


@helper(as_ints)
def onnx_pad(x, pads, mode="constant", value=0, axes=None):
    """ONNX Pad with run-time pads: [begin..., end...] per axis; negative pads crop."""
    pads = as_ints(pads)
    rank = x.dim()
    axes = list(range(rank)) if axes is None else [a + rank if a < 0 else a for a in as_ints(axes)]
    n = len(axes)
    begin, end = dict(zip(axes, pads[:n], strict=True)), dict(zip(axes, pads[n:], strict=True))
    if mode == "constant":
        value = value.item() if isinstance(value, torch.Tensor) else value
        torch_pads = []
        for a in reversed(range(rank)):
            torch_pads += [begin.get(a, 0), end.get(a, 0)]
        return F.pad(x, torch_pads, value=value)
    for a in axes:
        b, e = begin[a], end[a]
        if b < 0 or e < 0:  # crop first, then pad from what is left (as ONNX Runtime does)
            x = x.narrow(a, max(-b, 0), x.shape[a] - max(-b, 0) - max(-e, 0))
            b, e = max(b, 0), max(e, 0)
        if b == 0 and e == 0:
            continue
        dim = x.shape[a]
        index = torch.arange(-b, dim + e)
        if mode == "edge":
            index = index.clamp(0, dim - 1)
        elif mode == "wrap":
            index = index.remainder(dim)
        else:  # reflect
            period = 2 * (dim - 1)
            index = index.remainder(period) if period else torch.zeros_like(index)
            index = torch.where(index >= dim, period - index, index)
        x = torch.index_select(x, a, index)
    return x


@helper(as_ints)
def onnx_center_crop_pad(x, shape, axes=None):
    """ONNX CenterCropPad: crop or zero-pad each of ``axes`` to ``shape``, centred."""
    rank = x.dim()
    axes = list(range(rank)) if axes is None else [a + rank if a < 0 else a for a in axes]
    for a, size in zip(axes, as_ints(shape), strict=False):
        dim = x.shape[a]
        if size < dim:
            x = x.narrow(a, (dim - size) // 2, size)
        elif size > dim:
            pads = [0] * (2 * (rank - a))
            pads[-2] = (size - dim) // 2
            pads[-1] = size - dim - pads[-2]
            x = F.pad(x, pads)
    return x


@helper()
def onnx_one_hot(indices, depth, values, axis=-1):
    """ONNX OneHot: ``values[1]`` where the index matches (negatives wrap), ``values[0]`` elsewhere."""
    depth = int(torch.as_tensor(depth).reshape(-1)[0])
    indices = indices.to(torch.int64)
    indices = torch.where(indices < 0, indices + depth, indices)
    axis = axis + indices.dim() + 1 if axis < 0 else axis
    classes = torch.arange(depth).reshape([depth] + [1] * (indices.dim() - axis))
    hot = torch.unsqueeze(indices, axis) == classes
    return torch.where(hot, values[1], values[0])


@helper()
def onnx_eye_like(x, k=0, dtype=torch.float32):
    """ONNX EyeLike: ones on the ``k``-th diagonal of a matrix shaped like ``x``."""
    rows = torch.arange(x.shape[0]).reshape(-1, 1)
    cols = torch.arange(x.shape[-1])
    return (cols - rows == k).to(dtype)


@helper()
def onnx_reverse_sequence(x, lengths, batch_axis=1, time_axis=0):
    """ONNX ReverseSequence: reverse the first ``lengths[b]`` steps of each batch entry."""
    xt = torch.movedim(x, (time_axis, batch_axis), (0, 1))
    steps = torch.arange(xt.shape[0]).reshape(-1, 1)
    lengths = lengths.long().reshape(1, -1)
    src = torch.where(steps < lengths, lengths - 1 - steps, steps)
    src = src.reshape(*src.shape, *[1] * (xt.dim() - 2)).expand(xt.shape)
    return torch.movedim(torch.gather(xt, 0, src), (0, 1), (time_axis, batch_axis))


@helper()
def onnx_unique(x, sorted_=1, axis=None):
    """ONNX Unique: (values, first indices, inverse indices, counts); first-occurrence order if not sorted."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    y, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=axis)
    n = x.shape[axis]
    first = torch.full((y.shape[axis],), n, dtype=torch.int64)
    first = first.scatter_reduce(0, inverse, torch.arange(n), "amin")
    if not sorted_:
        order = torch.argsort(first)
        y, first, counts = torch.index_select(y, axis, order), first[order], counts[order]
        inverse = torch.argsort(order)[inverse]
    return y, first, inverse, counts


# -- shared bits ------------------------------------------------------------------------------
def _axis(axis: int, rank: int | None) -> int:
    """``axis`` made non-negative when the rank is known."""
    if axis < 0 and rank is not None:
        return axis + rank
    return axis


def _index(x: str, parts: dict[int, str]) -> str:
    """``x[...]`` with the given per-axis index strings (all axes >= 0, or all < 0)."""
    if not parts:
        return x
    if min(parts) >= 0:
        items = [parts.get(a, ":") for a in range(max(parts) + 1)]
        while items and items[-1] == ":":
            items.pop()
        return f"{x}[{', '.join(items)}]" if items else x
    items = [parts.get(a, ":") for a in range(min(parts), 0)]
    return f"{x}[..., {', '.join(items)}]"


def _ints_arg(ctx: NodeCtx, i: int) -> str | None:
    """A shape-like input as a literal tuple if constant, else the run-time ``as_ints(...)`` call."""
    values = ctx.const_list(i)
    if values is not None:
        return lit(tuple(int(v) for v in values))
    if not ctx.has(i):
        return None
    return f"{ctx.helper(as_ints)}({ctx.x(i)})"


def _ints_or_tensor(ctx: NodeCtx, i: int) -> str:
    """A shape-like input for a helper: a literal tuple if constant, the tensor itself, or None."""
    values = ctx.const_list(i)
    if values is not None:
        return lit(tuple(int(v) for v in values))
    return f"{ctx.x(i)}"


def _scalar_arg(ctx: NodeCtx, i: int) -> str:
    """A scalar input as a Python number: a literal if constant, else ``x.item()``."""
    value = ctx.const(i)
    if value is not None:
        return lit(np.asarray(value).reshape(-1)[0].item())
    return f"{ctx.x(i)}.item()"


# -- Reshape, Flatten, Transpose, Squeeze, Unsqueeze ------------------------------------------
def _reshape(ctx: NodeCtx, shape: list[int] | None, allowzero: int) -> str:
    x = ctx.x(0)
    if shape is None:
        zero = ", allowzero=1" if allowzero else ""
        return f"{ctx.helper(onnx_reshape)}({x}, {ctx.x(1)}{zero})"
    in_shape = ctx.info(0).shape
    dims: list[str] = []
    for i, s in enumerate(shape):
        if s == 0 and not allowzero:
            known = in_shape is not None and i < len(in_shape) and isinstance(in_shape[i], int)
            dims.append(str(in_shape[i]) if known else f"{x}.shape[{i}]")
        else:
            dims.append(str(int(s)))
    return f"torch.reshape({x}, ({', '.join(dims)}{',' if len(dims) == 1 else ''}))"


@register("Reshape", since=1)
def reshape1(ctx: NodeCtx) -> str:
    return _reshape(ctx, list(ctx.attr("shape", [])), 0)


@register("Reshape", since=5)
def reshape(ctx: NodeCtx) -> str:
    return _reshape(ctx, ctx.const_list(1), ctx.attr("allowzero", 0))


@register("Flatten", since=1)
def flatten(ctx: NodeCtx) -> str:
    x, rank, axis = ctx.x(0), ctx.rank(0), ctx.attr("axis", 1)
    axis = _axis(axis, rank)
    if axis == 0:
        return f"torch.reshape({x}, (1, -1))"
    if axis == 1 and rank is not None and rank >= 2:
        return f"torch.flatten({x}, 1)"
    shape = ctx.info(0).shape
    if shape is not None:
        left, right = shape[:axis], shape[axis:]
        if all(isinstance(d, int) for d in right) and math.prod(right) > 0:
            return f"torch.reshape({x}, (-1, {math.prod(right)}))"
        if all(isinstance(d, int) for d in left) and math.prod(left) > 0:
            return f"torch.reshape({x}, ({math.prod(left)}, -1))"
    return f"torch.reshape({x}, (math.prod({x}.shape[:{axis}]), math.prod({x}.shape[{axis}:])))"


@register("Transpose", since=1)
def transpose(ctx: NodeCtx) -> str:
    x, perm = ctx.x(0), ctx.attr("perm")
    if perm is None:
        rank = ctx.rank(0)
        if rank is None:
            return f"torch.permute({x}, tuple(reversed(range({x}.dim()))))"
        perm = list(reversed(range(rank)))
    if list(perm) == sorted(perm):
        return x
    return f"torch.permute({x}, {lit(tuple(perm))})"


def _squeeze(ctx: NodeCtx, axes: list[int] | None, dynamic: str | None = None) -> str:
    x = ctx.x(0)
    if dynamic is not None:
        return f"torch.squeeze({x}, tuple({ctx.helper(as_ints)}({dynamic})))"
    if not axes:  # absent or empty: every size-1 dim, as ONNX Runtime does
        return f"torch.squeeze({x})"
    if len(axes) == 1:
        return f"torch.squeeze({x}, {axes[0]})"
    return f"torch.squeeze({x}, {lit(tuple(axes))})"


@register("Squeeze", since=1)
def squeeze1(ctx: NodeCtx) -> str:
    axes = ctx.attr("axes")
    return _squeeze(ctx, None if axes is None else list(axes))


@register("Squeeze", since=13)
def squeeze13(ctx: NodeCtx) -> str:
    if not ctx.has(1):
        return _squeeze(ctx, None)
    axes = ctx.const_list(1)
    if axes is None:
        return _squeeze(ctx, None, dynamic=ctx.x(1))
    return _squeeze(ctx, [int(a) for a in axes])


def _unsqueeze(ctx: NodeCtx, axes: list[int] | None) -> str:
    x = ctx.x(0)
    if axes is None:
        return f"{ctx.helper(onnx_unsqueeze)}({x}, {ctx.x(1)})"
    if len(axes) == 1:
        return f"torch.unsqueeze({x}, {axes[0]})"
    rank = ctx.rank(0)
    if rank is not None:
        axes = [a + rank + len(axes) if a < 0 else a for a in axes]
    if any(a < 0 for a in axes):
        return f"{ctx.helper(onnx_unsqueeze)}({x}, {lit(tuple(axes))})"
    return _index(x, {a: "None" for a in axes})


@register("Unsqueeze", since=1)
def unsqueeze1(ctx: NodeCtx) -> str:
    return _unsqueeze(ctx, [int(a) for a in ctx.attr("axes", [])])


@register("Unsqueeze", since=13)
def unsqueeze13(ctx: NodeCtx) -> str:
    axes = ctx.const_list(1)
    return _unsqueeze(ctx, None if axes is None else [int(a) for a in axes])


# -- Concat, Split --------------------------------------------------------------------------------
@register("Concat", since=1)
def concat1(ctx: NodeCtx) -> str:
    return f"torch.cat([{', '.join(ctx.xs())}], dim={ctx.attr('axis', 1)})"


@register("Concat", since=4)
def concat(ctx: NodeCtx) -> str:
    axis = ctx.attr("axis")
    if axis is None:
        raise ctx.unsupported("the axis attribute is required")
    return f"torch.cat([{', '.join(ctx.xs())}], dim={axis})"


@register("Split", since=1)
def split(ctx: NodeCtx) -> str:
    """Split-1/2/11 (``split`` attribute; Split-1 also as input), -13 (input), -18 (num_outputs)."""
    x, n = ctx.x(0), ctx.n_out
    axis = _axis(ctx.attr("axis", 0), ctx.rank(0))
    if n == 1:
        return x
    if ctx.has(1):
        sizes = ctx.const_list(1)
        if sizes is None:
            return f"torch.split({x}, {ctx.helper(as_ints)}({ctx.x(1)}), dim={axis})"
    else:
        sizes = ctx.attr("split")
    if sizes is not None:
        return f"torch.split({x}, {[int(s) for s in sizes]}, dim={axis})"
    shape = ctx.info(0).shape
    dim = shape[axis] if shape is not None and axis < len(shape) else None
    if isinstance(dim, int) and dim % n:
        size = dim // n + 1
        return f"torch.split({x}, {[size] * (n - 1) + [dim - size * (n - 1)]}, dim={axis})"
    if isinstance(dim, int) or ctx.node.since_version < 18:  # evenly divisible, as the spec demands
        return f"torch.chunk({x}, {n}, dim={axis})"
    return f"{ctx.helper(onnx_split_equal)}({x}, {n}, {axis})"


# -- Slice ------------------------------------------------------------------------------------
def _bound(v: int | None) -> str:
    return "" if v is None else str(v)


def _pos_slice(start: int, end: int, step: int, dim: int | None) -> str:
    """Python slice text for a positive step (Python's clamping is ONNX's)."""
    s: int | None
    e: int | None
    if dim is not None:
        s = min(max(start + dim if start < 0 else start, 0), dim)
        e = min(max(end + dim if end < 0 else end, 0), dim)
        s, e = (None if s == 0 else s), (None if e == dim else e)
    else:
        s = None if start <= -_BIG or start == 0 else start
        e = None if end >= _BIG else (0 if end <= -_BIG else end)
    text = f"{_bound(s)}:{_bound(e)}"
    return text + (f":{step}" if step != 1 else "")


def _neg_range(start: int, end: int, dim: int | None) -> str | None:
    """The ascending slice that a negative-step slice covers (before flipping), or None if unknown."""
    lo: int | None
    hi: int | None
    if dim is not None:
        s = min(max(start + dim if start < 0 else start, 0), dim - 1)
        e = min(max(end + dim if end < 0 else end, -1), dim - 1)
        lo, hi = e + 1, max(s + 1, e + 1)
        lo, hi = (None if lo == 0 else lo), (None if hi == dim else hi)
    else:
        if start == -1 or start >= _BIG:
            hi = None
        elif start >= 0:
            hi = start + 1
        else:
            return None
        if end <= -_BIG:
            lo = None
        elif end != -1:
            lo = end + 1
        else:
            return None
    return f"{_bound(lo)}:{_bound(hi)}"


def _slice_const(ctx: NodeCtx, starts: list, ends: list, axes: list, steps: list) -> str | None:
    """Indexing text for constant Slice parameters, or None where a helper must decide at run time."""
    x, rank, shape = ctx.x(0), ctx.rank(0), ctx.info(0).shape
    if any(s == 0 for s in steps):
        raise ctx.unsupported("a step of 0")
    axes = [_axis(int(a), rank) for a in axes]
    if len(set(axes)) != len(axes) or not (all(a >= 0 for a in axes) or all(a < 0 for a in axes)):
        return None
    parts: dict[int, str] = {}
    flips: dict[int, int] = {}
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        d = shape[axis] if shape is not None and axis >= 0 else None
        dim = d if isinstance(d, int) else None
        if step > 0:
            parts[axis] = _pos_slice(int(start), int(end), int(step), dim)
        else:
            covered = _neg_range(int(start), int(end), dim)
            if covered is None:
                return None
            parts[axis] = covered
            flips[axis] = -int(step)
    expr = _index(x, {a: p for a, p in parts.items() if p != ":"})
    if flips:
        expr = f"torch.flip({expr}, {lit(tuple(flips))})"
        strided = {a: f"::{k}" for a, k in flips.items() if k != 1}
        if strided:
            expr = _index(expr, strided)
    return expr


@register("Slice", since=1)
def slice1(ctx: NodeCtx) -> str:
    starts, ends = list(ctx.attr("starts")), list(ctx.attr("ends"))
    axes = list(ctx.attr("axes", range(len(starts))))
    steps = [1] * len(starts)
    expr = _slice_const(ctx, starts, ends, axes, steps)
    if expr is None:
        return f"{ctx.helper(onnx_slice)}({ctx.x(0)}, {lit(starts)}, {lit(ends)}, {lit(axes)})"
    return expr


@register("Slice", since=10)
def slice10(ctx: NodeCtx) -> str:
    """Slice-10+: starts, ends and the optional axes and steps as inputs."""
    starts, ends, axes, steps = (ctx.const_list(i) for i in range(1, 5))
    dynamic = any(ctx.has(i) and ctx.const(i) is None for i in range(1, 5))
    if not dynamic and starts is not None and ends is not None:
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        expr = _slice_const(ctx, starts, ends, axes, steps)
        if expr is not None:
            return expr
    args = [_ints_or_tensor(ctx, i) for i in range(1, 5)]
    while args[-1] == "None":
        args.pop()
    return f"{ctx.helper(onnx_slice)}({ctx.x(0)}, {', '.join(args)})"


# -- Gather*, Scatter* -------------------------------------------------------------------------
@register("Gather", since=1)
def gather(ctx: NodeCtx) -> str:
    x, rank = ctx.x(0), ctx.rank(0)
    axis = _axis(ctx.attr("axis", 0), rank)
    value = ctx.const(1)
    if value is not None and value.ndim == 0:
        index = str(int(value))
    elif value is not None and value.ndim == 1 and 0 < value.size <= 16:
        index = "[" + ", ".join(str(int(v)) for v in value) + "]"
    else:
        index = f"{ctx.x(1)}"
    return _index(x, {axis: index})


@register("GatherElements", since=11)
def gather_elements(ctx: NodeCtx) -> str:
    axis = _axis(ctx.attr("axis", 0), ctx.rank(0))
    value = ctx.const(1)
    if value is not None and value.dtype == np.int64 and (value >= 0).all():
        return f"torch.gather({ctx.x(0)}, {axis}, {ctx.x(1)})"
    return f"{ctx.helper(onnx_gather_elements)}({ctx.x(0)}, {ctx.x(1)}, {axis})"


@register("GatherND", since=11)
def gather_nd(ctx: NodeCtx) -> str:
    batch_dims = ctx.attr("batch_dims", 0)
    extra = f", batch_dims={batch_dims}" if batch_dims else ""
    return f"{ctx.helper(onnx_gather_nd)}({ctx.x(0)}, {ctx.x(1)}{extra})"


def _scatter_elements(ctx: NodeCtx, reduction: str) -> str:
    axis = _axis(ctx.attr("axis", 0), ctx.rank(0))
    data, indices, updates = ctx.x(0), ctx.x(1), ctx.x(2)
    value = ctx.const(1)
    if reduction == "none" and value is not None and value.dtype == np.int64 and (value >= 0).all():
        return f"torch.scatter({data}, {axis}, {indices}, {updates})"
    extra = f", reduction={reduction!r}" if reduction != "none" else ""
    return f"{ctx.helper(onnx_scatter_elements)}({data}, {indices}, {updates}, axis={axis}{extra})"


@register("Scatter", since=9)
def scatter(ctx: NodeCtx) -> str:
    return _scatter_elements(ctx, "none")


@register("ScatterElements", since=11)
def scatter_elements(ctx: NodeCtx) -> str:
    return _scatter_elements(ctx, ctx.attr("reduction", "none"))


@register("ScatterND", since=11)
def scatter_nd(ctx: NodeCtx) -> str:
    reduction = ctx.attr("reduction", "none")
    extra = f", reduction={reduction!r}" if reduction != "none" else ""
    return f"{ctx.helper(onnx_scatter_nd)}({ctx.x(0)}, {ctx.x(1)}, {ctx.x(2)}{extra})"


# -- Shape, Size, Expand, Tile ----------------------------------------------------------------
@register("Shape", since=1)
def shape(ctx: NodeCtx) -> str:
    start, end = ctx.attr("start", 0), ctx.attr("end")
    sl = "" if start == 0 and end is None else f"[{start or ''}:{'' if end is None else end}]"
    return f"torch.tensor({ctx.x(0)}.shape{sl}, dtype=torch.int64)"


@register("Size", since=1)
def size(ctx: NodeCtx) -> str:
    return f"torch.tensor({ctx.x(0)}.numel(), dtype=torch.int64)"


@register("Expand", since=8)
def expand(ctx: NodeCtx) -> str:
    x, target = ctx.x(0), ctx.const_list(1)
    info = ctx.info(0)
    if target is not None and info.is_static and info.shape is not None:
        out = np.broadcast_shapes(tuple(info.shape), tuple(int(t) for t in target))  # type: ignore[arg-type]
        if tuple(out) == tuple(info.shape):
            return x
        return f"{x}.expand{lit(tuple(out))}"
    shape_arg = _ints_arg(ctx, 1)
    return f"{x}.expand(torch.broadcast_shapes({x}.shape, {shape_arg}))"


@register("Tile", since=6)
def tile(ctx: NodeCtx) -> str:
    return f"torch.tile({ctx.x(0)}, {_ints_arg(ctx, 1)})"


# -- Pad, CenterCropPad -----------------------------------------------------------------------
_TORCH_PAD_MODES = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def _torch_pad_mode_fits(ctx: NodeCtx, mode: str, full: list[int], k: int) -> bool:
    """Whether F.pad's reflect/replicate/circular can pad the last ``k`` dims: a float input of rank
    k+1 or k+2, pads >= 0, and below torch's limits (numpy's reflect and wrap repeat beyond the dim)."""
    rank = len(full) // 2
    if ctx.elem_type(0) not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE) or min(full) < 0:
        return False
    if not (1 <= k <= 3 and rank in (k + 1, k + 2)):
        return False
    shape = ctx.info(0).shape or (None,) * rank
    slack = {"reflect": -1, "wrap": 0}.get(mode)
    return slack is None or all(
        not isinstance(d, int) or max(full[a], full[rank + a]) <= d + slack for a, d in enumerate(shape)
    )


def _pad(ctx: NodeCtx, pads: list[int] | None, mode: str, value: str, axes: list[int] | None) -> str:
    """F.pad for constant pads it can express; ``onnx_pad`` otherwise."""
    x, rank = ctx.x(0), ctx.rank(0)
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise ctx.unsupported(f"mode {mode!r}")
    if pads is not None:
        n = len(pads) // 2
        if axes is None and rank is None:
            rank = n
        if rank is not None:
            full = [0] * (2 * rank)
            for i, a in enumerate(range(rank) if axes is None else axes):
                a = a + rank if a < 0 else a
                full[a], full[rank + a] = pads[i], pads[n + i]
            torch_pads: list[int] = []
            for a in reversed(range(rank)):
                torch_pads += [full[a], full[rank + a]]
            while torch_pads[-2:] == [0, 0]:
                torch_pads = torch_pads[:-2]
            if not torch_pads:
                return x
            if mode == "constant":
                fill = "" if value in ("0", "0.0", "False") else f", value={value}"
                return f"F.pad({x}, {lit(tuple(torch_pads))}{fill})"
            k = max(len(torch_pads) // 2, rank - 2)
            torch_pads += [0] * (2 * k - len(torch_pads))
            if _torch_pad_mode_fits(ctx, mode, full, k):
                return f"F.pad({x}, {lit(tuple(torch_pads))}, mode={_TORCH_PAD_MODES[mode]!r})"
    args = [x, lit(tuple(pads)) if pads is not None else f"{ctx.x(1)}"]
    if mode != "constant":
        args.append(f"mode={mode!r}")
    elif value not in ("0", "0.0", "False"):
        args.append(f"value={value}")
    if axes is not None:
        args.append(f"axes={lit(tuple(axes))}")
    elif ctx.has(3):
        args.append(f"axes={ctx.x(3)}")
    return f"{ctx.helper(onnx_pad)}({', '.join(args)})"


@register("Pad", since=1)
def pad1(ctx: NodeCtx) -> str:
    pads = ctx.attr("paddings") if ctx.node.since_version < 2 else ctx.attr("pads")
    return _pad(ctx, [int(p) for p in pads], ctx.attr("mode", "constant"), lit(float(ctx.attr("value", 0.0))), None)


@register("Pad", since=11)
def pad11(ctx: NodeCtx) -> str:
    """Pad-11 (pads, constant_value inputs), -18 (axes input), -19 (wrap mode)."""
    pads = ctx.const_list(1)
    value = _scalar_arg(ctx, 2) if ctx.has(2) else "0"
    axes_const = ctx.const_list(3)
    if ctx.has(3) and axes_const is None:
        pads = None  # run-time axes: let the helper place the pads
    axes = None if axes_const is None else [int(a) for a in axes_const]
    return _pad(ctx, None if pads is None else [int(p) for p in pads], ctx.attr("mode", "constant"), value, axes)


@register("CenterCropPad", since=18)
def center_crop_pad(ctx: NodeCtx) -> str:
    axes = ctx.attr("axes")
    extra = "" if axes is None else f", axes={lit(tuple(axes))}"
    return f"{ctx.helper(onnx_center_crop_pad)}({ctx.x(0)}, {_ints_or_tensor(ctx, 1)}{extra})"


# -- ConstantOfShape, Cast, CastLike, Identity, Range, EyeLike ----------------------------------
@register("ConstantOfShape", since=9)
def constant_of_shape(ctx: NodeCtx) -> str:
    value = ctx.attr("value")
    arr = np.zeros(1, dtype=np.float32) if value is None else np.asarray(value).reshape(-1)
    dtype = ctx.dtype(onnx.helper.np_dtype_to_tensor_dtype(arr.dtype))
    fill = arr[0].item()
    shape = _ints_arg(ctx, 0)
    if fill == 0 and not isinstance(fill, bool):
        return f"torch.zeros({shape}, dtype={dtype})"
    return f"torch.full({shape}, {lit(fill)}, dtype={dtype})"


@register("Cast", since=1)
def cast(ctx: NodeCtx) -> str:
    to = ctx.attr("to")
    if isinstance(to, str):  # Cast-1 spelled the type by name
        to = onnx.TensorProto.DataType.Value(to.upper())
    if to == onnx.TensorProto.STRING or ctx.elem_type(0) == onnx.TensorProto.STRING:
        raise ctx.unsupported("string tensors")
    return f"{ctx.x(0)}.to({ctx.dtype(int(to))})"


@register("CastLike", since=15)
def cast_like(ctx: NodeCtx) -> str:
    target = ctx.elem_type(1)
    if onnx.TensorProto.STRING in (target, ctx.elem_type(0)):
        raise ctx.unsupported("string tensors")
    if target:
        return f"{ctx.x(0)}.to({ctx.dtype(target)})"
    return f"{ctx.x(0)}.to({ctx.x(1)}.dtype)"


@register("Identity", since=1)
def identity(ctx: NodeCtx) -> str:
    return f"{ctx.x(0)}"


@register("Range", since=11)
def range_(ctx: NodeCtx) -> str:
    elem = ctx.elem_type(0)
    args = ", ".join(_scalar_arg(ctx, i) for i in range(3))
    if elem in (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16):  # computed in float (stash_type)
        return f"torch.arange({args}, dtype=torch.float32).to({ctx.dtype(elem)})"
    dtype = ctx.dtype(elem) if elem else "torch.int64"
    return f"torch.arange({args}, dtype={dtype})"


@register("EyeLike", since=9)
def eye_like(ctx: NodeCtx) -> str:
    x, k = ctx.x(0), ctx.attr("k", 0)
    elem = ctx.attr("dtype") or ctx.elem_type(0) or onnx.TensorProto.FLOAT
    dtype = ctx.dtype(elem)
    if k == 0:
        return f"torch.eye({x}.shape[0], {x}.shape[-1], dtype={dtype})"
    return f"{ctx.helper(onnx_eye_like)}({x}, {k}, {dtype})"


# -- Trilu, OneHot, NonZero, Compress, ReverseSequence, Unique ----------------------------------
@register("Trilu", since=14)
def trilu(ctx: NodeCtx) -> str:
    fn = "torch.triu" if ctx.attr("upper", 1) else "torch.tril"
    if not ctx.has(1):
        return f"{fn}({ctx.x(0)})"
    k = ctx.const(1)
    diag = str(int(np.asarray(k).reshape(-1)[0])) if k is not None else f"int({ctx.x(1)})"
    return f"{fn}({ctx.x(0)}, diagonal={diag})"


@register("OneHot", since=9)
def one_hot(ctx: NodeCtx) -> str:
    axis = ctx.attr("axis", -1)
    extra = f", axis={axis}" if axis != -1 else ""
    return f"{ctx.helper(onnx_one_hot)}({ctx.x(0)}, {ctx.x(1)}, {ctx.x(2)}{extra})"


@register("NonZero", since=9)
def non_zero(ctx: NodeCtx) -> str:
    return f"torch.nonzero({ctx.x(0)}).T"


@register("Compress", since=9)
def compress(ctx: NodeCtx) -> str:
    x, axis = ctx.x(0), ctx.attr("axis")
    keep = f"torch.nonzero({ctx.x(1)}).flatten()"
    if axis is None:
        return f"torch.flatten({x})[{keep}]"
    return f"torch.index_select({x}, {axis}, {keep})"


@register("ReverseSequence", since=10)
def reverse_sequence(ctx: NodeCtx) -> str:
    batch_axis, time_axis = ctx.attr("batch_axis", 1), ctx.attr("time_axis", 0)
    return (
        f"{ctx.helper(onnx_reverse_sequence)}({ctx.x(0)}, {ctx.x(1)}, batch_axis={batch_axis}, time_axis={time_axis})"
    )


@register("Unique", since=11)
def unique(ctx: NodeCtx) -> str:
    sorted_, axis = ctx.attr("sorted", 1), ctx.attr("axis")
    call = f"{ctx.helper(onnx_unique)}({ctx.x(0)}, {sorted_}, {axis})"
    if ctx.n_out == 4:
        return call
    return f"{call}[0]" if ctx.n_out == 1 else f"{call}[:{ctx.n_out}]"
