"""Activations: Relu, Sigmoid, Tanh, LeakyRelu, Elu, Selu, Celu, HardSigmoid, HardSwish,
Softplus, Softsign, Mish, Gelu, Swish, PRelu, ThresholdedRelu, Shrink; Softmax, LogSoftmax
and Hardmax.

Softmax, LogSoftmax and Hardmax before opset 13 coerce the input to 2-D at ``axis``
(default 1) and normalise over the flattened trailing block; from 13 on they work
along the one ``axis`` (default -1).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from core.ops.base import FLOAT_TYPES, NodeCtx, lit
from core.ops.helpers import helper
from core.ops.registry import register


def flit(value: float) -> str:
    """Literal of a float attribute (stored as float32): its shortest float32 spelling."""
    f = float(value)
    if not math.isfinite(f):
        return lit(f)
    return repr(float(str(np.float32(f))))


# -- simple element-wise activations ----------------------------------------------------------
# op type → (torch function, first schema version with these semantics)
UNARY = {
    "Relu": ("torch.relu", 1),
    "Sigmoid": ("torch.sigmoid", 1),
    "Tanh": ("torch.tanh", 1),
    "HardSwish": ("F.hardswish", 14),
    "Softplus": ("F.softplus", 1),
    "Softsign": ("F.softsign", 1),
    "Mish": ("F.mish", 18),
}


def _unary(call: str):
    def convert(ctx: NodeCtx) -> str:
        return f"{call}({ctx.x(0)})"

    return convert


for _op, (_call, _since) in UNARY.items():
    register(_op, since=_since)(_unary(_call))


@register("LeakyRelu")
def leaky_relu(ctx: NodeCtx) -> str:
    return f"F.leaky_relu({ctx.x(0)}, negative_slope={flit(ctx.attr('alpha', 0.01))})"


@register("Elu")
def elu(ctx: NodeCtx) -> str:
    return f"F.elu({ctx.x(0)}, alpha={flit(ctx.attr('alpha', 1.0))})"


SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


@register("Selu")
def selu(ctx: NodeCtx) -> str:
    alpha, gamma = ctx.attr("alpha", SELU_ALPHA), ctx.attr("gamma", SELU_GAMMA)
    if np.float32(alpha) == np.float32(SELU_ALPHA) and np.float32(gamma) == np.float32(SELU_GAMMA):
        return f"torch.selu({ctx.x(0)})"
    return f"{flit(gamma)} * F.elu({ctx.x(0)}, alpha={flit(alpha)})"


@register("Celu", since=12)
def celu(ctx: NodeCtx) -> str:
    return f"F.celu({ctx.x(0)}, alpha={flit(ctx.attr('alpha', 1.0))})"


@register("HardSigmoid")
def hard_sigmoid(ctx: NodeCtx) -> str:
    alpha, beta = flit(ctx.attr("alpha", 0.2)), flit(ctx.attr("beta", 0.5))
    return f"torch.clamp({ctx.x(0)} * {alpha} + {beta}, 0.0, 1.0)"


@register("Gelu", since=20)
def gelu(ctx: NodeCtx) -> str:
    approximate = ctx.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise ctx.unsupported(f"approximate={approximate!r}")
    if approximate == "tanh":
        return f"F.gelu({ctx.x(0)}, approximate='tanh')"
    return f"F.gelu({ctx.x(0)})"


@register("Swish", since=24)
def swish(ctx: NodeCtx) -> str:
    alpha = ctx.attr("alpha", 1.0)
    if alpha == 1.0:
        return f"F.silu({ctx.x(0)})"
    x = ctx.x(0)
    return f"{x} * torch.sigmoid({flit(alpha)} * {x})"


@register("PRelu")
def prelu(ctx: NodeCtx) -> str:
    x, slope = ctx.x(0), ctx.x(1)
    rank, slope_shape = ctx.rank(0), ctx.info(1).shape
    # Before opset 7 a 1-D slope of C values is per channel (axis 1), not numpy-aligned.
    if (
        ctx.node.since_version < 7
        and rank is not None
        and rank > 2
        and slope_shape is not None
        and len(slope_shape) == 1
        and slope_shape[0] != 1
    ):
        slope = f"{slope}.reshape(-1{', 1' * (rank - 2)})"
    return f"torch.where({x} < 0, {x} * {slope}, {x})"


@register("ThresholdedRelu", since=10)
def thresholded_relu(ctx: NodeCtx) -> str:
    return f"F.threshold({ctx.x(0)}, {flit(ctx.attr('alpha', 1.0))}, 0.0)"


@register("Shrink", since=9)
def shrink(ctx: NodeCtx) -> str:
    x = ctx.x(0)
    lambd, bias = float(ctx.attr("lambd", 0.5)), float(ctx.attr("bias", 0.0))
    is_float = ctx.elem_type(0) in FLOAT_TYPES
    if is_float and bias == 0.0:
        return f"F.hardshrink({x}, lambd={flit(lambd)})"
    if is_float and bias == lambd:
        return f"F.softshrink({x}, lambd={flit(lambd)})"
    expr = f"torch.where({x} < -{flit(lambd)}, {x} + {flit(bias)}, torch.where({x} > {flit(lambd)}, {x} - {flit(bias)}, 0))"
    if not is_float:  # integer input: the float arithmetic is cast back, as ONNX does
        expr += f".to({x}.dtype)"
    return expr


# -- Softmax family ---------------------------------------------------------------------------
@helper()
def onnx_hardmax(x, axis: int):
    """One-hot of the first maximum along ``axis``, in the dtype of ``x``."""
    first = torch.argmax(x, dim=axis, keepdim=True)
    return torch.zeros_like(x).scatter_(axis, first, 1)


def _normalized_axis(ctx: NodeCtx, default: int) -> tuple[int, int | None]:
    """(axis, rank): ``axis`` made non-negative where the rank is known."""
    axis = int(ctx.attr("axis", default))
    rank = ctx.rank(0)
    if rank is not None and axis < 0:
        axis += rank
    return axis, rank


def _softmax_like(ctx: NodeCtx, call: str) -> str:
    """``call`` (a format string with {x} and {dim}) under the schema's axis semantics."""
    x = ctx.x(0)
    if ctx.node.since_version >= 13:
        axis, _ = _normalized_axis(ctx, -1)
        return call.format(x=x, dim=axis)
    axis, rank = _normalized_axis(ctx, 1)
    if rank is not None and axis == rank - 1:  # the 2-D coercion changes nothing
        return call.format(x=x, dim=-1)
    if rank is None and axis == -1:
        return call.format(x=x, dim=-1)
    # coerce to 2-D: [d0 * ... * d(axis-1), d(axis) * ... * d(n-1)], work on the rows
    return call.format(x=f"{x}.flatten({axis})", dim=-1) + f".reshape({x}.shape)"


@register("Softmax")
def softmax(ctx: NodeCtx) -> str:
    return _softmax_like(ctx, "torch.softmax({x}, dim={dim})")


@register("LogSoftmax")
def log_softmax(ctx: NodeCtx) -> str:
    return _softmax_like(ctx, "torch.log_softmax({x}, dim={dim})")


@register("Hardmax")
def hardmax(ctx: NodeCtx) -> str:
    return _softmax_like(ctx, ctx.helper(onnx_hardmax) + "({x}, {dim})")
