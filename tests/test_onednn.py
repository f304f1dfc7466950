"""Convolutions and MatMuls run by oneDNN with weights reordered at their first run, and the
activations and biases fused into them.

The generated code calls ``conv2d_onednn`` for a float32 2-D Conv whose weight serves one
convolution on a static input size; an activation that is the conv's only reader becomes a
oneDNN post-op and its own statement a rename. A MatMul by a constant float32 weight calls
``linear_onednn``, with the 1-D bias of an Add that is its only reader. Everything is checked
against ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

import core.codegen
from core import Graph, generate_serial, load_model
from core.codegen import node_program, prepacked_conv_weights, run_module, to_numpy, to_torch
from tests.test_ops_nn import with_output_shapes
from tests.util import compare_with_ort, init, make_model, vi

rng = np.random.default_rng(3)


def w(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def conv_then(act_nodes, opset=17, inits=(), outputs=("y",), pads=(1, 1, 1, 1), x_shape=(1, 4, 10, 10)):
    nodes = [helper.make_node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=list(pads)), *act_nodes]
    return with_output_shapes(make_model(
        nodes, [vi("x", shape=list(x_shape))], [vi(o) for o in outputs],
        [init("cw", w(6, x_shape[1], 3, 3)), init("cb", w(6)), *inits], opset=opset,
    ))  # fmt: skip


def source_of(model) -> str:
    generated, _ = compare_with_ort(
        model, [[w(*[d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim])]]
    )
    return generated.source


@pytest.mark.parametrize(
    "act, post",
    [
        (helper.make_node("Relu", ["c"], ["y"]), "post='relu'"),
        (helper.make_node("Sigmoid", ["c"], ["y"]), "post='sigmoid'"),
        (helper.make_node("Tanh", ["c"], ["y"]), "post='tanh'"),
        (helper.make_node("LeakyRelu", ["c"], ["y"], alpha=0.2), "post='leaky_relu', scalars=(0.2,)"),
        (helper.make_node("Clip", ["c", "lo", "hi"], ["y"]), "post='hardtanh', scalars=(0.0, 6.0)"),
    ],
)
def test_activation_is_a_post_op_of_the_convolution(act, post):
    inits = [init("lo", np.float32(0.0)), init("hi", np.float32(6.0))] if act.op_type == "Clip" else []
    src = source_of(conv_then([act], inits=inits))
    assert "conv2d_onednn(x, W['cw'], W['cb'], (1, 1), (1, 1), (1, 1), 1, " + post + ")" in src
    assert f"y = c  # {act.op_type} applied by " in src


def test_clip_opset_6_bounds_are_attributes():
    src = source_of(conv_then([helper.make_node("Clip", ["c"], ["y"], min=-1.0, max=1.0)], opset=6))
    assert "post='hardtanh', scalars=(-1.0, 1.0)" in src


def test_raw_output_read_elsewhere_or_returned_is_not_fused():
    two_readers = conv_then([helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Add", ["r", "c"], ["y"])])
    returned = conv_then([helper.make_node("Relu", ["c"], ["y"])], outputs=("y", "c"))
    for model in (two_readers, returned):
        src = source_of(model)
        assert "conv2d_onednn(x, W['cw'], W['cb'], (1, 1), (1, 1), (1, 1), 1)" in src
        assert "post='" not in src and "torch.relu(c)" in src


def test_clip_with_a_bound_computed_at_run_time_is_not_fused():
    nodes = [helper.make_node("ReduceMax", ["x"], ["hi"], keepdims=0), helper.make_node("Clip", ["c", "", "hi"], ["y"])]
    src = source_of(conv_then(nodes))
    assert "post='" not in src


def test_what_onednn_cannot_prepack_stays_f_conv2d():
    """Asymmetric pads, float64, and one weight shared by convs on different input sizes."""
    asym = conv_then([helper.make_node("Relu", ["c"], ["y"])], pads=(0, 0, 1, 1))
    src = source_of(asym)
    assert "F.conv2d(" in src and "conv2d_onednn" not in src

    f64 = make_model(  # ORT has no float64 Conv: only the choice is checked
        [helper.make_node("Conv", ["x", "cw"], ["y"], kernel_shape=[1, 1])],
        [vi("x", TensorProto.DOUBLE, [1, 3, 5, 5])], [vi("y", TensorProto.DOUBLE, [1, 2, 5, 5])], [init("cw", w(2, 3, 1, 1).astype(np.float64))],
    )  # fmt: skip
    assert prepacked_conv_weights(Graph.from_model(load_model(f64))) == {}

    shared = make_model(
        [
            helper.make_node("Conv", ["x", "cw"], ["a"], kernel_shape=[1, 1]),
            helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Conv", ["p", "cw"], ["y"], kernel_shape=[1, 1]),
        ],
        [vi("x", shape=[1, 4, 8, 8])], [vi("y", shape=[1, 4, 4, 4])], [init("cw", w(4, 4, 1, 1))],
    )  # fmt: skip
    assert prepacked_conv_weights(Graph.from_model(load_model(shared))) == {}
    generated, _ = compare_with_ort(shared, [[w(1, 4, 8, 8)]])
    assert generated.source.count("F.conv2d(") == 2


def test_without_onednn_the_weights_stay_plain_and_results_agree(monkeypatch):
    """A PyTorch build without oneDNN: as_tensor leaves the weight plain, the helper runs F.conv2d
    and applies the post-op itself."""
    model = conv_then([helper.make_node("Clip", ["c", "lo", "hi"], ["y"])],
                      inits=[init("lo", np.float32(-0.5)), init("hi", np.float32(0.5))])  # fmt: skip
    generated = generate_serial(Graph.from_model(load_model(model)))
    x = w(1, 4, 10, 10)
    packed = generated.load()
    assert type(packed.W["cw"]).__name__ == "OneDNNWeight"
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    plain = generated.load()
    assert isinstance(plain.W["cw"], torch.Tensor)
    a, b = run_module(packed, [x]), run_module(plain, [x])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-5)
    assert float(b[0].max()) <= 0.5 and float(b[0].min()) >= -0.5


def test_node_program_times_the_fused_pair_as_conv_plus_a_rename():
    """The per-node programs (the measured cost model) run the same fused statements."""
    model = conv_then([helper.make_node("Relu", ["c"], ["y"])])
    graph = Graph.from_model(load_model(model))
    prog = node_program(graph)
    ns = dict(prog.namespace)
    x = w(1, 4, 10, 10)
    ns[prog.inputs[0]] = to_torch(x)
    with torch.no_grad():
        exec(prog.prelude, ns)
        for _, code, _ in prog.steps:
            exec(code, ns)
    expected = np.maximum(
        torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(graph.initializers["cw"].copy()),
                                   torch.from_numpy(graph.initializers["cb"].copy()), padding=1).numpy(), 0)  # fmt: skip
    np.testing.assert_allclose(to_numpy(ns["y"]), expected, rtol=1e-4, atol=1e-4)


def test_weights_are_reordered_once_per_thread_count():
    """oneDNN's blocked layout depends on the thread count (a weight reordered at 2 threads ran
    GoogLeNet 2.3x slower at 1): the weight is packed at its first run, once per thread count."""
    model = conv_then([helper.make_node("Relu", ["c"], ["y"])])
    mod = generate_serial(Graph.from_model(load_model(model))).load()
    x = w(1, 4, 10, 10)
    weight = mod.W["cw"]
    assert not weight.packed and weight.plain is not None  # nothing reordered before a run
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run_module(mod, [x])[0]
        assert list(weight.packed) == [1] and weight.packed[1].is_mkldnn and weight.plain is None
        torch.set_num_threads(2)
        two = run_module(mod, [x])[0]
        assert sorted(weight.packed) == [1, 2]  # both kept: a process that alternates does not reorder each run
    finally:
        torch.set_num_threads(old)
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-5)


# -- MatMul with a constant weight: oneDNN's linear, with the bias of the Add after it ------------------


@pytest.fixture
def any_size(monkeypatch):
    """These models are tiny: let oneDNN's linear take them (it pays from 8M multiply-adds)."""
    monkeypatch.setattr(core.codegen, "LINEAR_MIN_MACS", 0)


def linear_model(nodes, x_shape=(2, 5, 16), inits=(), outputs=("y",)):
    return with_output_shapes(make_model(
        nodes, [vi("x", shape=list(x_shape))], [vi(o) for o in outputs],
        [init("mw", w(16, 8)), init("mb", w(8)), *inits],
    ))  # fmt: skip


@pytest.mark.parametrize("bias_first", [True, False])
def test_matmul_with_a_constant_weight_runs_onednn_linear_with_the_bias_fused(bias_first, any_size):
    add = ["mb", "m"] if bias_first else ["m", "mb"]
    model = linear_model([helper.make_node("MatMul", ["x", "mw"], ["m"]), helper.make_node("Add", add, ["y"])])
    src = source_of(model)
    assert "m = linear_onednn(x, W['mw'], W['mb'])" in src
    assert "y = m  # Add applied by " in src
    assert "    'mw': (10, False),\n}" in src


def test_what_onednn_linear_cannot_take_stays_torch_matmul(any_size):
    """The weight as the left operand, a 1-D input, a dynamic input size: torch.matmul; an Add whose
    other operand is not a 1-D bias of the MatMul's width, or a MatMul output read twice: no fusion."""
    two_readers = linear_model(
        [helper.make_node("MatMul", ["x", "mw"], ["m"]), helper.make_node("Add", ["m", "mb"], ["a"]),
         helper.make_node("Mul", ["m", "a"], ["y"])],
    )  # fmt: skip
    src = source_of(two_readers)
    assert "m = linear_onednn(x, W['mw'])" in src and "torch.add(m, W['mb'])" in src
    wide_bias = linear_model(
        [helper.make_node("MatMul", ["x", "mw"], ["m"]), helper.make_node("Add", ["m", "b2"], ["y"])],
        inits=[init("b2", w(5, 8))],
    )
    assert "torch.add(m, W['b2'])" in source_of(wide_bias)
    left = linear_model([helper.make_node("MatMul", ["lw", "x"], ["y"])], x_shape=(16, 3), inits=[init("lw", w(4, 16))])
    assert "torch.matmul(W['lw'], x)" in source_of(left)
    vector = linear_model([helper.make_node("MatMul", ["x", "mw"], ["y"])], x_shape=(16,))
    assert "torch.matmul(x, W['mw'])" in source_of(vector)
    dynamic = with_output_shapes(make_model([helper.make_node("MatMul", ["x", "mw"], ["y"])], [vi("x", shape=["n", 16])],
                                            [vi("y")], [init("mw", w(16, 8))]))  # fmt: skip
    src = generate_serial(Graph.from_model(load_model(dynamic))).source
    assert "torch.matmul(x, W['mw'])" in src and "PREPACKED_LINEAR = {}" in src


def test_linear_weights_plain_without_onednn_and_reordered_per_thread_count(monkeypatch, any_size):
    model = linear_model([helper.make_node("MatMul", ["x", "mw"], ["m"]), helper.make_node("Add", ["mb", "m"], ["y"])])
    generated = generate_serial(Graph.from_model(load_model(model)))
    x = w(2, 5, 16)
    mod = generated.load()
    weight = mod.W["mw"]
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run_module(mod, [x])[0]
        torch.set_num_threads(2)
        two = run_module(mod, [x])[0]
    finally:
        torch.set_num_threads(old)
    assert sorted(weight.packed) == [1, 2] and weight.packed[1].is_mkldnn
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    plain = generated.load()
    assert isinstance(plain.W["mw"], torch.Tensor) and tuple(plain.W["mw"].shape) == (16, 8)
    expected = x @ numpy_weight(model, "mw") + numpy_weight(model, "mb")
    for got in (one, two, run_module(plain, [x])[0]):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def numpy_weight(model, name: str) -> np.ndarray:
    from onnx import numpy_helper

    return next(numpy_helper.to_array(t) for t in model.graph.initializer if t.name == name)


@pytest.mark.parametrize("trans_b, with_c", [(0, True), (1, True), (1, False)])
def test_gemm_with_a_constant_weight_runs_onednn_linear(trans_b, with_c, any_size):
    """ORT's MatMulAddFusion (the CP/DCE pass) turns BERT's MatMul + Add into Gemm(transB=0); torch
    exports Linear as Gemm(transB=1). Both go to oneDNN, with C as the bias."""
    weight = w(16, 8) if not trans_b else w(8, 16)
    inputs = ["x", "gw"] + (["gc"] if with_c else [])
    model = with_output_shapes(make_model(
        [helper.make_node("Gemm", inputs, ["y"], transB=trans_b)], [vi("x", shape=[3, 16])], [vi("y")],
        [init("gw", weight), init("gc", w(8))],
    ))  # fmt: skip
    src = source_of(model)
    assert f"y = linear_onednn(x, W['gw']{', ' + repr('gc').join(['W[', ']']) if with_c else ''})" in src
    assert f"'gw': (3, {bool(trans_b)})," in src


def test_gemm_that_onednn_linear_cannot_take_keeps_its_own_code(any_size):
    scaled = with_output_shapes(make_model(
        [helper.make_node("Gemm", ["x", "gw", "gc"], ["y"], alpha=2.0)], [vi("x", shape=[3, 16])], [vi("y")],
        [init("gw", w(16, 8)), init("gc", w(8))],
    ))  # fmt: skip
    assert "torch.addmm(W['gc'], x, W['gw'], alpha=2.0)" in source_of(scaled)
    full_c = with_output_shapes(make_model(
        [helper.make_node("Gemm", ["x", "gw", "gc"], ["y"])], [vi("x", shape=[3, 16])], [vi("y")],
        [init("gw", w(16, 8)), init("gc", w(3, 8))],
    ))  # fmt: skip
    assert "torch.addmm(W['gc'], x, W['gw'])" in source_of(full_c)


def test_a_small_matmul_stays_with_mkl():
    """Below LINEAR_MIN_MACS oneDNN's fixed cost per call loses (1x64 @ 64x10: 15 against 3 µs)."""
    src = source_of(linear_model([helper.make_node("MatMul", ["x", "mw"], ["y"])]))
    assert "y = torch.matmul(x, W['mw'])" in src and "PREPACKED_LINEAR = {}" in src


@pytest.mark.parametrize("mul_inputs", [["c", "s"], ["s", "c"]])
def test_silu_after_a_convolution_is_one_in_place_pass(mul_inputs):
    """YOLOv5's Conv → Sigmoid → Mul(conv, sigmoid): one in-place F.silu after the conv, both statements renames."""
    src = source_of(conv_then([helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", mul_inputs, ["y"])]))
    assert "post='silu')" in src
    assert "s = c  # Sigmoid applied by " in src and "y = c  # Mul applied by " in src


def test_silu_whose_sigmoid_is_read_elsewhere_is_not_fused(monkeypatch):
    nodes = [helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["m"]),
             helper.make_node("Add", ["m", "s"], ["y"])]  # fmt: skip
    src = source_of(conv_then(nodes))
    assert "post='" not in src and "torch.sigmoid(c)" in src
    model = conv_then([helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])])
    generated = generate_serial(Graph.from_model(load_model(model)))
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    x = w(1, 4, 10, 10)
    x[0, 0, 3, 3] = np.nan
    plain = run_module(generated.load(), [x])[0]
    monkeypatch.undo()
    packed = run_module(generated.load(), [x])[0]
    np.testing.assert_allclose(plain, packed, rtol=1e-5, atol=1e-5)  # the same F.silu with and without oneDNN; NaN kept


def test_relu_after_batch_norm_or_add_runs_in_place_on_the_fresh_result():
    bn_inits = [init(n, np.abs(w(4)) + 0.5) for n in ("s", "b", "m", "v")]
    bn = make_model(
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"]), helper.make_node("Relu", ["n"], ["y"])],
        [vi("x", shape=[1, 4, 5, 5])], [vi("y", shape=[1, 4, 5, 5])], bn_inits,
    )  # fmt: skip
    src = source_of(bn)
    assert "n = torch.relu_(F.batch_norm(x, " in src and "y = n  # Relu applied by " in src
    add = make_model(
        [helper.make_node("Add", ["x", "x2"], ["a"]), helper.make_node("Relu", ["a"], ["y"])],
        [vi("x", shape=[2, 3]), vi("x2", shape=[2, 3])], [vi("y", shape=[2, 3])],
    )  # fmt: skip
    generated, _ = compare_with_ort(add, [[w(2, 3), w(2, 3)]])
    assert "a = torch.relu_(torch.add(x, x2))" in generated.source
    read_twice = make_model(
        [helper.make_node("Add", ["x", "x2"], ["a"]), helper.make_node("Relu", ["a"], ["r"]),
         helper.make_node("Mul", ["a", "r"], ["y"])],
        [vi("x", shape=[2, 3]), vi("x2", shape=[2, 3])], [vi("y", shape=[2, 3])],
    )  # fmt: skip
    generated, _ = compare_with_ort(read_twice, [[w(2, 3), w(2, 3)]])
    assert "a = torch.add(x, x2)" in generated.source and "r = torch.relu(a)" in generated.source
