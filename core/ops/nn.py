"""Neural-network layers.

Convolution: Conv, ConvTranspose. Pooling: MaxPool (with the optional Indices output),
AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool. Normalisation: BatchNormalization,
InstanceNormalization, LayerNormalization, GroupNormalization, LRN, LpNormalization,
MeanVarianceNormalization. Dropout. Resampling: Resize, Upsample. DepthToSpace, SpaceToDepth.

Where torch's own call computes exactly what ONNX asks (symmetric pads within torch's
limits, integer nearest upsampling, half-pixel linear...), the node becomes that call with
the attributes inlined. The other cases (asymmetric pads that change the ceil-mode window
count, auto_pad on shapes only known at run time, dilated average pooling, the general
Resize modes...) call helpers written to the ONNX spec.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F  # noqa: N812

from core.ops.activation import flit
from core.ops.base import FLOAT_TYPES, NodeCtx, lit
from core.ops.helpers import helper
from core.ops.registry import register


# -- small compile-time utilities -------------------------------------------------------------
def exact_float(value: float) -> str:
    """Literal of a float32 value that keeps it exactly (scales feed size arithmetic)."""
    return repr(float(np.float32(value)))


def _static_dims(ctx: NodeCtx, i: int, start: int = 2) -> list[int] | None:
    """Dims ``start:`` of input ``i`` where all are known integers, else None."""
    shape = ctx.info(i).shape
    if shape is None or any(not isinstance(d, int) or d < 0 for d in shape[start:]):
        return None
    return [int(d) for d in shape[start:]]


def _spatial_rank(ctx: NodeCtx) -> int:
    """Number of spatial axes: from kernel_shape, the weight's rank or the input's rank."""
    kernel = ctx.attr("kernel_shape")
    if kernel is not None:
        return len(kernel)
    for i in (1, 0) if ctx.n_in > 1 else (0,):
        rank = ctx.rank(i)
        if rank is not None:
            return rank - 2
    raise ctx.unsupported("the number of spatial axes is unknown (no kernel_shape, rank unknown)")


def _ints(ctx: NodeCtx, name: str, default: list[int]) -> list[int]:
    value = ctx.attr(name)
    return default if value is None or len(value) == 0 else [int(v) for v in value]


def _torch_pads(begin: list[int], end: list[int]) -> tuple[int, ...]:
    """F.pad's order: the last axis first, (begin, end) per axis."""
    out: list[int] = []
    for b, e in zip(reversed(begin), reversed(end), strict=True):
        out += [b, e]
    return tuple(out)


def _same_pads(
    auto_pad: str, sizes: list[int], kernel: list[int], strides: list[int], dilations: list[int]
) -> tuple[list[int], list[int]]:
    """(begin, end) pads of auto_pad SAME_UPPER/SAME_LOWER: the output size is ceil(size / stride)."""
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small = total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else total - small)
        end.append(total - small if auto_pad == "SAME_UPPER" else small)
    return begin, end


def _kwargs(pairs: list[tuple[str, str | None]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pairs if v is not None)


# -- helpers copied into generated modules ----------------------------------------------------
@helper()
def onnx_same_pad(x, kernel, strides, dilations, lower=False):
    """Zero-pad ``x`` as auto_pad=SAME_UPPER (extra at the end) or SAME_LOWER asks, so that
    a convolution gives ceil(size / stride) outputs."""
    pads = []
    for i in reversed(range(len(kernel))):
        size = x.shape[2 + i]
        out = -(-size // strides[i])
        total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size)
        small = total // 2
        pads += [total - small, small] if lower else [small, total - small]
    return F.pad(x, pads)


@helper()
def onnx_pool_windows(sizes, kernel, strides, dilations, pads, auto_pad="NOTSET", ceil_mode=0):
    """Per spatial axis (pad_begin, pad_end, output_size), by the ONNX pooling formulas."""
    n = len(sizes)
    windows = []
    for i in range(n):
        size, k, s, d = sizes[i], kernel[i], strides[i], dilations[i]
        span = (k - 1) * d + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-size // s)
            total = max(0, (out - 1) * s + span - size)
            begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            windows.append((begin, total - begin, out))
        elif auto_pad == "VALID":
            windows.append((0, 0, (size - span) // s + 1))
        else:
            begin, end = pads[i], pads[n + i]
            length = size + begin + end - span
            out = (-(-length // s) if ceil_mode else length // s) + 1
            if ceil_mode and (out - 1) * s >= size + begin:  # no window may start in the end padding
                out -= 1
            windows.append((begin, end, out))
    return windows


@helper(onnx_pool_windows)
def onnx_pool(
    x,
    kind,
    kernel,
    strides,
    dilations,
    pads,
    auto_pad="NOTSET",
    ceil_mode=0,
    count_include_pad=0,
    p=2,
    indices=False,
    storage_order=0,
):
    """ONNX MaxPool ("max"), AveragePool ("avg") or LpPool ("lp") for any pads, auto_pad,
    ceil_mode and dilations. The input is padded so that the windows cover it exactly;
    an average divides by the number of input elements its window covers (and of explicit
    padding, with count_include_pad). ``indices``: also MaxPool's flat Indices output."""
    lift = len(kernel) == 1  # 1-d pooling runs as 2-d: torch lacks some 1-d integer kernels
    if lift:
        x, kernel, strides, dilations = x.unsqueeze(-1), [*kernel, 1], [*strides, 1], [*dilations, 1]
        pads = [pads[0], 0, pads[1], 0] if pads else pads
    n = len(kernel)
    sizes = list(x.shape[2:])
    windows = onnx_pool_windows(sizes, kernel, strides, dilations, pads or [0] * (2 * n), auto_pad, ceil_mode)
    inner, outer = [], []  # F.pad order: the ONNX pads, then the extent the last window needs
    for i in reversed(range(n)):
        begin, end, out = windows[i]
        need = (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1
        inner += [begin, end]
        outer += [0, need - (sizes[i] + begin + end)]
    if kind == "max":
        fill = -math.inf if x.is_floating_point() else torch.iinfo(x.dtype).min
        padded = F.pad(F.pad(x, inner, value=fill), outer, value=fill)
        max_pool = (F.max_pool2d, F.max_pool3d)[n - 2]
        y, idx = max_pool(padded, kernel, strides, dilation=dilations, return_indices=True)
        if lift:
            y = y.squeeze(-1)
        if not indices:
            return y
        # torch's index is flat within one padded plane: unravel, unpad, ravel in ONNX order
        coords, rest = [], idx
        for size in reversed(padded.shape[2:]):
            coords.insert(0, rest % size)
            rest = rest // size
        flat = torch.zeros_like(idx)
        for i in range(n) if storage_order == 0 else reversed(range(n)):
            flat = flat * sizes[i] + (coords[i] - windows[i][0])
        planes = torch.arange(x.shape[0] * x.shape[1], dtype=torch.int64).reshape(x.shape[0], x.shape[1], *[1] * n)
        flat = flat + planes * math.prod(sizes)
        return y, flat.squeeze(-1) if lift else flat
    # sums over each window: a depthwise convolution with a kernel of ones
    conv = (F.conv2d, F.conv3d)[n - 2]
    ones = torch.ones((1, 1, *kernel), dtype=x.dtype)
    padded = F.pad(F.pad(x, inner), outer)
    values = padded.abs().pow(p) if kind == "lp" else padded
    flat = values.reshape(-1, 1, *values.shape[2:])
    total = conv(flat, ones, stride=strides, dilation=dilations)
    total = total.reshape(*x.shape[:2], *total.shape[2:])
    if kind == "lp":
        y = total.pow(1.0 / p)
    else:
        counted = torch.ones((1, 1, *sizes), dtype=x.dtype)
        counted = F.pad(F.pad(counted, inner, value=1.0 if count_include_pad else 0.0), outer)
        y = total / conv(counted, ones, stride=strides, dilation=dilations)
    return y.squeeze(-1) if lift else y


@helper()
def onnx_conv_transpose(x, w, b, strides, dilations, group, pads, output_padding, output_shape=None, auto_pad="NOTSET"):
    """ONNX ConvTranspose for any pads: the full transposed convolution, cropped (or
    zero-extended) by the pads and output_padding, plus the bias. With ``output_shape``
    or auto_pad SAME_UPPER/SAME_LOWER the pads are derived from the input size."""
    n = w.dim() - 2
    conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
    y = conv(x, w, None, stride=strides, groups=group, dilation=dilations)
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = (
            list(output_shape)[-n:] if output_shape is not None else [x.shape[2 + i] * strides[i] for i in range(n)]
        )
        pads = [0] * (2 * n)
        for i in range(n):
            total = y.shape[2 + i] + output_padding[i] - target[i]
            pads[i] = max(0, total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
            pads[n + i] = total - pads[i]  # an output longer than the full one grows at the end
    crop = []
    for i in reversed(range(n)):
        crop += [-pads[i], output_padding[i] - pads[n + i]]
    y = F.pad(y, crop)
    if b is not None:
        y = y + b.reshape(1, -1, *[1] * n)
    return y


@helper()
def onnx_batch_norm_training(x, scale, bias, mean, var, epsilon, momentum):
    """BatchNormalization with training_mode=1: normalise with the batch statistics;
    also return the updated running mean and variance."""
    dims = [0, *range(2, x.dim())]
    batch_var, batch_mean = torch.var_mean(x, dim=dims, unbiased=False)
    y = F.batch_norm(x, batch_mean, batch_var, scale, bias, training=False, eps=epsilon)
    return y, mean * momentum + batch_mean * (1 - momentum), var * momentum + batch_var * (1 - momentum)


@helper()
def onnx_layer_norm(x, scale, bias, axis, epsilon):
    """LayerNormalization with its Mean and InvStdDev outputs (computed in float32)."""
    dims = list(range(axis % x.dim(), x.dim()))
    xf = x.float()
    var, mean = torch.var_mean(xf, dim=dims, unbiased=False, keepdim=True)
    inv_std = torch.rsqrt(var + epsilon)
    y = ((xf - mean) * inv_std).to(x.dtype) * scale
    if bias is not None:
        y = y + bias
    return y, mean, inv_std


@helper()
def onnx_lrn(x, size, alpha, beta, bias):
    """ONNX LRN: each channel is divided by (bias + alpha / size * the sum of the squares of
    channels c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2)) ** beta."""
    channels = x.shape[1]
    squares = (x * x).movedim(1, -1)
    squares = F.pad(squares, ((size - 1) // 2, size // 2)).movedim(-1, 1)
    total = sum(squares[:, i : i + channels] for i in range(size))
    return x / (bias + alpha / size * total) ** beta


@helper()
def onnx_dropout(x, ratio=0.5, training_mode=None, seed=None):
    """ONNX Dropout: (output, mask). The identity unless ``training_mode`` is true; then
    elements are zeroed with probability ``ratio`` and the rest scaled by 1 / (1 - ratio)."""
    ratio = 0.5 if ratio is None else float(ratio)
    if training_mode is None or not bool(training_mode) or ratio == 0.0:
        return x, torch.ones_like(x, dtype=torch.bool)
    if seed is None:
        keep = torch.rand(x.shape) >= ratio
    else:  # seeded: the same draw as onnx.reference
        keep = torch.from_numpy(np.random.RandomState(int(seed)).uniform(0, 1.0, tuple(x.shape)) >= ratio)
    return x * keep / (1.0 - ratio), keep


@helper()
def onnx_depth_to_space(x, blocksize, mode="DCR"):
    """ONNX DepthToSpace; CRD is torch's pixel_shuffle, DCR takes the depth blocks first."""
    if mode == "CRD":
        return F.pixel_shuffle(x, blocksize)
    b, c, h, w = x.shape
    r = blocksize
    y = x.reshape(b, r, r, c // (r * r), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(b, c // (r * r), h * r, w * r)


@helper()
def onnx_space_to_depth(x, blocksize, mode="DCR"):
    """ONNX SpaceToDepth; CRD is torch's pixel_unshuffle, DCR puts the block offsets first."""
    if mode == "CRD":
        return F.pixel_unshuffle(x, blocksize)
    b, c, h, w = x.shape
    r = blocksize
    y = x.reshape(b, c, h // r, r, w // r, r).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(b, c * r * r, h // r, w // r)


@helper()
def onnx_mean_variance_norm(x, axes):
    """MeanVarianceNormalization: (x - mean) / (std + 1e-9) over ``axes``."""
    var, mean = torch.var_mean(x, dim=list(axes), unbiased=False, keepdim=True)
    return (x - mean) / (var.sqrt() + 1e-9)


@helper()
def onnx_resize_axis(
    x,
    axis,
    out_size,
    scale,
    mode,
    coordinate_mode,
    nearest_mode,
    cubic_a,
    exclude_outside,
    antialias,
    roi,
    extrapolation_value,
):
    """Resize one axis of ``x`` (float) to ``out_size`` samples, per the ONNX Resize spec."""
    in_size = x.shape[axis]
    dst = torch.arange(out_size, dtype=torch.float64)
    out_width = scale * in_size  # the (possibly fractional) output length the scale implies
    if coordinate_mode == "align_corners":
        src = dst * 0.0 if out_width == 1 else dst * (in_size - 1) / (out_width - 1)
    elif coordinate_mode == "asymmetric":
        src = dst / scale
    elif coordinate_mode == "tf_crop_and_resize":
        start, end = roi
        if out_width == 1:
            src = dst * 0.0 + (end - start) * (in_size - 1) / 2
        else:
            src = dst * (end - start) * (in_size - 1) / (out_width - 1)
        src = src + start * (in_size - 1)
    elif coordinate_mode == "pytorch_half_pixel":
        src = dst * 0.0 - 0.5 if out_width == 1 else (dst + 0.5) / scale - 0.5
    elif coordinate_mode == "half_pixel_symmetric":
        offset = in_size / 2 * (1 - out_size / out_width)
        src = offset + (dst + 0.5) / scale - 0.5
    elif coordinate_mode == "half_pixel":
        src = (dst + 0.5) / scale - 0.5
    elif coordinate_mode == "tf_half_pixel_for_nn":  # opset 11 only
        src = (dst + 0.5) / scale
    else:
        raise ValueError(f"coordinate_transformation_mode {coordinate_mode!r}")
    if mode == "nearest":
        if nearest_mode == "simple":  # Resize-10 / Upsample: truncate upsampling, ceil downsampling
            nearest_mode = "ceil" if scale < 1 else "floor"
        rounding = {
            "round_prefer_floor": lambda v: torch.ceil(v - 0.5),
            "round_prefer_ceil": lambda v: torch.floor(v + 0.5),
            "floor": torch.floor,
            "ceil": torch.ceil,
        }[nearest_mode]
        index = rounding(src)[:, None]
        weight = torch.ones_like(index)
    else:
        radius = 1.0 if mode == "linear" else 2.0
        support = min(scale, 1.0) if antialias else 1.0  # antialias widens the kernel when downsampling
        first = math.floor(-radius / support) + 1
        index = (torch.ceil(src) - 1)[:, None] + first + torch.arange(2 - 2 * first, dtype=torch.float64)
        t = ((index - src[:, None]) * support).abs()
        if mode == "linear":
            weight = (1 - t).clamp(min=0)
        else:
            a = cubic_a
            weight = torch.where(
                t <= 1,
                ((a + 2) * t - (a + 3)) * t * t + 1,
                torch.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, t * 0.0),
            )
        if exclude_outside:
            weight = weight * ((index >= 0) & (index < in_size))
        total = weight.sum(dim=1, keepdim=True)
        weight = weight / torch.where(total == 0, torch.ones_like(total), total)
    index = index.long().clamp(0, in_size - 1)
    moved = x.movedim(axis, -1)
    y = (moved[..., index] * weight.to(x.dtype)).sum(dim=-1)
    if coordinate_mode == "tf_crop_and_resize":
        outside = (src < 0) | (src > in_size - 1)
        y = y.masked_fill(outside.to(y.device), extrapolation_value)
    return y.movedim(-1, axis)


@helper(onnx_resize_axis)
def onnx_resize(
    x,
    roi=None,
    scales=None,
    sizes=None,
    mode="nearest",
    coordinate_transformation_mode="half_pixel",
    nearest_mode="round_prefer_floor",
    cubic_coeff_a=-0.75,
    exclude_outside=0,
    extrapolation_value=0.0,
    antialias=0,
    axes=None,
    keep_aspect_ratio_policy="stretch",
):
    """ONNX Resize (and Upsample): separable, one axis at a time, written to the spec."""

    def values(t):
        return None if t is None else [float(v) for v in torch.as_tensor(t).reshape(-1).tolist()] or None

    roi, scales, sizes = values(roi), values(scales), values(sizes)
    r = x.dim()
    axes = list(range(r)) if axes is None else [a % r for a in axes]
    if sizes is not None:
        sizes = [int(s) for s in sizes]
        factors = [sizes[i] / x.shape[a] for i, a in enumerate(axes)]
        if keep_aspect_ratio_policy in ("not_larger", "not_smaller"):
            scale = min(factors) if keep_aspect_ratio_policy == "not_larger" else max(factors)
            factors = [scale] * len(axes)
            sizes = [int(scale * x.shape[a] + 0.5) for a in axes]
    else:
        factors = scales
        sizes = [int(math.floor(s * x.shape[a])) for s, a in zip(scales, axes, strict=True)]
    y = x if x.is_floating_point() and x.dtype != torch.float16 and x.dtype != torch.bfloat16 else x.float()
    for i, a in enumerate(axes):
        box = None if roi is None else (roi[i], roi[len(axes) + i])
        if sizes[i] == x.shape[a] and factors[i] == 1.0 and coordinate_transformation_mode != "tf_crop_and_resize":
            continue
        y = onnx_resize_axis(
            y,
            a,
            sizes[i],
            factors[i],
            mode,
            coordinate_transformation_mode,
            nearest_mode,
            cubic_coeff_a,
            exclude_outside,
            antialias,
            box,
            extrapolation_value,
        )
    if x.is_floating_point():
        return y.to(x.dtype)
    info = torch.iinfo(x.dtype)
    return y.round().clamp(info.min, info.max).to(x.dtype)


# -- convolution --------------------------------------------------------------------------------
@helper()
def conv2d_onednn(x, w, b, padding, stride, dilation, groups, post="none", scalars=()):
    """2-D convolution by oneDNN with its weight in oneDNN's blocked layout (``w``: a OneDNNWeight,
    see PREPACKED), then the activation ``post`` of its only reader(s): sigmoid, tanh and leaky_relu
    by oneDNN on the way out; relu and hardtanh (Clip) in place here, because oneDNN's would turn
    NaN into 0 where ONNX keeps NaN; silu (Sigmoid + Mul) in place here in one pass, because
    oneDNN's swish post-op slowed YOLOv5's convolutions by more than it saved. F.conv2d when ``w``
    is a plain tensor (no oneDNN)."""
    if isinstance(w, torch.Tensor):
        y = F.conv2d(x, w, b, stride, padding, dilation, groups)
    else:
        by_onednn = post not in ("relu", "hardtanh", "silu")
        y = torch.ops.mkldnn._convolution_pointwise(
            x, w.for_threads(), b, padding, stride, dilation, groups,
            post if by_onednn else "none", scalars if by_onednn else [], "",
        )  # fmt: skip
        if by_onednn:
            return y
    if post == "relu":
        return y.relu_()
    if post == "hardtanh":
        return y.clamp_(*scalars)
    if post == "leaky_relu":
        return F.leaky_relu(y, *scalars)
    if post == "silu":
        return F.silu(y, inplace=True)
    return y if post == "none" else getattr(torch, post)(y)


@register("Conv")
def conv(ctx: NodeCtx) -> str:
    key = ctx.prepacked.get(ctx.node.inputs[1]) if ctx.has(1) else None
    if key is not None:  # the weight goes to oneDNN reordered for exactly this convolution
        padding, stride, dilation, groups, _ = key
        b = ctx.x(2) if ctx.has(2) else "None"
        args = f"{ctx.x(0)}, {ctx.x(1)}, {b}, {lit(padding)}, {lit(stride)}, {lit(dilation)}, {groups}"
        if ctx.post_op is not None:
            name, scalars = ctx.post_op
            values = ", ".join(flit(v) for v in scalars) + ("," if len(scalars) == 1 else "")
            args += f", post={name!r}" + (f", scalars=({values})" if scalars else "")
        return f"{ctx.helper(conv2d_onednn)}({args})"
    spatial = _spatial_rank(ctx)
    fn = {1: "F.conv1d", 2: "F.conv2d", 3: "F.conv3d"}.get(spatial)
    if fn is None:
        raise ctx.unsupported(f"{spatial}-d convolution")
    x, w = ctx.x(0), ctx.x(1)
    strides = _ints(ctx, "strides", [1] * spatial)
    dilations = _ints(ctx, "dilations", [1] * spatial)
    group = int(ctx.attr("group", 1))
    w_shape = _static_dims(ctx, 1)
    kernel = _ints(ctx, "kernel_shape", w_shape or [])
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    padding: str | None = None
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        sizes = _static_dims(ctx, 0)
        if kernel and (sizes is not None or all(s == 1 for s in strides)):
            begin, end = _same_pads(auto_pad, sizes or [1] * spatial, kernel, strides, dilations)
        else:  # pads depend on the run-time size
            kernel_expr = lit(tuple(kernel)) if kernel else f"tuple({w}.shape[2:])"
            lower = ", lower=True" if auto_pad == "SAME_LOWER" else ""
            x = f"{ctx.helper(onnx_same_pad)}({x}, {kernel_expr}, {lit(tuple(strides))}, {lit(tuple(dilations))}{lower})"
            begin = end = [0] * spatial
    elif auto_pad == "VALID":
        begin = end = [0] * spatial
    elif auto_pad == "NOTSET":
        pads = _ints(ctx, "pads", [0] * (2 * spatial))
        begin, end = pads[:spatial], pads[spatial:]
    else:
        raise ctx.unsupported(f"auto_pad={auto_pad!r}")
    if begin != end:
        x = f"F.pad({x}, {lit(_torch_pads(begin, end))})"
    elif any(begin):
        padding = lit(tuple(begin))
    args = [x, w] + ([ctx.x(2)] if ctx.has(2) else [])
    kw = _kwargs(
        [
            ("stride", lit(tuple(strides)) if any(s != 1 for s in strides) else None),
            ("padding", padding),
            ("dilation", lit(tuple(dilations)) if any(d != 1 for d in dilations) else None),
            ("groups", str(group) if group != 1 else None),
        ]
    )
    return f"{fn}({', '.join(args + ([kw] if kw else []))})"


@register("ConvTranspose")
def conv_transpose(ctx: NodeCtx) -> str:
    spatial = _spatial_rank(ctx)
    fn = {1: "F.conv_transpose1d", 2: "F.conv_transpose2d", 3: "F.conv_transpose3d"}.get(spatial)
    if fn is None:
        raise ctx.unsupported(f"{spatial}-d transposed convolution")
    x, w, b = ctx.x(0), ctx.x(1), ctx.x(2)
    strides = _ints(ctx, "strides", [1] * spatial)
    dilations = _ints(ctx, "dilations", [1] * spatial)
    output_padding = _ints(ctx, "output_padding", [0] * spatial)
    group = int(ctx.attr("group", 1))
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    output_shape = ctx.attr("output_shape")
    output_shape = [int(v) for v in output_shape][-spatial:] if output_shape else None
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ctx.unsupported(f"auto_pad={auto_pad!r}")
    pads = None if auto_pad != "NOTSET" else _ints(ctx, "pads", [0] * (2 * spatial))
    if auto_pad == "VALID" and output_shape is None:
        pads = [0] * (2 * spatial)
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        sizes, kernel = _static_dims(ctx, 0), _ints(ctx, "kernel_shape", _static_dims(ctx, 1) or [])
        if sizes is not None and kernel:
            target = output_shape or [n * s for n, s in zip(sizes, strides, strict=True)]
            begin, end = [], []
            for i in range(spatial):
                total = strides[i] * (sizes[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1 - target[i]
                begin.append(max(0, total // 2 if auto_pad == "SAME_UPPER" else total - total // 2))
                end.append(total - begin[-1])  # an output longer than the full one grows at the end
            pads = begin + end
        else:
            pads = None
    if pads is not None:
        begin, end = pads[:spatial], pads[spatial:]
        if (
            begin == end
            and min(begin) >= 0
            and all(p < max(s, d) for p, s, d in zip(output_padding, strides, dilations, strict=True))
        ):
            kw = _kwargs(
                [
                    ("stride", lit(tuple(strides)) if any(s != 1 for s in strides) else None),
                    ("padding", lit(tuple(begin)) if any(begin) else None),
                    ("output_padding", lit(tuple(output_padding)) if any(output_padding) else None),
                    ("groups", str(group) if group != 1 else None),
                    ("dilation", lit(tuple(dilations)) if any(d != 1 for d in dilations) else None),
                ]
            )
            args = [x, w] + ([b] if b else [])
            return f"{fn}({', '.join(args + ([kw] if kw else []))})"
        return (
            f"{ctx.helper(onnx_conv_transpose)}({x}, {w}, {b or 'None'}, {lit(tuple(strides))}, {lit(tuple(dilations))}, "
            f"{group}, {lit(tuple(pads))}, {lit(tuple(output_padding))})"
        )
    extra = f", output_shape={lit(tuple(output_shape))}" if output_shape is not None else ""
    extra += f", auto_pad={auto_pad!r}" if auto_pad != "NOTSET" else ""
    return (
        f"{ctx.helper(onnx_conv_transpose)}({x}, {w}, {b or 'None'}, {lit(tuple(strides))}, {lit(tuple(dilations))}, "
        f"{group}, {lit((0,) * (2 * spatial))}, {lit(tuple(output_padding))}{extra})"
    )


# -- pooling ----------------------------------------------------------------------------------
def _pool_attrs(ctx: NodeCtx) -> tuple[list[int], list[int], list[int], list[int], str, int]:
    """(kernel, strides, dilations, pads, auto_pad, ceil_mode) with the spec defaults."""
    kernel = _ints(ctx, "kernel_shape", [])
    if not kernel:
        raise ctx.unsupported("kernel_shape is required")
    n = len(kernel)
    strides = _ints(ctx, "strides", [1] * n)
    dilations = _ints(ctx, "dilations", [1] * n)
    pads = _ints(ctx, "pads", [0] * (2 * n))
    auto_pad = ctx.attr("auto_pad", "NOTSET") or "NOTSET"
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ctx.unsupported(f"auto_pad={auto_pad!r}")
    return kernel, strides, dilations, pads, auto_pad, int(ctx.attr("ceil_mode", 0))


def _static_pool_pads(
    ctx: NodeCtx, kernel: list[int], strides: list[int], dilations: list[int], pads: list[int], auto_pad: str
) -> tuple[list[int], list[int]] | None:
    """(begin, end) pads known at compile time, or None (auto_pad SAME on a dynamic size)."""
    n = len(kernel)
    if auto_pad == "NOTSET":
        return pads[:n], pads[n:]
    if auto_pad == "VALID":
        return [0] * n, [0] * n
    sizes = _static_dims(ctx, 0)
    if sizes is None:
        return None
    return _same_pads(auto_pad, sizes, kernel, strides, dilations)


def _prepad_keeps_count(
    ctx: NodeCtx,
    kernel: list[int],
    strides: list[int],
    dilations: list[int],
    begin: list[int],
    end: list[int],
    ceil_mode: int,
) -> bool:
    """Whether pooling the explicitly padded input (torch padding 0) gives ONNX's window count.

    Only ceil_mode can differ: torch drops a last window that starts past the padded
    input, ONNX one that starts in the end padding."""
    if not ceil_mode:
        return True
    sizes = _static_dims(ctx, 0)
    if sizes is None:
        return False
    pads = begin + end
    onnx_out = onnx_pool_windows(sizes, kernel, strides, dilations, pads, "NOTSET", 1)
    padded = [s + b + e for s, b, e in zip(sizes, begin, end, strict=True)]
    torch_out = onnx_pool_windows(padded, kernel, strides, dilations, [0] * len(pads), "NOTSET", 1)
    return [w[2] for w in onnx_out] == [w[2] for w in torch_out]


def _pool_helper_call(ctx: NodeCtx, kind: str, extra: str = "") -> str:
    kernel, strides, dilations, pads, auto_pad, ceil_mode = _pool_attrs(ctx)
    args = [ctx.x(0), repr(kind), lit(tuple(kernel)), lit(tuple(strides)), lit(tuple(dilations)), lit(tuple(pads))]
    if auto_pad != "NOTSET":
        args.append(f"auto_pad={auto_pad!r}")
    if ceil_mode:
        args.append("ceil_mode=1")
    return f"{ctx.helper(onnx_pool)}({', '.join(args)}{extra})"


@register("MaxPool")
def max_pool(ctx: NodeCtx) -> str:
    kernel, strides, dilations, pads, auto_pad, ceil_mode = _pool_attrs(ctx)
    n = len(kernel)
    if n not in (1, 2, 3):
        raise ctx.unsupported(f"{n}-d pooling")
    if ctx.n_out > 1 and ctx.node.outputs[1]:
        storage_order = int(ctx.attr("storage_order", 0))
        return _pool_helper_call(ctx, "max", f", indices=True, storage_order={storage_order}")
    static = _static_pool_pads(ctx, kernel, strides, dilations, pads, auto_pad)
    is_float = ctx.elem_type(0) in FLOAT_TYPES
    if static is not None and (is_float or n > 1):
        begin, end = static
        x = ctx.x(0)
        symmetric = begin == end and all(b <= k // 2 for b, k in zip(begin, kernel, strict=True))
        if symmetric or (is_float and _prepad_keeps_count(ctx, kernel, strides, dilations, begin, end, ceil_mode)):
            if not symmetric:
                x = f"F.pad({x}, {lit(_torch_pads(begin, end))}, value=-math.inf)"
            kw = _kwargs(
                [
                    ("kernel_size", lit(tuple(kernel))),
                    ("stride", lit(tuple(strides))),
                    ("padding", lit(tuple(begin)) if symmetric and any(begin) else None),
                    ("dilation", lit(tuple(dilations)) if any(d != 1 for d in dilations) else None),
                    ("ceil_mode", "True" if ceil_mode else None),
                ]
            )
            return f"F.max_pool{n}d({x}, {kw})"
    return _pool_helper_call(ctx, "max")


@register("AveragePool")
def average_pool(ctx: NodeCtx) -> str:
    kernel, strides, dilations, pads, auto_pad, ceil_mode = _pool_attrs(ctx)
    n = len(kernel)
    if n not in (1, 2, 3):
        raise ctx.unsupported(f"{n}-d pooling")
    include_pad = int(ctx.attr("count_include_pad", 0))
    static = _static_pool_pads(ctx, kernel, strides, dilations, pads, auto_pad)
    if static is not None and all(d == 1 for d in dilations):
        begin, end = static
        x = ctx.x(0)
        symmetric = begin == end and all(b <= k // 2 for b, k in zip(begin, kernel, strict=True))
        prepad = not symmetric and (include_pad or not any(begin + end))
        if symmetric or (prepad and _prepad_keeps_count(ctx, kernel, strides, dilations, begin, end, ceil_mode)):
            if not symmetric:
                x = f"F.pad({x}, {lit(_torch_pads(begin, end))})"
            kw = _kwargs(
                [
                    ("kernel_size", lit(tuple(kernel))),
                    ("stride", lit(tuple(strides))),
                    ("padding", lit(tuple(begin)) if symmetric and any(begin) else None),
                    ("ceil_mode", "True" if ceil_mode else None),
                    ("count_include_pad", "False" if symmetric and any(begin) and not include_pad else None),
                ]
            )
            return f"F.avg_pool{n}d({x}, {kw})"
    return _pool_helper_call(ctx, "avg", ", count_include_pad=1" if include_pad else "")


@register("LpPool")
def lp_pool(ctx: NodeCtx) -> str:
    kernel, strides, dilations, pads, auto_pad, ceil_mode = _pool_attrs(ctx)
    n = len(kernel)
    if n not in (1, 2, 3):
        raise ctx.unsupported(f"{n}-d pooling")
    p = float(ctx.attr("p", 2))
    p_lit = str(int(p)) if p.is_integer() else repr(p)
    static = _static_pool_pads(ctx, kernel, strides, dilations, pads, auto_pad)
    unpadded = static is not None and not any(static[0] + static[1])
    if unpadded and not ceil_mode and all(d == 1 for d in dilations) and p.is_integer() and int(p) % 2 == 0:
        # torch sums x ** p (not |x| ** p): the same for even p; lp_pool1d takes plain ints
        size, stride = (kernel[0], strides[0]) if n == 1 else (tuple(kernel), tuple(strides))
        return f"F.lp_pool{n}d({ctx.x(0)}, {float(p)}, kernel_size={lit(size)}, stride={lit(stride)})"
    return _pool_helper_call(ctx, "lp", f", p={p_lit}")


def _spatial_dims_expr(ctx: NodeCtx) -> str:
    rank = ctx.rank(0)
    if rank is None:
        return f"tuple(range(2, {ctx.x(0)}.dim()))"
    return lit(tuple(range(2, rank)))


@register("GlobalAveragePool")
def global_average_pool(ctx: NodeCtx) -> str:
    if ctx.rank(0) == 2:  # no spatial axes: nothing to pool (torch would reduce dim=() over all)
        return ctx.x(0)
    return f"torch.mean({ctx.x(0)}, dim={_spatial_dims_expr(ctx)}, keepdim=True)"


@register("GlobalMaxPool")
def global_max_pool(ctx: NodeCtx) -> str:
    if ctx.rank(0) == 2:
        return ctx.x(0)
    return f"torch.amax({ctx.x(0)}, dim={_spatial_dims_expr(ctx)}, keepdim=True)"


# -- normalisation ----------------------------------------------------------------------------
def _like_input(ctx: NodeCtx, i: int) -> str | None:
    """Input ``i``, cast to the dtype of input 0 where shape inference says it differs."""
    x = ctx.x(i)
    if x is None:
        return None
    et, et0 = ctx.elem_type(i), ctx.elem_type(0)
    if et and et0 and et != et0:
        return f"{x}.to({ctx.dtype(et0)})"
    return x


@register("BatchNormalization")
def batch_norm(ctx: NodeCtx) -> str:
    x = ctx.x(0)
    scale, bias, mean, var = (_like_input(ctx, i) for i in (1, 2, 3, 4))
    eps = flit(ctx.attr("epsilon", 1e-5))
    n_results = len(ctx.node.present_outputs)
    if ctx.node.since_version >= 14 and ctx.attr("training_mode", 0):
        momentum = flit(ctx.attr("momentum", 0.9))
        call = f"{ctx.helper(onnx_batch_norm_training)}({x}, {scale}, {bias}, {mean}, {var}, {eps}, {momentum})"
        return call if ctx.n_out == 3 else f"{call}[0]" if ctx.n_out == 1 else f"{call}[:{ctx.n_out}]"
    if n_results > 1:
        raise ctx.unsupported("training-mode outputs (saved mean/variance) before opset 14 are not supported")
    if ctx.n_out > 1:
        raise ctx.unsupported("unexpected optional outputs")
    if ctx.node.since_version < 9 and ctx.attr("spatial", 1) == 0:
        # per-activation statistics: the parameters have the shape of one sample
        return f"({x} - {mean}) / torch.sqrt({var} + {eps}) * {scale} + {bias}"
    return f"F.batch_norm({x}, {mean}, {var}, weight={scale}, bias={bias}, eps={eps})"


@register("InstanceNormalization")
def instance_norm(ctx: NodeCtx) -> str:
    eps = flit(ctx.attr("epsilon", 1e-5))
    return f"F.instance_norm({ctx.x(0)}, weight={ctx.x(1)}, bias={ctx.x(2)}, eps={eps})"


@register("LayerNormalization", since=17)
def layer_norm(ctx: NodeCtx) -> str:
    x, scale, bias = ctx.x(0), ctx.x(1), ctx.x(2)
    axis = int(ctx.attr("axis", -1))
    eps = flit(ctx.attr("epsilon", 1e-5))
    if ctx.n_out > 1:
        call = f"{ctx.helper(onnx_layer_norm)}({x}, {scale}, {bias or 'None'}, {axis}, {eps})"
        return call if ctx.n_out == 3 else f"{call}[:{ctx.n_out}]"
    shape = ctx.info(0).shape
    if shape is not None:
        axis = axis % len(shape) if shape else 0
        tail = shape[axis:]
        normalized = lit(tuple(tail)) if all(isinstance(d, int) for d in tail) else f"{x}.shape[{axis}:]"
    else:
        normalized = f"{x}.shape[{axis}:]"
    scale_shape, bias_shape = ctx.info(1).shape, ctx.info(2).shape if ctx.has(2) else None
    exact = shape is not None and scale_shape is not None and tuple(scale_shape) == tuple(shape[axis:])
    exact = exact and (bias is None or (bias_shape is not None and tuple(bias_shape) == tuple(shape[axis:])))
    if exact and all(isinstance(d, int) for d in scale_shape):
        kw = f"weight={scale}" + (f", bias={bias}" if bias else "")
        return f"F.layer_norm({x}, {normalized}, {kw}, eps={eps})"
    # Scale/B only broadcast to the normalised shape: apply them after
    expr = f"F.layer_norm({x}, {normalized}, eps={eps}) * {scale}"
    return expr + (f" + {bias}" if bias else "")


@register("GroupNormalization", since=18)
def group_norm18(ctx: NodeCtx) -> str:
    """Opset 18: Scale and B hold one value per group."""
    x, scale, bias = ctx.x(0), ctx.x(1), ctx.x(2)
    groups = int(ctx.attr("num_groups"))
    eps = flit(ctx.attr("epsilon", 1e-5))
    shape = ctx.info(0).shape
    channels = shape[1] if shape is not None and len(shape) > 1 and isinstance(shape[1], int) else None
    per = str(channels // groups) if channels is not None else f"{x}.shape[1] // {groups}"
    return (
        f"F.group_norm({x}, {groups}, weight={scale}.repeat_interleave({per}), "
        f"bias={bias}.repeat_interleave({per}), eps={eps})"
    )


@register("GroupNormalization", since=21)
def group_norm21(ctx: NodeCtx) -> str:
    """Opset 21: Scale and B hold one value per channel; stash_type 1 computes in float32."""
    x, scale, bias = ctx.x(0), ctx.x(1), ctx.x(2)
    groups = int(ctx.attr("num_groups"))
    eps = flit(ctx.attr("epsilon", 1e-5))
    if ctx.attr("stash_type", 1) == 1 and ctx.elem_type(0) in (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16):
        return (
            f"F.group_norm({x}.float(), {groups}, weight={scale}.float(), bias={bias}.float(), eps={eps}).to({x}.dtype)"
        )
    return f"F.group_norm({x}, {groups}, weight={scale}, bias={bias}, eps={eps})"


@register("LRN")
def lrn(ctx: NodeCtx) -> str:
    size = int(ctx.attr("size"))
    alpha, beta, bias = flit(ctx.attr("alpha", 1e-4)), flit(ctx.attr("beta", 0.75)), flit(ctx.attr("bias", 1.0))
    full_precision = ctx.elem_type(0) in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE)
    if size % 2 == 1 and full_precision:  # torch's window is centred the same way for odd sizes
        return f"F.local_response_norm({ctx.x(0)}, size={size}, alpha={alpha}, beta={beta}, k={bias})"
    return f"{ctx.helper(onnx_lrn)}({ctx.x(0)}, {size}, {alpha}, {beta}, {bias})"


@register("LpNormalization")
def lp_normalization(ctx: NodeCtx) -> str:
    p = int(ctx.attr("p", 2))
    if p not in (1, 2):
        raise ctx.unsupported(f"p={p}")
    return f"F.normalize({ctx.x(0)}, p={float(p)}, dim={int(ctx.attr('axis', -1))})"


@register("MeanVarianceNormalization", since=9)
def mean_variance_normalization(ctx: NodeCtx) -> str:
    axes = tuple(int(a) for a in ctx.attr("axes", [0, 2, 3]))
    return f"{ctx.helper(onnx_mean_variance_norm)}({ctx.x(0)}, {lit(axes)})"


# -- Dropout --------------------------------------------------------------------------------
@register("Dropout")
def dropout(ctx: NodeCtx) -> str:
    x = ctx.x(0)
    want_mask = ctx.n_out > 1 and bool(ctx.node.outputs[1])
    training = ctx.const(2) if ctx.node.since_version >= 12 else None
    inference = (
        ctx.node.since_version < 12 or not ctx.has(2) or (training is not None and not bool(training.reshape(-1)[0]))
    )
    ratio = ctx.const(1) if ctx.node.since_version >= 12 else None
    if ratio is not None and ratio.size == 1 and float(ratio.reshape(-1)[0]) == 0.0:
        inference = True
    if inference:
        if not want_mask:
            return x if ctx.n_out == 1 else f"{x}, None"
        mask_dtype = "torch.bool" if ctx.node.since_version >= 10 else f"{x}.dtype"
        return f"{x}, torch.ones_like({x}, dtype={mask_dtype})"
    seed = ctx.attr("seed")
    args = [x, ctx.x(1) or "0.5", ctx.x(2) or "None"] + ([str(int(seed))] if seed is not None else [])
    call = f"{ctx.helper(onnx_dropout)}({', '.join(args)})"
    return call if ctx.n_out == 2 else f"{call}[0]"


# -- Resize / Upsample ------------------------------------------------------------------------
def _resize_torch(
    ctx: NodeCtx,
    mode: str,
    coord: str,
    nearest_mode: str,
    scales: list[float] | None,
    sizes: list[int] | None,
    cubic_a: float,
    exclude_outside: int,
) -> str | None:
    """An F.interpolate call that computes exactly this resize of all axes, or None."""
    shape = ctx.info(0).shape
    if shape is None or not 3 <= len(shape) <= 5:
        return None
    dims = _static_dims(ctx, 0, 0)
    rank = len(shape)
    if sizes is not None:
        if dims is None or len(sizes) != rank or sizes[:2] != dims[:2]:
            return None
        factors = [s / d if d else 0.0 for s, d in zip(sizes, dims, strict=True)]
    elif scales is not None:
        if len(scales) != rank or scales[0] != 1.0 or scales[1] != 1.0:
            return None
        factors = scales
    else:
        return None
    spatial = factors[2:]
    if dims is not None:
        outs = sizes[2:] if sizes is not None else [math.floor(s * d) for s, d in zip(spatial, dims[2:], strict=True)]
        if any(o < 1 for o in outs):
            return None
    elif any(s < 1 for s in spatial):
        return None  # a downscaled size may round to 0, which F.interpolate rejects
    else:
        outs = None
    x = ctx.x(0)
    size_arg = lit(tuple(sizes[2:])) if sizes is not None else None
    scale_arg = "(" + ", ".join(exact_float(s) for s in spatial) + ("," if len(spatial) == 1 else "") + ")"
    target = f"size={size_arg}" if size_arg else f"scale_factor={scale_arg}"
    if mode == "nearest":  # integer upsampling that repeats each element: torch's "nearest"
        if not all(float(s).is_integer() and s >= 1 for s in spatial):
            return None
        # source of output i*k + r: i + r/k (asymmetric), i + (r + 0.5)/k - 0.5 (half-pixel modes)
        repeat = (
            coord in ("half_pixel", "pytorch_half_pixel", "half_pixel_symmetric")
            and nearest_mode in ("round_prefer_floor", "round_prefer_ceil")
        ) or (coord == "asymmetric" and nearest_mode in ("floor", "simple"))
        if not repeat:
            return None
        scale_arg = "(" + ", ".join(repr(float(s)) for s in spatial) + ("," if len(spatial) == 1 else "") + ")"
        return f"F.interpolate({x}, scale_factor={scale_arg}, mode='nearest')"
    interp = {
        ("linear", 3): "linear",
        ("linear", 4): "bilinear",
        ("linear", 5): "trilinear",
        ("cubic", 4): "bicubic",
    }.get((mode, rank))
    if interp is None or exclude_outside:
        return None
    if mode == "cubic" and np.float32(cubic_a) != np.float32(-0.75):
        return None
    if coord == "half_pixel" or (coord == "pytorch_half_pixel" and outs is not None and all(o > 1 for o in outs)):
        align = "False"
    elif coord == "align_corners" and (
        sizes is not None
        or (dims is not None and all(float(s * d).is_integer() for s, d in zip(spatial, dims[2:], strict=True)))
    ):
        align = "True"
    else:
        return None
    return f"F.interpolate({x}, {target}, mode={interp!r}, align_corners={align})"


def _resize_common(
    ctx: NodeCtx,
    x_scales: int | None,
    x_sizes: int | None,
    x_roi: int | None,
    attr_scales: list[float] | None = None,
    legacy: bool = False,
) -> str:
    mode = ctx.attr("mode", "nearest")
    if mode == "bilinear":
        mode = "linear"
    if mode not in ("nearest", "linear", "cubic"):
        raise ctx.unsupported(f"mode={mode!r}")
    if legacy:
        coord, nearest_mode = "asymmetric", "simple"
    else:
        coord = ctx.attr("coordinate_transformation_mode", "half_pixel")
        nearest_mode = ctx.attr("nearest_mode", "round_prefer_floor")
    cubic_a = float(ctx.attr("cubic_coeff_a", -0.75))
    exclude_outside = int(ctx.attr("exclude_outside", 0))
    antialias = int(ctx.attr("antialias", 0))
    axes = ctx.attr("axes")
    policy = ctx.attr("keep_aspect_ratio_policy", "stretch")

    def const_values(i: int | None) -> list | None | bool:
        """Constant values of input i: a list, None where absent/empty, False where dynamic."""
        if i is None or not ctx.has(i):
            return None
        v = ctx.const(i)
        if v is None:
            return False
        return None if v.size == 0 else v.reshape(-1).tolist()

    scales = attr_scales if attr_scales is not None else const_values(x_scales)
    sizes = const_values(x_sizes)
    if scales is not None and scales is not False:
        scales = [float(np.float32(s)) for s in scales]
    if sizes is not None and sizes is not False:
        sizes = [int(s) for s in sizes]
    if (
        scales is not False
        and sizes is not False
        and not antialias
        and axes is None
        and coord != "tf_crop_and_resize"
        and (policy == "stretch" or sizes is None)
    ):
        direct = _resize_torch(ctx, mode, coord, nearest_mode, scales, sizes, cubic_a, exclude_outside)
        if direct is not None:
            return direct
    args = [ctx.x(0)]
    if x_roi is not None and ctx.has(x_roi) and coord == "tf_crop_and_resize":
        args.append(f"roi={ctx.x(x_roi)}")
    if attr_scales is not None:
        args.append(f"scales={lit(tuple(attr_scales))}")
    elif scales is not None:
        args.append(f"scales={ctx.x(x_scales) if scales is False else lit(tuple(scales))}")
    if sizes is not None:
        args.append(f"sizes={ctx.x(x_sizes) if sizes is False else lit(tuple(sizes))}")
    if scales is None and sizes is None:
        raise ctx.unsupported("neither scales nor sizes given")
    args.append(f"mode={mode!r}")
    options = [
        ("coordinate_transformation_mode", coord, "half_pixel"),
        ("nearest_mode", nearest_mode, "round_prefer_floor"),
        ("cubic_coeff_a", cubic_a, -0.75),
        ("exclude_outside", exclude_outside, 0),
        ("extrapolation_value", float(ctx.attr("extrapolation_value", 0.0)), 0.0),
        ("antialias", antialias, 0),
        ("axes", tuple(int(a) for a in axes) if axes is not None else None, None),
        ("keep_aspect_ratio_policy", policy, "stretch"),
    ]
    for name, value, default in options:
        if name == "nearest_mode" and mode != "nearest":
            continue
        if name == "cubic_coeff_a" and mode != "cubic":
            continue
        if value != default:
            args.append(f"{name}={flit(value) if isinstance(value, float) else lit(value)}")
    return f"{ctx.helper(onnx_resize)}({', '.join(args)})"


@register("Resize", since=10)
def resize10(ctx: NodeCtx) -> str:
    """Opset 10: scales input only; asymmetric coordinates, as Upsample."""
    return _resize_common(ctx, x_scales=1, x_sizes=None, x_roi=None, legacy=True)


@register("Resize", since=11)
def resize11(ctx: NodeCtx) -> str:
    return _resize_common(ctx, x_scales=2, x_sizes=3, x_roi=1)


@register("Upsample", since=7)
def upsample7(ctx: NodeCtx) -> str:
    scales = ctx.attr("scales")
    if scales is None:
        raise ctx.unsupported("scales attribute missing")
    return _resize_common(
        ctx, x_scales=None, x_sizes=None, x_roi=None, attr_scales=[float(np.float32(s)) for s in scales], legacy=True
    )


@register("Upsample", since=9)
def upsample9(ctx: NodeCtx) -> str:
    return _resize_common(ctx, x_scales=1, x_sizes=None, x_roi=None, legacy=True)


# -- DepthToSpace / SpaceToDepth --------------------------------------------------------------
@register("DepthToSpace")
def depth_to_space(ctx: NodeCtx) -> str:
    blocksize = int(ctx.attr("blocksize"))
    mode = ctx.attr("mode", "DCR")
    if mode == "CRD":
        return f"F.pixel_shuffle({ctx.x(0)}, {blocksize})"
    return f"{ctx.helper(onnx_depth_to_space)}({ctx.x(0)}, {blocksize})"


@register("SpaceToDepth")
def space_to_depth(ctx: NodeCtx) -> str:
    blocksize = int(ctx.attr("blocksize"))
    mode = ctx.attr("mode", "DCR")
    if mode == "CRD":
        return f"F.pixel_unshuffle({ctx.x(0)}, {blocksize})"
    return f"{ctx.helper(onnx_space_to_depth)}({ctx.x(0)}, {blocksize})"
