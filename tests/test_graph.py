"""The dataflow graph: nodes, tensors with bytes, edges, producers/consumers, Constant folding into
initializers, initializers listed as inputs (old exports)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from core.graph import Graph
from core.onnx_io import load_model
from tests.util import init, make_model, vi


def diamond() -> Graph:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="top"),
        helper.make_node("Sigmoid", ["a"], ["b"], name="left"),
        helper.make_node("Tanh", ["a"], ["c"], name="right"),
        helper.make_node("Add", ["b", "c"], ["y"], name="join"),
    ]
    return Graph.from_model(load_model(make_model(nodes, [vi("x", shape=[1, 8])], [vi("y", shape=[1, 8])])))


def test_edges_carry_tensor_shape_dtype_bytes():
    g = diamond()
    edges = {(e.src, e.dst): e for e in g.edges()}
    assert set(edges) == {("top", "left"), ("top", "right"), ("left", "join"), ("right", "join")}
    assert edges["top", "left"].tensor == "a"
    assert edges["top", "left"].nbytes == 8 * 4
    assert g.info("a").shape == (1, 8) and g.info("a").dtype == np.float32


def test_producers_consumers_and_topological_order():
    g = diamond()
    assert g.producer("a").name == "top"
    assert [n.name for n in g.consumers("a")] == ["left", "right"]
    assert g.producer("x") is None
    order = [n.name for n in g.topo_order()]
    assert order.index("top") < order.index("left") < order.index("join")
    assert set(g.dag.predecessors("join")) == {"left", "right"}


def test_constant_nodes_become_initializers_and_unnamed_nodes_get_names():
    nodes = [
        helper.make_node("Constant", [], ["k"], value=helper.make_tensor("v", TensorProto.FLOAT, [2], [1.0, 2.0])),
        helper.make_node("Add", ["x", "k"], ["y"]),
        helper.make_node("Add", ["y", "k"], ["z"]),
    ]
    g = Graph.from_model(load_model(make_model(nodes, [vi("x", shape=[2])], [vi("z", shape=[2])])))
    assert [n.op_type for n in g.nodes] == ["Add", "Add"]
    np.testing.assert_array_equal(g.initializers["k"], [1.0, 2.0])
    assert len({n.name for n in g.nodes}) == 2


def test_initializer_listed_as_graph_input_is_not_an_input():
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [vi("x", shape=[2]), vi("w", shape=[2])],
        [vi("y", shape=[2])],
        [init("w", np.ones(2, np.float32))],
    )
    model.ir_version = 3
    g = Graph.from_model(load_model(model))
    assert g.inputs == ["x"]


def test_since_version_resolved_from_opset():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    for opset, since in [(7, 6), (13, 13), (17, 14), (21, 14)]:
        g = Graph.from_model(load_model(make_model(nodes, [vi("x", shape=[2])], [vi("y", shape=[2])], opset=opset)))
        assert g.nodes[0].since_version == since, opset


def test_summary_helpers():
    g = diamond()
    assert g.op_histogram() == {"Add": 1, "Relu": 1, "Sigmoid": 1, "Tanh": 1}
    assert g.param_count() == 0
