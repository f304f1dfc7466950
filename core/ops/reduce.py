"""Reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
ReduceLogSum, ReduceLogSumExp, ReduceSumSquare), ArgMax/ArgMin, TopK, CumSum.

Reduce* take ``axes`` as an attribute until ReduceSum-13 / the others-18, then as an
optional input. No axes means all axes, unless ``noop_with_empty_axes=1``: then nothing
is reduced (the element-wise part — Abs, Square, Log — still applies, as in the reference).
Constant axes on a tensor of known rank give plain torch calls; everything else (axes
known only at run time, Max/Min over empty axes) goes through the ``onnx_reduce`` helper.
"""

from __future__ import annotations

import math

import onnx
import torch

from core.ops.base import FLOAT_TYPES, NodeCtx, lit
from core.ops.helpers import helper
from core.ops.registry import register

# integer types torch.sum/prod/cumsum would promote to int64 unless told the dtype
SMALL_INT_TYPES = {
    onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32, onnx.TensorProto.UINT8,
    onnx.TensorProto.UINT16, onnx.TensorProto.UINT32,
}  # fmt: skip


@helper()
def onnx_reduce(op, x, axes=None, keepdims=1, noop_with_empty_axes=0):
    """ONNX Reduce* (``op`` is its name) with run-time axes, empty axes and empty inputs."""
    rank = x.dim()
    dims = [] if axes is None else sorted({int(a) % max(rank, 1) for a in torch.as_tensor(axes).reshape(-1).tolist()})
    if not dims and not noop_with_empty_axes:
        dims = list(range(rank))
    keep = keepdims == 1  # as ONNX shape inference and ORT read it: any other value drops the axes
    dtype = x.dtype
    if op == "ReduceL1":
        x = torch.abs(x)
    elif op in ("ReduceL2", "ReduceSumSquare"):
        x = torch.square(x)
    if dims and rank:
        if op in ("ReduceMax", "ReduceMin") and x.numel() == 0:
            shape = [1 if i in dims else s for i, s in enumerate(x.shape) if keep or i not in dims]
            if dtype == torch.bool:
                fill = op == "ReduceMin"
            elif dtype.is_floating_point:
                fill = -math.inf if op == "ReduceMax" else math.inf
            else:
                fill = torch.iinfo(dtype).min if op == "ReduceMax" else torch.iinfo(dtype).max
            return torch.full(shape, fill, dtype=dtype)
        if op == "ReduceMax":
            x = torch.amax(x, dim=dims, keepdim=keep)
        elif op == "ReduceMin":
            x = torch.amin(x, dim=dims, keepdim=keep)
        elif op == "ReduceMean" and x.numel() == 0:  # ORT: 0 for the mean of nothing (torch: NaN)
            x = torch.sum(x, dim=dims, keepdim=keep, dtype=dtype)
        elif op == "ReduceMean":
            x = torch.mean(x if dtype.is_floating_point else x.double(), dim=dims, keepdim=keep)
        elif op == "ReduceProd":
            for d in reversed(dims):
                x = torch.prod(x, dim=d, keepdim=keep, dtype=dtype)
        elif op == "ReduceLogSumExp":
            return torch.logsumexp(x, dim=dims, keepdim=keep).to(dtype)
        else:
            x = torch.sum(x, dim=dims, keepdim=keep, dtype=dtype)
    if op == "ReduceL2":
        x = torch.sqrt(x if dtype.is_floating_point else x.double())
    elif op == "ReduceLogSum":
        x = torch.log(x)
    return x.to(dtype)


REDUCE_OPS = (
    "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
)  # fmt: skip


def _dim_arg(dims: list[int]) -> str:
    return str(dims[0]) if len(dims) == 1 else lit(tuple(dims))


def _reduce_expr(ctx: NodeCtx, op: str, dims: list[int] | None, keep: bool) -> str:
    """A plain torch expression; ``dims`` normalised and sorted, None for no reduction."""
    x = ctx.x(0)
    et = ctx.elem_type(0)
    is_float = et in FLOAT_TYPES
    kd = f"keepdim={keep}"
    sum_dtype = f", dtype={ctx.dtype(et)}" if et in SMALL_INT_TYPES else ""

    if dims is None:  # noop_with_empty_axes: only the element-wise part
        return {
            "ReduceL1": f"torch.abs({x})",
            "ReduceL2": f"torch.abs({x})",
            "ReduceSumSquare": f"torch.square({x})",
            "ReduceLogSum": f"torch.log({x})",
        }.get(op, f"{x}")

    d = _dim_arg(dims)
    if op == "ReduceMean":
        if not is_float:
            return f"torch.mean({x}.double(), dim={d}, {kd}).to({ctx.dtype(et)})"
        return f"torch.mean({x}, dim={d}, {kd})"
    if op == "ReduceSum":
        return f"torch.sum({x}, dim={d}, {kd}{sum_dtype})"
    if op == "ReduceMax":
        return f"torch.amax({x}, dim={d}, {kd})"
    if op == "ReduceMin":
        return f"torch.amin({x}, dim={d}, {kd})"
    if op == "ReduceProd":
        expr = f"{x}"
        for axis in reversed(dims):  # torch.prod reduces one dim at a time; last first keeps indices valid
            expr = f"torch.prod({expr}, dim={axis}, {kd}{sum_dtype})"
        return expr
    if op == "ReduceL1":
        return f"torch.sum(torch.abs({x}), dim={d}, {kd}{sum_dtype})"
    if op == "ReduceL2":
        if is_float:
            return f"torch.linalg.vector_norm({x}, ord=2, dim={d}, {kd})"
        return f"torch.sqrt(torch.sum(torch.square({x}), dim={d}, {kd}).double()).to({ctx.dtype(et)})"
    if op == "ReduceLogSum":
        return f"torch.log(torch.sum({x}, dim={d}, {kd}))"
    if op == "ReduceLogSumExp":
        return f"torch.logsumexp({x}, dim={d}, {kd})"
    if op == "ReduceSumSquare":
        return f"torch.sum(torch.square({x}), dim={d}, {kd}{sum_dtype})"
    raise ctx.unsupported(f"unknown reduction {op}")


def _reduce_helper(ctx: NodeCtx, axes: str, keep: bool, noop: bool) -> str:
    args = [repr(ctx.node.op_type), f"{ctx.x(0)}", axes] + [f"keepdims={int(keep)}"] * (not keep)
    args += [f"noop_with_empty_axes={int(noop)}"] * noop
    return f"{ctx.helper(onnx_reduce)}({', '.join(args)})"


def _reduce(ctx: NodeCtx, axes: list[int] | None, runtime_axes: str | None) -> str:
    op = ctx.node.op_type
    keep = ctx.attr("keepdims", 1) == 1  # as ONNX shape inference and ORT read it
    noop = bool(ctx.attr("noop_with_empty_axes", 0))
    shape = ctx.info(0).shape
    rank = None if shape is None else len(shape)
    if runtime_axes is not None or rank is None:
        return _reduce_helper(ctx, runtime_axes or (lit(axes) if axes else "None"), keep, noop)
    if not axes:
        if noop:
            return _reduce_expr(ctx, op, None, keep)
        axes = list(range(rank))
    dims = sorted({a % rank for a in axes}) if rank else []
    if not dims:  # a 0-d tensor: nothing to reduce
        return _reduce_expr(ctx, op, None, keep)
    # torch.amax/amin refuse empty reductions where ONNX gives -inf/+inf; a symbolic dim may be 0 at run time
    if op in ("ReduceMax", "ReduceMin") and any(not isinstance(shape[i], int) or shape[i] == 0 for i in dims):
        return _reduce_helper(ctx, lit(axes), keep, noop)
    if op == "ReduceMean" and any(shape[i] == 0 for i in dims):  # the mean of nothing: 0 as in ORT
        return _reduce_helper(ctx, lit(axes), keep, noop)
    if len(axes) == 1 and axes[0] < 0:
        dims = list(axes)  # keep the exporter's spelling: dim=-1
    return _reduce_expr(ctx, op, dims, keep)


def _reduce_attr(ctx: NodeCtx) -> str:
    axes = ctx.attr("axes")
    return _reduce(ctx, None if axes is None else [int(a) for a in axes], None)


def _reduce_input(ctx: NodeCtx) -> str:
    if not ctx.has(1):
        return _reduce(ctx, None, None)
    axes = ctx.const_list(1)
    if axes is None:
        return _reduce(ctx, None, ctx.x(1))
    return _reduce(ctx, [int(a) for a in axes], None)


for _op in REDUCE_OPS:
    register(_op, since=1)(_reduce_attr)
    register(_op, since=13 if _op == "ReduceSum" else 18)(_reduce_input)


# -- ArgMax / ArgMin --------------------------------------------------------------------------
def _arg(ctx: NodeCtx, fn: str) -> str:
    x = ctx.x(0)
    axis = int(ctx.attr("axis", 0))
    keep = ctx.attr("keepdims", 1) == 1  # as ONNX shape inference and ORT read it
    shape = ctx.info(0).shape
    if shape is not None and all(isinstance(d, int) and d >= 0 for d in shape) and -len(shape) <= axis < len(shape):
        out = [1 if i == axis % len(shape) else d for i, d in enumerate(shape) if keep or i != axis % len(shape)]
        if shape[axis] == 0 and 0 in out:  # nothing to compute; torch refuses an empty reduction axis even so
            return f"torch.zeros({tuple(out)!r}, dtype=torch.int64)"
    if not ctx.attr("select_last_index", 0):
        return f"{fn}({x}, dim={axis}, keepdim={keep})"
    # first index in the reversed tensor = last index in the original
    return f"{x}.shape[{axis}] - 1 - {fn}(torch.flip({x}, dims=({axis},)), dim={axis}, keepdim={keep})"


@register("ArgMax", since=1)
def arg_max(ctx: NodeCtx) -> str:
    return _arg(ctx, "torch.argmax")


@register("ArgMin", since=1)
def arg_min(ctx: NodeCtx) -> str:
    return _arg(ctx, "torch.argmin")


# -- TopK -------------------------------------------------------------------------------------
@helper()
def onnx_topk(x, k, axis=-1, largest=1):
    """ONNX TopK: the k largest (smallest) along ``axis``, sorted; among equal values the
    lower index comes first (a stable sort guarantees it, torch.topk does not)."""
    k = int(torch.as_tensor(k).reshape(-1)[0])
    values, indices = torch.sort(x, dim=axis, descending=bool(largest), stable=True)
    return values.narrow(axis, 0, k), indices.narrow(axis, 0, k)


def _topk(ctx: NodeCtx, k: str) -> str:
    axis = int(ctx.attr("axis", -1))
    largest = int(ctx.attr("largest", 1))
    args = (
        [f"{ctx.x(0)}", k] + ([f"axis={axis}"] if axis != -1 else []) + ([f"largest={largest}"] if not largest else [])
    )
    return f"{ctx.helper(onnx_topk)}({', '.join(args)})"


@register("TopK", since=1)
def topk1(ctx: NodeCtx) -> str:
    return _topk(ctx, str(int(ctx.attr("k"))))


@register("TopK", since=10)
def topk10(ctx: NodeCtx) -> str:
    k = ctx.const_list(1)
    return _topk(ctx, str(int(k[0])) if k is not None else f"{ctx.x(1)}")


# -- CumSum -----------------------------------------------------------------------------------
@helper()
def onnx_cumsum(x, axis, exclusive=0, reverse=0):
    """ONNX CumSum with ``exclusive`` (shifted by one, starting at 0) and ``reverse``."""
    axis = int(axis)
    if reverse:
        x = torch.flip(x, dims=(axis,))
    out = torch.cumsum(x, dim=axis, dtype=x.dtype)
    if exclusive and out.shape[axis] > 0:
        zero = torch.zeros_like(out.narrow(axis, 0, 1))
        out = torch.cat([zero, out.narrow(axis, 0, out.shape[axis] - 1)], dim=axis)
    if reverse:
        out = torch.flip(out, dims=(axis,))
    return out


@register("CumSum", since=11)
def cumsum(ctx: NodeCtx) -> str:
    x = ctx.x(0)
    axis_values = ctx.const_list(1)
    axis = str(int(axis_values[0])) if axis_values is not None else f"{ctx.x(1)}"
    exclusive, reverse = int(ctx.attr("exclusive", 0)), int(ctx.attr("reverse", 0))
    if exclusive or reverse:
        flags = ([f"exclusive={exclusive}"] if exclusive else []) + ([f"reverse={reverse}"] if reverse else [])
        return f"{ctx.helper(onnx_cumsum)}({x}, {axis}, {', '.join(flags)})"
    if axis_values is None:
        axis = f"int({axis})"
    et = ctx.elem_type(0)
    dtype = f", dtype={ctx.dtype(et)}" if et in SMALL_INT_TYPES else ""
    return f"torch.cumsum({x}, dim={axis}{dtype})"
