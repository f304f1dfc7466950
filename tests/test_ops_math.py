"""Element-wise, linear-algebra and reduction converters against ONNX Runtime, on the
patterns real exports use (torchvision heads, MobileNet's ReLU6, transformer blocks,
NASNet's int64 shape arithmetic) and on opset variants the node tests leave thin."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from core import Graph, generate_serial, load_model, run_module
from core.verify import allclose
from tests.util import F32, I64, compare_with_ort, init, make_model, vi

RTOL, ATOL = 1e-3, 1e-4
rng = np.random.default_rng(0)


def w(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def compile_and_check(model: onnx.ModelProto, feeds: list[np.ndarray]) -> str:
    """Generated code against ORT on ``feeds``, no onnx.reference fallback allowed. Returns the source."""
    return compare_with_ort(model, [feeds], RTOL, ATOL, allow_fallback=False)[0].source


@pytest.mark.parametrize("opset", [9, 11, 13, 17])
def test_classifier_head_gemm_transb_is_f_linear(opset):
    """Flatten → Gemm(transB=1) as torchvision exports nn.Linear; the code should read F.linear."""
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], alpha=1.0, beta=1.0, transB=1),
    ]
    model = make_model(
        nodes, [vi("x", shape=[2, 16, 1, 1])], [vi("logits", shape=[2, 10])],
        [init("fc.weight", w(10, 16)), init("fc.bias", w(10))], opset=opset,
    )  # fmt: skip
    src = compile_and_check(model, [w(2, 16, 1, 1)])
    assert "F.linear(flat, W['fc.weight'], W['fc.bias'])" in src


@pytest.mark.parametrize(
    ("opset", "attrs", "c_shape"),
    [
        (9, {"alpha": 0.5, "beta": 2.0}, (1, 5)),
        (9, {"transA": 1}, (3, 5)),
        (11, {"transA": 1, "transB": 1, "alpha": 1.5}, (5,)),
        (11, {"beta": 0.25}, ()),
        (13, {"alpha": 2.0}, None),
        (13, {"transB": 1, "beta": 0.0}, (3, 1)),
    ],
)
def test_gemm_variants(opset, attrs, c_shape):
    ta, tb = attrs.get("transA", 0), attrs.get("transB", 0)
    a_shape, b_shape = ((4, 3) if ta else (3, 4)), ((5, 4) if tb else (4, 5))
    inits = [init("B", w(*b_shape))]
    inputs = ["A", "B"]
    if c_shape is not None:
        inits.append(init("C", np.asarray(w(*c_shape)) if c_shape else np.float32(0.7)))
        inputs.append("C")
    model = make_model(
        [helper.make_node("Gemm", inputs, ["Y"], **attrs)], [vi("A", shape=list(a_shape))], [vi("Y", shape=[3, 5])],
        inits, opset=opset,
    )  # fmt: skip
    compile_and_check(model, [w(*a_shape)])


# -- MobileNet-v2: Clip as ReLU6 ----------------------------------------------------------------
def test_mobilenet_relu6_clip_opset17_inlines_bounds():
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c", "min", "max"], ["y"]),
    ]
    model = make_model(
        nodes, [vi("x", shape=[1, 3, 8, 8])], [vi("y", shape=[1, 4, 8, 8])],
        [init("conv.weight", w(4, 3, 3, 3)), init("min", np.float32(0.0)), init("max", np.float32(6.0))], opset=17,
    )  # fmt: skip
    src = compile_and_check(model, [w(1, 3, 8, 8) * 4])
    assert "post='hardtanh', scalars=(0.0, 6.0)" in src  # the conv's only reader: applied by it
    clip_alone = make_model(
        nodes[1:], [vi("c", shape=[1, 4, 8, 8])], [vi("y", shape=[1, 4, 8, 8])],
        [init("min", np.float32(0.0)), init("max", np.float32(6.0))], opset=17,
    )  # fmt: skip
    assert "torch.clamp(c, min=0.0, max=6.0)" in compile_and_check(clip_alone, [w(1, 4, 8, 8) * 4])


@pytest.mark.parametrize(
    ("opset", "inputs", "attrs", "extra_inputs"),
    [
        (6, ["x"], {"min": -0.5, "max": 0.5}, []),
        (6, ["x"], {"max": 0.2}, []),
        (11, ["x", "", "hi"], {}, [vi("hi", shape=[])]),  # absent min: no lower bound
        (11, ["x", "lo"], {}, [vi("lo", shape=[])]),
        (12, ["x", "lo", "six"], {}, [vi("lo", shape=[])]),  # a tensor and a constant bound
        (13, ["x"], {}, []),  # no bounds at all
    ],
)
def test_clip_versions(opset, inputs, attrs, extra_inputs):
    model = make_model(
        [helper.make_node("Clip", inputs, ["y"], **attrs)], [vi("x", shape=[3, 4])] + extra_inputs,
        [vi("y", shape=[3, 4])], [init("six", np.float32(0.6))] if "six" in inputs else [], opset=opset,
    )  # fmt: skip
    compile_and_check(model, [w(3, 4)] + [np.array(0.3, np.float32)] * len(extra_inputs))


def test_clip_int64_runtime_bounds():
    model = make_model(
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        [vi("x", I64, [6]), vi("lo", I64, []), vi("hi", I64, [])], [vi("y", I64, [6])], opset=13,
    )  # fmt: skip
    compile_and_check(
        model, [np.array([-9, -2, 0, 3, 7, 100], np.int64), np.array(-2, np.int64), np.array(5, np.int64)]
    )


# -- transformer encoder ------------------------------------------------------------------------
def _layer_norm_nodes(x: str, out: str, opset: int) -> list[onnx.NodeProto]:
    """LayerNorm as torch < 2 exported it: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div."""
    if opset >= 18:
        mean = lambda i, o: helper.make_node("ReduceMean", [i, "ln_axes"], [o])  # noqa: E731
    else:
        mean = lambda i, o: helper.make_node("ReduceMean", [i], [o], axes=[-1])  # noqa: E731
    return [
        mean(x, "mu"),
        helper.make_node("Sub", [x, "mu"], ["xc"]),
        helper.make_node("Pow", ["xc", "two"], ["sq"]),
        mean("sq", "var"),
        helper.make_node("Add", ["var", "eps"], ["var_eps"]),
        helper.make_node("Sqrt", ["var_eps"], ["std"]),
        helper.make_node("Div", ["xc", "std"], ["xn"]),
        helper.make_node("Mul", ["xn", "ln.weight"], ["xs"]),
        helper.make_node("Add", ["xs", "ln.bias"], [out]),
    ]


@pytest.mark.parametrize("opset", [11, 13, 17, 18])
def test_transformer_encoder_block(opset):
    """Attention (3-D × 2-D projections, 4-D × 4-D scores, Equal/Where mask), erf-GELU MLP,
    LayerNorm via ReduceMean over the last axis."""
    b, s, d, h = 2, 5, 8, 2
    hd = d // h
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q0"]),
        helper.make_node("Add", ["q0", "bq"], ["q1"]),
        helper.make_node("MatMul", ["x", "wk"], ["k0"]),
        helper.make_node("Reshape", ["q1", "heads"], ["q2"]),
        helper.make_node("Transpose", ["q2"], ["q"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["k0", "heads"], ["k2"]),
        helper.make_node("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["scores0"]),
        helper.make_node("Div", ["scores0", "scale"], ["scores1"]),
        helper.make_node("Equal", ["mask", "zero_i"], ["masked"]),  # [b, 1, 1, s] broadcasts over heads/rows
        helper.make_node("Where", ["masked", "neg_big", "scores1"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probs"], axis=-1 if opset >= 13 else 3),
        helper.make_node("MatMul", ["probs", "q"], ["ctx"]),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "merge"], ["attn"]),
        helper.make_node("Add", ["x", "attn"], ["res1"]),
        *_layer_norm_nodes("res1", "ln1", opset),
        helper.make_node("MatMul", ["ln1", "w1"], ["h0"]),
        helper.make_node("Div", ["h0", "sqrt2"], ["h1"]),
        helper.make_node("Erf", ["h1"], ["h2"]),
        helper.make_node("Add", ["h2", "one"], ["h3"]),
        helper.make_node("Mul", ["h0", "h3"], ["h4"]),
        helper.make_node("Mul", ["h4", "half"], ["gelu"]),
        helper.make_node("MatMul", ["gelu", "w2"], ["y"]),
    ]
    inits = [
        init("wq", w(d, d)), init("bq", w(d)), init("wk", w(d, d)),
        init("heads", np.array([b, s, h, hd], np.int64)), init("merge", np.array([b, s, d], np.int64)),
        init("scale", np.float32(np.sqrt(hd))), init("zero_i", np.int64(0)), init("neg_big", np.float32(-1e4)),
        init("two", np.float32(2.0)), init("eps", np.float32(1e-5)),
        init("ln.weight", w(d)), init("ln.bias", w(d)), init("w1", w(d, 2 * d)), init("w2", w(2 * d, d)),
        init("sqrt2", np.float32(1.4142135)), init("one", np.float32(1.0)), init("half", np.float32(0.5)),
    ]  # fmt: skip
    if opset >= 18:
        inits.append(init("ln_axes", np.array([-1], np.int64)))
    model = make_model(
        nodes, [vi("x", shape=[b, s, d]), vi("mask", I64, [b, 1, 1, s])], [vi("y", shape=[b, s, d])], inits, opset=opset
    )
    mask = np.ones((b, 1, 1, s), np.int64)
    mask[1, ..., 3:] = 0
    src = compile_and_check(model, [w(b, s, d), mask])
    assert "torch.mean(res1, dim=-1, keepdim=True)" in src
    assert "torch.pow(xc, 2.0)" in src


# -- NASNet-A Large: int64 shape arithmetic --------------------------------------------------------
@pytest.mark.parametrize("opset", [9, 11, 13])
def test_nasnet_int64_scalar_shape_arithmetic(opset):
    """'Same' padding computed on int64 scalars from Shape/Gather: Sub, Div (truncating),
    Cast to float, Div, Ceil, Cast back, Mul, Add."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "idx_h"], ["n"], axis=0),
        helper.make_node("Sub", ["n", "k"], ["d"]),
        helper.make_node("Div", ["d", "two"], ["half_trunc"]),
        helper.make_node("Cast", ["d"], ["d_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["d_f", "two_f"], ["half_f"]),
        helper.make_node("Ceil", ["half_f"], ["half_ceil_f"]),
        helper.make_node("Cast", ["half_ceil_f"], ["half_ceil"], to=TensorProto.INT64),
        helper.make_node("Mul", ["half_ceil", "two"], ["pad"]),
        helper.make_node("Add", ["pad", "half_trunc"], ["total"]),
    ]
    model = make_model(
        nodes, [vi("x", shape=[1, 3, "h", "w"])], [vi("half_trunc", I64, []), vi("total", I64, [])],
        [init("idx_h", np.int64(2)), init("k", np.int64(6)), init("two", np.int64(2)), init("two_f", np.float32(2.0))],
        opset=opset,
    )  # fmt: skip
    for h in (11, 6, 3, 1):  # d = h - 6: odd, zero, negative
        src = compile_and_check(model, [w(1, 3, h, 4)])
    assert 'torch.div(d, 2, rounding_mode="trunc")' in src


# -- opset variants -----------------------------------------------------------------------------
def test_legacy_broadcast_with_axis_opset6():
    """Opset < 7 broadcasting (ORT no longer runs Add-6, so numpy is the reference)."""
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["a"], broadcast=1, axis=1),
        helper.make_node("Mul", ["a", "scale"], ["y"], broadcast=1),  # trailing alignment
    ]
    bias, scale, x = w(3, 4), w(5), w(2, 3, 4, 5)
    model = make_model(
        nodes, [vi("x", shape=[2, 3, 4, 5])], [vi("y", shape=[2, 3, 4, 5])],
        [init("bias", bias), init("scale", scale)], opset=6,
    )  # fmt: skip
    (y,) = run_module(generate_serial(Graph.from_model(load_model(model))).load(), [x])
    assert allclose(y, (x + bias[None, :, :, None]) * scale, RTOL, ATOL)


def test_integer_arithmetic():
    """Div truncates toward zero, Mod follows the divisor's sign (fmod=0) or C (fmod=1),
    Pow keeps the base's dtype, comparisons give bool."""
    i32 = TensorProto.INT32
    nodes = [
        helper.make_node("Div", ["a", "b"], ["q"]),
        helper.make_node("Mod", ["a", "b"], ["m"]),
        helper.make_node("Mod", ["a", "b"], ["fm"], fmod=1),
        helper.make_node("Pow", ["a", "e"], ["p"]),
        helper.make_node("GreaterOrEqual", ["a", "b"], ["ge"]),
        helper.make_node("Max", ["a", "b", "c"], ["mx"]),
        helper.make_node("Min", ["a", "c"], ["mn"]),
    ]
    model = make_model(
        nodes, [vi("a", i32, [6]), vi("b", i32, [6]), vi("c", i32, [1]), vi("e", F32, [6])],
        [vi(n, i32, [6]) for n in ("q", "m", "fm", "p")] + [vi("ge", TensorProto.BOOL, [6]), vi("mx", i32, [6]),
                                                             vi("mn", i32, [6])],
        opset=15,
    )  # fmt: skip
    feeds = [
        np.array([7, -7, 7, -7, 9, 0], np.int32), np.array([2, 2, -2, -2, 3, 5], np.int32),
        np.array([1], np.int32), np.array([2.0, 3.0, 1.0, 0.0, 0.5, 2.0], np.float32),
    ]  # fmt: skip
    compile_and_check(model, feeds)


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_reductions(opset):
    ops = ["ReduceSum", "ReduceMax", "ReduceProd", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "ReduceMin"]
    nodes, outputs, inits = [], [], []
    for op in ops:
        input_axes = opset >= 18 or (op == "ReduceSum" and opset >= 13)
        if input_axes:
            inits.append(init(f"{op}_axes", np.array([0, -1], np.int64)))
            nodes.append(helper.make_node(op, ["x", f"{op}_axes"], [op], keepdims=0))
        else:
            nodes.append(helper.make_node(op, ["x"], [op], axes=[0, -1], keepdims=0))
        outputs.append(vi(op, shape=[3]))
    nodes.append(helper.make_node("ReduceMean", ["x"], ["all"]))  # no axes: all, keepdims=1
    outputs.append(vi("all", shape=[1, 1, 1]))
    model = make_model(nodes, [vi("x", shape=[2, 3, 4])], outputs, inits, opset=opset)
    compile_and_check(model, [w(2, 3, 4)])


def test_reduce_runtime_axes_and_noop_opset18():
    nodes = [
        helper.make_node("ReduceMax", ["x", "axes"], ["mx"], keepdims=1),
        helper.make_node("ReduceSum", ["x", "axes"], ["sm"], keepdims=0),
        helper.make_node("ReduceL1", ["x", "no_axes"], ["noop"], noop_with_empty_axes=1),
    ]
    model = make_model(
        nodes, [vi("x", shape=[2, 3, 4]), vi("axes", I64, [1])],
        [vi("mx", shape=[2, 1, 4]), vi("sm", shape=[2, 4]), vi("noop", shape=[2, 3, 4])],
        [init("no_axes", np.zeros(0, np.int64))], opset=18,
    )  # fmt: skip
    compile_and_check(model, [w(2, 3, 4), np.array([-2], np.int64)])


@pytest.mark.parametrize("opset", [11, 12, 13])
def test_argmax_argmin_with_ties(opset):
    last = {"select_last_index": 1} if opset >= 12 else {}
    nodes = [
        helper.make_node("ArgMax", ["x"], ["amax"], axis=1, keepdims=0, **last),
        helper.make_node("ArgMin", ["x"], ["amin"], axis=-1),
    ]
    model = make_model(nodes, [vi("x", shape=[2, 4])], [vi("amax", I64, [2]), vi("amin", I64, [2, 1])], opset=opset)
    compile_and_check(model, [np.array([[1, 3, 3, 0], [2, 2, 1, 1]], np.float32)])


@pytest.mark.parametrize("opset", [10, 11])
def test_topk(opset):
    extra = {"largest": 0} if opset >= 11 else {}
    nodes = [helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=1, **extra)]
    model = make_model(
        nodes, [vi("x", shape=[2, 6])], [vi("values", shape=[2, 3]), vi("indices", I64, [2, 3])],
        [init("k", np.array([3], np.int64))], opset=opset,
    )  # fmt: skip
    compile_and_check(model, [np.array([[5, 1, 5, 2, 5, 0], [1, 1, 1, 1, 2, 2]], np.float32)])


@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumsum(exclusive, reverse):
    nodes = [
        helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse),
        helper.make_node("CumSum", ["xi", "axis_c"], ["yi"], exclusive=exclusive, reverse=reverse),
    ]
    model = make_model(
        nodes, [vi("x", shape=[3, 4]), vi("axis", TensorProto.INT32, []), vi("xi", TensorProto.INT32, [3, 4])],
        [vi("y", shape=[3, 4]), vi("yi", TensorProto.INT32, [3, 4])], [init("axis_c", np.int64(-1))], opset=14,
    )  # fmt: skip
    compile_and_check(model, [w(3, 4), np.array(0, np.int32), np.arange(12, dtype=np.int32).reshape(3, 4)])


def test_einsum_and_batched_matmul_1d():
    nodes = [
        helper.make_node("Einsum", ["a", "b"], ["e"], equation="bij, bjk -> bik"),
        helper.make_node("MatMul", ["a", "v"], ["mv"]),  # N-d × 1-d
        helper.make_node("MatMul", ["v3", "b"], ["vm"]),  # 1-d × N-d
    ]
    model = make_model(
        nodes, [vi("a", shape=[2, 3, 4]), vi("b", shape=[2, 4, 5])],
        [vi("e", shape=[2, 3, 5]), vi("mv", shape=[2, 3]), vi("vm", shape=[2, 5])],
        [init("v", w(4)), init("v3", w(4))], opset=12,
    )  # fmt: skip
    compile_and_check(model, [w(2, 3, 4), w(2, 4, 5)])


def test_unary_math_and_predicates():
    names = ["Neg", "Abs", "Exp", "Sqrt", "Reciprocal", "Ceil", "Floor", "Round", "Sign", "Sin", "Atan", "Sinh",
             "Asinh", "Erf", "IsNaN"]  # fmt: skip
    nodes = [helper.make_node(op, ["x"], [op]) for op in names]
    nodes.append(helper.make_node("IsInf", ["x"], ["posinf"], detect_negative=0))
    bool_out = {"IsNaN", "posinf"}
    outputs = [vi(n, TensorProto.BOOL if n in bool_out else F32, [8]) for n in names + ["posinf"]]
    model = make_model(nodes, [vi("x", shape=[8])], outputs, opset=13)
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.7, np.inf, -np.inf, 3.0], np.float32)
    compile_and_check(model, [x])
