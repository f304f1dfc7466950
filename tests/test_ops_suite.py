"""The node configurations that the paper's suite exports (YOLOv5s, RetinaNet, BERT-base; see
``sample_models/build_zoo.py``) on small shapes, each against ONNX Runtime and through the
project's own op table (no onnx.reference fallback): the same op, attributes, dtypes, ranks
and constant-vs-computed inputs as in the exported graphs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.util import F32, I64, compare_with_ort, init, make_model, vi

BOOL = TensorProto.BOOL
rng = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def check(model: onnx.ModelProto, feeds: list[np.ndarray]) -> None:
    compare_with_ort(model, [feeds], allow_fallback=False)


def node(op: str, ins: list[str], outs: list[str], **attrs) -> onnx.NodeProto:
    return helper.make_node(op, ins, outs, **attrs)


NEAREST = {"coordinate_transformation_mode": "asymmetric", "cubic_coeff_a": -0.75, "mode": "nearest",
           "nearest_mode": "floor"}  # fmt: skip


# -- YOLOv5s -----------------------------------------------------------------------------------
def test_yolov5_silu_and_upsample_by_scales():
    """Conv → Sigmoid·Mul (SiLU), nn.Upsample(scale_factor=2): Resize with constant scales."""
    nodes = [
        node("Sigmoid", ["x"], ["s"]),
        node("Mul", ["x", "s"], ["silu"]),
        node("Resize", ["silu", "", "scales"], ["y"], **NEAREST),
    ]
    model = make_model(nodes, [vi("x", F32, [1, 4, 5, 5])], [vi("y", F32, [1, 4, 10, 10])],
                       [init("scales", np.array([1, 1, 2, 2], np.float32))])  # fmt: skip
    check(model, [rand(1, 4, 5, 5)])


def test_yolov5_detect_decode():
    """Reshape to 5-D, Transpose [0,1,3,4,2], Sigmoid, Split(2,2,81) on axis 4, Mul/Add/Pow(2) with
    grid and anchor constants, Concat, Reshape to (1, cells, 85)."""
    nodes = [
        node("Reshape", ["x", "shape5"], ["r"]),
        node("Transpose", ["r"], ["t"], perm=[0, 1, 3, 4, 2]),
        node("Sigmoid", ["t"], ["sg"]),
        node("Split", ["sg", "split"], ["xy", "wh", "conf"], axis=4),
        node("Mul", ["xy", "two"], ["xy2"]),
        node("Add", ["xy2", "grid"], ["xyg"]),
        node("Mul", ["xyg", "stride"], ["xyo"]),
        node("Mul", ["wh", "two"], ["wh2"]),
        node("Pow", ["wh2", "two"], ["whp"]),
        node("Mul", ["whp", "anchors"], ["who"]),
        node("Concat", ["xyo", "who", "conf"], ["cat"], axis=4),
        node("Reshape", ["cat", "shape3"], ["y"]),
    ]
    inits = [
        init("shape5", np.array([1, 3, 85, 4, 4], np.int64)),
        init("split", np.array([2, 2, 81], np.int64)),
        init("two", np.array(2.0, np.float32)),
        init("stride", np.array(8.0, np.float32)),
        init("grid", rand(1, 3, 4, 4, 2)),
        init("anchors", np.abs(rand(1, 3, 4, 4, 2)) * 30),
        init("shape3", np.array([1, 48, 85], np.int64)),
    ]
    model = make_model(nodes, [vi("x", F32, [1, 255, 4, 4])], [vi("y", F32, [1, 48, 85])], inits)
    check(model, [rand(1, 255, 4, 4)])


# -- RetinaNet ---------------------------------------------------------------------------------
def test_retinanet_fpn_upsample_to_computed_sizes():
    """F.interpolate(top, size=lateral.shape[-2:]): Resize whose ``sizes`` come from a Shape/Slice/Concat
    chain at run time, then the lateral Add."""
    nodes = [
        node("Shape", ["lat"], ["s"]),
        node("Slice", ["s", "two", "four", "zero"], ["hw"]),
        node("Concat", ["nc", "hw"], ["sizes"], axis=0),
        node("Resize", ["top", "", "", "sizes"], ["up"], **NEAREST),
        node("Add", ["up", "lat"], ["y"]),
    ]
    inits = [init(n, np.array([v], np.int64)) for n, v in (("two", 2), ("four", 4), ("zero", 0))]
    inits.append(init("nc", np.array([1, 6], np.int64)))
    model = make_model(nodes, [vi("top", F32, [1, 6, 4, 4]), vi("lat", F32, [1, 6, 8, 8])],
                       [vi("y", F32, [1, 6, 8, 8])], inits)  # fmt: skip
    check(model, [rand(1, 6, 4, 4), rand(1, 6, 8, 8)])


def test_retinanet_head_view_permute_reshape():
    """view(N, -1, K, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, K) with N, H, W from Shape/Gather/Unsqueeze."""
    nodes = [node("Shape", ["x"], ["s"])]
    for name, idx in (("n", 0), ("h", 2), ("w", 3)):
        nodes += [node("Gather", ["s", f"i{idx}"], [name], axis=0), node("Unsqueeze", [name, "ax0"], [f"{name}u"])]
    nodes += [
        node("Concat", ["nu", "m1", "k", "hu", "wu"], ["shape5"], axis=0),
        node("Reshape", ["x", "shape5"], ["r"]),
        node("Transpose", ["r"], ["t"], perm=[0, 3, 4, 1, 2]),
        node("Concat", ["nu", "m1", "k"], ["shape3"], axis=0),
        node("Reshape", ["t", "shape3"], ["y"]),
    ]
    inits = [init(f"i{i}", np.array(i, np.int64)) for i in (0, 2, 3)]
    inits += [init("ax0", np.array([0], np.int64)), init("m1", np.array([-1], np.int64)),
              init("k", np.array([7], np.int64))]  # fmt: skip
    model = make_model(nodes, [vi("x", F32, [1, 21, 4, 5])], [vi("y", F32, [1, 60, 7])], inits)
    check(model, [rand(1, 21, 4, 5)])


# -- BERT --------------------------------------------------------------------------------------
def test_bert_embeddings_gather_add_layernorm():
    """Word / position / token-type embeddings (Gather on a 2-D table with (1, S) int64 ids), sum,
    LayerNormalization(axis=-1, epsilon=1e-12)."""
    nodes = [
        node("Gather", ["word", "ids"], ["we"]),
        node("Gather", ["pos", "pids"], ["pe"]),
        node("Gather", ["tok", "tids"], ["te"]),
        node("Add", ["we", "te"], ["a"]),
        node("Add", ["a", "pe"], ["e"]),
        node("LayerNormalization", ["e", "g", "b"], ["y"], axis=-1, epsilon=1e-12),
    ]
    inits = [init("word", rand(50, 16)), init("pos", rand(12, 16)), init("tok", rand(2, 16)),
             init("pids", np.arange(6, dtype=np.int64)[None]), init("g", rand(16)), init("b", rand(16))]  # fmt: skip
    model = make_model(nodes, [vi("ids", I64, [1, 6]), vi("tids", I64, [1, 6])], [vi("y", F32, [1, 6, 16])], inits)
    check(model, [rng.integers(0, 50, (1, 6)).astype(np.int64), rng.integers(0, 2, (1, 6)).astype(np.int64)])


def test_bert_attention_with_padding_mask():
    """Q·Kᵀ (4-D batched MatMul), /sqrt(d), + additive mask from Where(bool mask, 0, finfo.min) expanded
    from (1, 1, 1, S), Softmax on the last axis, ·V, Transpose back, 3-D × 2-D MatMul."""
    nodes = [
        node("MatMul", ["x", "wq"], ["q2"]),
        node("MatMul", ["x", "wk"], ["k2"]),
        node("MatMul", ["x", "wv"], ["v2"]),
        node("Reshape", ["q2", "heads"], ["q3"]),
        node("Reshape", ["k2", "heads"], ["k3"]),
        node("Reshape", ["v2", "heads"], ["v3"]),
        node("Transpose", ["q3"], ["q"], perm=[0, 2, 1, 3]),
        node("Transpose", ["k3"], ["kt"], perm=[0, 2, 3, 1]),
        node("Transpose", ["v3"], ["v"], perm=[0, 2, 1, 3]),
        node("MatMul", ["q", "kt"], ["s0"]),
        node("Div", ["s0", "scale"], ["s1"]),
        node("Cast", ["mask"], ["mb"], to=BOOL),
        node("Reshape", ["mb", "m4"], ["mr"]),
        node("Expand", ["mr", "full"], ["me"]),
        node("Where", ["me", "zero", "neg"], ["bias"]),
        node("Add", ["s1", "bias"], ["s2"]),
        node("Softmax", ["s2"], ["p"], axis=-1),
        node("MatMul", ["p", "v"], ["c"]),
        node("Transpose", ["c"], ["ct"], perm=[0, 2, 1, 3]),
        node("Reshape", ["ct", "flat"], ["y"]),
    ]
    inits = [
        init("wq", rand(16, 16)), init("wk", rand(16, 16)), init("wv", rand(16, 16)),
        init("heads", np.array([1, 6, 4, 4], np.int64)), init("scale", np.array(2.0, np.float32)),
        init("m4", np.array([1, 1, 1, 6], np.int64)), init("full", np.array([1, 1, 6, 6], np.int64)),
        init("zero", np.array(0.0, np.float32)), init("neg", np.array(np.finfo(np.float32).min, np.float32)),
        init("flat", np.array([1, 6, 16], np.int64)),
    ]  # fmt: skip
    model = make_model(nodes, [vi("x", F32, [1, 6, 16]), vi("mask", I64, [1, 6])], [vi("y", F32, [1, 6, 16])], inits)
    check(model, [rand(1, 6, 16), np.array([[1, 1, 1, 1, 0, 0]], np.int64)])


def test_bert_mask_bool_chain():
    """transformers' mask builder: ConstantOfShape(bool, scalar), GreaterOrEqual on int64, And with
    broadcasting, Gather on a bool tensor with 3-D indices, Equal/Where on an int64 shape, Expand,
    Flatten of a bool tensor."""
    nodes = [
        node("ConstantOfShape", ["empty"], ["true"], value=helper.make_tensor("v", BOOL, [1], [True])),
        node("GreaterOrEqual", ["kv", "zero"], ["ge"]),
        node("And", ["true", "ge"], ["a1"]),
        node("Cast", ["mask"], ["mb"], to=BOOL),
        node("Flatten", ["mb"], ["mf"], axis=2),  # (1, S) -> (S, 1)
        node("Gather", ["mf", "idx"], ["g"], axis=0),
        node("Equal", ["shape", "minus1"], ["eq"]),
        node("Where", ["eq", "ones", "shape"], ["shp"]),
        node("Expand", ["g", "shp"], ["ge4"]),
        node("And", ["a1", "ge4"], ["y"]),
    ]
    inits = [
        init("empty", np.zeros(0, np.int64)), init("zero", np.array(0, np.int64)),
        init("idx", np.arange(6, dtype=np.int64).reshape(1, 1, 6)),
        init("shape", np.array([1, -1, 6, 6], np.int64)), init("minus1", np.array([-1, -1, -1, -1], np.int64)),
        init("ones", np.ones(4, np.int64)),
    ]  # fmt: skip
    model = make_model(nodes, [vi("kv", I64, [1, 1, 6, 1]), vi("mask", I64, [1, 6])], [vi("y", BOOL, [1, 1, 6, 6])],
                       inits)  # fmt: skip
    check(model, [np.arange(-2, 4, dtype=np.int64).reshape(1, 1, 6, 1), np.array([[1, 0, 1, 1, 0, 1]], np.int64)])


@pytest.mark.parametrize("shapes", [((1, 6, 16), (16, 32)), ((2, 1, 5, 4), (3, 4, 6)), ((1, 2, 5, 4), (1, 2, 4, 5))],
                         ids=["3d-2d", "broadcast", "batched"])  # fmt: skip
def test_matmul_broadcasting_and_exact_gelu(shapes):
    """MatMul with broadcasting batch dims, then exact GELU as exported: x·0.5·(1 + erf(x/√2))."""
    a, b = shapes
    nodes = [
        node("MatMul", ["a", "b"], ["m"]),
        node("Div", ["m", "sqrt2"], ["d"]),
        node("Erf", ["d"], ["e"]),
        node("Add", ["e", "one"], ["e1"]),
        node("Mul", ["m", "e1"], ["me"]),
        node("Mul", ["me", "half"], ["y"]),
    ]
    inits = [init("sqrt2", np.array(np.sqrt(2), np.float32)), init("one", np.array(1.0, np.float32)),
             init("half", np.array(0.5, np.float32))]  # fmt: skip
    out_shape = np.broadcast_shapes(a[:-2], b[:-2]) + (a[-2], b[-1])
    model = make_model(nodes, [vi("a", F32, list(a)), vi("b", F32, list(b))], [vi("y", F32, list(out_shape))], inits)
    check(model, [rand(*a), rand(*b)])
