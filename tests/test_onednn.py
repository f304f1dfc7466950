"""Convolutions run by oneDNN with weights reordered at load, and activations fused into them.

The generated code calls ``conv2d_onednn`` for a float32 2-D Conv whose weight serves one
convolution on a static input size; an activation that is the conv's only reader becomes a
oneDNN post-op and its own statement a rename. Everything is checked against ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

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
