"""Element-wise arithmetic, comparison, logic and math functions (numpy-style broadcasting).

Arithmetic: Add, Sub, Mul, Div, Pow, Mod; variadic Max, Min, Sum, Mean.
Unary math: Neg, Abs, Exp, Log, Sqrt, Reciprocal, Ceil, Floor, Round, Sign, Erf,
Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh; IsNaN, IsInf.
Comparison and logic: Equal, Greater, Less, GreaterOrEqual, LessOrEqual, And, Or, Xor, Not.
Bitwise: BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot, BitShift.
Selection: Clip, Where.

Binary ops before opset 7 broadcast only with ``broadcast=1``, aligning the second
input to the first at ``axis`` (trailing alignment without it); both are handled.
A constant scalar second operand is inlined as a Python number (``torch.div(x, 8.0)``).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import torch

from core.ops.base import FLOAT_TYPES, NodeCtx, lit
from core.ops.helpers import helper
from core.ops.registry import Converter, register

INT_TYPES = {
    onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32, onnx.TensorProto.INT64,
    onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32, onnx.TensorProto.UINT64,
}  # fmt: skip


# -- operands ---------------------------------------------------------------------------------
def number_literal(value: np.ndarray) -> str | None:
    """Shortest Python literal that round-trips a one-element int/float array in its own dtype."""
    v = np.asarray(value).reshape(())
    if v.dtype.kind in "iu":
        return str(int(v))
    if v.dtype not in (np.float16, np.float32, np.float64):
        return None
    f = float(v)
    if not math.isfinite(f):
        return lit(f)
    return repr(f) if v.dtype == np.float64 else str(v[()])


def scalar_operand(ctx: NodeCtx, i: int, others: tuple[int, ...]) -> str | None:
    """Input ``i`` as a number literal, if it is a one-element constant that cannot change
    the output shape (0-d, or of rank at most that of the other operands)."""
    v = ctx.const(i)
    if v is None or v.size != 1:
        return None
    if v.ndim > 0:
        ranks = [ctx.rank(j) for j in others if ctx.has(j)]
        if not ranks or any(r is None for r in ranks) or max(r for r in ranks if r is not None) < v.ndim:
            return None
    return number_literal(v)


def legacy_aligned(ctx: NodeCtx, i: int = 1) -> str:
    """Input ``i``, reshaped for the pre-opset-7 ``broadcast=1, axis=k`` rule (its dims line up
    with the first input's dims from ``axis`` on)."""
    b = ctx.x(i)
    assert b is not None
    if not ctx.attr("broadcast", 0) or ctx.attr("axis") is None:
        return b
    ra, rb = ctx.rank(0), ctx.rank(i)
    if ra is None or rb is None:
        raise ctx.unsupported("legacy broadcast with axis needs known ranks")
    axis = ctx.attr("axis")
    axis = axis + ra if axis < 0 else axis
    trailing = ra - axis - rb
    if trailing <= 0:
        return b
    return f"{b}[..., {', '.join(['None'] * trailing)}]"


def binary_operands(ctx: NodeCtx) -> tuple[str, str]:
    """(first, second) operand expressions; a constant scalar second operand as a literal."""
    a = ctx.x(0)
    assert a is not None
    if ctx.elem_type(0) == onnx.TensorProto.STRING:
        raise ctx.unsupported("string tensors have no torch equivalent")
    b = scalar_operand(ctx, 1, (0,))
    return a, (b if b is not None else legacy_aligned(ctx, 1))


def _binary(fn: str) -> Converter:
    def convert(ctx: NodeCtx) -> str:
        a, b = binary_operands(ctx)
        return f"{fn}({a}, {b})"

    convert.__name__ = fn.rsplit(".", 1)[-1]
    return convert


for _op, _fn in {
    "Add": "torch.add", "Sub": "torch.sub", "Mul": "torch.mul",
    "Equal": "torch.eq", "Greater": "torch.gt", "Less": "torch.lt",
    "And": "torch.logical_and", "Or": "torch.logical_or", "Xor": "torch.logical_xor",
}.items():  # fmt: skip
    register(_op, since=1)(_binary(_fn))

for _op, _fn in {
    "GreaterOrEqual": "torch.ge", "LessOrEqual": "torch.le",
}.items():  # fmt: skip
    register(_op, since=12)(_binary(_fn))

for _op, _fn in {
    "BitwiseAnd": "torch.bitwise_and", "BitwiseOr": "torch.bitwise_or", "BitwiseXor": "torch.bitwise_xor",
}.items():  # fmt: skip
    register(_op, since=18)(_binary(_fn))


@helper()
def onnx_div(a, b):
    """ONNX Div: true division for floats, truncation toward zero for integers."""
    if a.dtype.is_floating_point:
        return torch.div(a, b)
    return torch.div(a, b, rounding_mode="trunc")


@register("Div", since=1)
def div(ctx: NodeCtx) -> str:
    a, b = binary_operands(ctx)
    et = ctx.elem_type(0)
    if et in FLOAT_TYPES:
        return f"torch.div({a}, {b})"
    if et in INT_TYPES:
        return f'torch.div({a}, {b}, rounding_mode="trunc")'
    return f"{ctx.helper(onnx_div)}({a}, {b})"


@register("Pow", since=1)
def pow_(ctx: NodeCtx) -> str:
    """The result has the base's dtype; torch promotes, so cast back where it would differ."""
    a, b = binary_operands(ctx)
    base, exponent = ctx.elem_type(0), ctx.elem_type(1)
    inlined = scalar_operand(ctx, 1, (0,)) is not None
    expr = f"torch.pow({a}, {b})"
    keeps_dtype = (
        (base != 0 and base == exponent)
        or (base in FLOAT_TYPES and (exponent in INT_TYPES or inlined))  # a number keeps a float tensor's dtype
        or (base in INT_TYPES and exponent in INT_TYPES and inlined)
    )
    if keeps_dtype:
        return expr
    return f"{expr}.to({ctx.dtype(base) if base else f'{a}.dtype'})"


@register("Mod", since=10)
def mod(ctx: NodeCtx) -> str:
    a, b = binary_operands(ctx)
    fn = "torch.fmod" if ctx.attr("fmod", 0) else "torch.remainder"  # remainder: sign of the divisor
    return f"{fn}({a}, {b})"


@register("BitShift", since=11)
def bit_shift(ctx: NodeCtx) -> str:
    a, b = binary_operands(ctx)
    direction = ctx.attr("direction")
    if direction not in ("LEFT", "RIGHT"):
        raise ctx.unsupported(f"direction={direction!r}")
    fn = "torch.bitwise_left_shift" if direction == "LEFT" else "torch.bitwise_right_shift"
    return f"{fn}({a}, {b})"


# -- variadic ---------------------------------------------------------------------------------
def _chain(fn: str, xs: list[str]) -> str:
    expr = xs[0]
    for x in xs[1:]:
        expr = f"{fn}({expr}, {x})"
    return expr


@register("Max", since=1)
def max_(ctx: NodeCtx) -> str:
    return _chain("torch.maximum", ctx.xs())


@register("Min", since=1)
def min_(ctx: NodeCtx) -> str:
    return _chain("torch.minimum", ctx.xs())


@register("Sum", since=1)
def sum_(ctx: NodeCtx) -> str:
    return " + ".join(ctx.xs())


@register("Mean", since=1)
def mean(ctx: NodeCtx) -> str:
    xs = ctx.xs()
    if len(xs) == 1:
        return xs[0]
    return f"({' + '.join(xs)}) / {len(xs)}"


# -- unary ------------------------------------------------------------------------------------
def _unary(fn: str) -> Converter:
    def convert(ctx: NodeCtx) -> str:
        return f"{fn}({ctx.x(0)})"

    convert.__name__ = fn.rsplit(".", 1)[-1]
    return convert


_UNARY: dict[str, tuple[str, int]] = {
    "Neg": ("torch.neg", 1), "Abs": ("torch.abs", 1), "Exp": ("torch.exp", 1), "Log": ("torch.log", 1),
    "Sqrt": ("torch.sqrt", 1), "Reciprocal": ("torch.reciprocal", 1), "Ceil": ("torch.ceil", 1),
    "Floor": ("torch.floor", 1), "Not": ("torch.logical_not", 1),
    "Sin": ("torch.sin", 7), "Cos": ("torch.cos", 7), "Tan": ("torch.tan", 7),
    "Asin": ("torch.asin", 7), "Acos": ("torch.acos", 7), "Atan": ("torch.atan", 7),
    "Sinh": ("torch.sinh", 9), "Cosh": ("torch.cosh", 9), "Asinh": ("torch.asinh", 9),
    "Acosh": ("torch.acosh", 9), "Atanh": ("torch.atanh", 9),
    "Sign": ("torch.sign", 9), "Erf": ("torch.erf", 9), "IsNaN": ("torch.isnan", 9),
    "Round": ("torch.round", 11),  # half to even, as ONNX
    "BitwiseNot": ("torch.bitwise_not", 18),
}  # fmt: skip

for _op, (_fn, _since) in _UNARY.items():
    register(_op, since=_since)(_unary(_fn))


@register("IsInf", since=10)
def is_inf(ctx: NodeCtx) -> str:
    pos, neg = ctx.attr("detect_positive", 1), ctx.attr("detect_negative", 1)
    x = ctx.x(0)
    if pos and neg:
        return f"torch.isinf({x})"
    if pos:
        return f"torch.isposinf({x})"
    if neg:
        return f"torch.isneginf({x})"
    return f"torch.zeros_like({x}, dtype=torch.bool)"


# -- selection --------------------------------------------------------------------------------
def _clamp(ctx: NodeCtx, lo: str | None, hi: str | None, mixed: bool = False) -> str:
    """torch.clamp; ``mixed``: one bound is a number and the other a tensor, which one
    torch.clamp call does not take — clamp below, then above (what np.clip does too)."""
    x = f"{ctx.x(0)}"
    if mixed:
        return f"torch.clamp(torch.clamp({x}, min={lo}), max={hi})"
    bounds = ([f"min={lo}"] if lo is not None else []) + ([f"max={hi}"] if hi is not None else [])
    if not bounds:
        return x
    return f"torch.clamp({x}, {', '.join(bounds)})"


@register("Clip", since=1)
def clip1(ctx: NodeCtx) -> str:
    lo, hi = ctx.attr("min"), ctx.attr("max")  # float32 attributes; absent means unbounded
    return _clamp(
        ctx,
        None if lo is None else number_literal(np.float32(lo)),
        None if hi is None else number_literal(np.float32(hi)),
    )


@register("Clip", since=11)
def clip11(ctx: NodeCtx) -> str:
    """min/max are optional inputs; an absent one means no bound. Constants are inlined."""
    bounds: list[str | None] = []
    literals = 0
    for i in (1, 2):
        v = ctx.const(i)
        literal = number_literal(v) if v is not None and v.size == 1 else None
        literals += literal is not None
        bounds.append(literal if literal is not None else ctx.x(i))
    mixed = literals == 1 and bounds[0] is not None and bounds[1] is not None
    return _clamp(ctx, bounds[0], bounds[1], mixed)


@register("Where", since=9)
def where(ctx: NodeCtx) -> str:
    cond, x, y = ctx.x(0), ctx.x(1), ctx.x(2)
    sx = scalar_operand(ctx, 1, (0, 2))
    sy = scalar_operand(ctx, 2, (0, 1)) if sx is None else None
    return f"torch.where({cond}, {sx or x}, {sy or y})"
