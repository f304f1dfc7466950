"""The Ramiel method on hand-built graphs whose optimal clusters and makespans are known by hand.

Costs are fixed (no measurement): every edge costs 5 µs to hand over between workers.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from core.cost import CostModel, MachineProfile, all_stats
from core.graph import Graph
from core.onnx_io import load_model
from core.plan import PlanOptions, analyze, analyze_graph
from tests.util import check_against_ort, init, make_model, vi

EDGE = 5.0
MACHINE = MachineProfile(handoff_latency_us=EDGE, copy_gbps=float("inf"))


def build(edges: dict[str, list[str]], outputs: list[str]) -> Graph:
    """Nodes named by letters; ``edges[n]`` lists n's producers (none: reads the input x)."""
    nodes = []
    for n, preds in edges.items():
        ins = preds or ["x"]
        op = "Relu" if len(ins) == 1 else "Add" if len(ins) == 2 else "Sum"
        nodes.append(helper.make_node(op, ins, [n], name=n))
    model = make_model(nodes, [vi("x", shape=[1, 4])], [vi(o, shape=[1, 4]) for o in outputs])
    return Graph.from_model(load_model(model))


def fixed_cost(graph: Graph, costs: dict[str, float]) -> CostModel:
    return CostModel(dict(costs), all_stats(graph), MACHINE, "fixed (test)")


def plan_for(edges, outputs, costs, **opts):
    g = build(edges, outputs)
    return analyze_graph(g, fixed_cost(g, costs), PlanOptions(**opts))


def test_diamond():
    p = plan_for({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}, ["d"], {"a": 10, "b": 20, "c": 30, "d": 10})
    assert p.linear == [["a", "c", "d"], ["b"]]
    assert p.clusters == [["a", "c", "d"], ["b"]]
    assert (p.cp.work, p.cp.length, p.cp.path) == (70, 50, ["a", "c", "d"])
    assert p.schedule.start == {"a": 0, "c": 10, "b": 15, "d": 40}
    assert p.makespan_us == 50
    assert p.predicted_speedup == pytest.approx(1.4)
    assert p.decision.parallel
    assert p.cp.slack == {"a": 0, "b": 10, "c": 0, "d": 0}
    assert [n for n in "abcd" if p.cp.on_path(n)] == ["a", "c", "d"]
    assert p.cp.lower_bound(2) == 50 and p.cp.ideal_speedup(2) == pytest.approx(1.4)


def test_fork_of_unequal_branches_runs_sequentially():
    p = plan_for({"a": [], "b": ["a"], "c": ["a"]}, ["b", "c"], {"a": 10, "b": 100, "c": 10})
    assert p.linear == [["a", "b"], ["c"]]
    assert p.makespan_us == 110  # c runs on the other worker from 15 to 25
    assert p.schedule.start["c"] == 15
    assert p.predicted_speedup == pytest.approx(120 / 110)
    assert not p.decision.parallel
    assert "threshold" in p.decision.reason


def test_chain_is_one_cluster():
    p = plan_for({"a": [], "b": ["a"], "c": ["b"]}, ["c"], {"a": 1, "b": 2, "c": 3})
    assert p.linear == [["a", "b", "c"]] and p.clusters == [["a", "b", "c"]]
    assert p.makespan_us == 6 and p.cp.parallelism == 1.0
    assert not p.decision.parallel


def test_span_merging_joins_clusters_that_do_not_overlap():
    # a → (b, c) → e; c → d is a short side path that ends before b's long path does
    edges = {"a": [], "b": ["a"], "c": ["a"], "d": ["c"], "e": ["b", "d"], "f": ["a"]}
    costs = {"a": 10, "b": 200, "c": 20, "d": 20, "e": 10, "f": 5}
    p = plan_for(edges, ["e", "f"], costs, workers=4)
    assert p.linear == [["a", "b", "e"], ["c", "d"], ["f"]]
    # c,d span [15, 55]; f spans [15, 20] — they overlap, so three lanes stay after span merging,
    # then merging f into c,d's cluster is free (d's slack absorbs it)
    assert len(p.spans) == 3
    assert p.clusters == [["a", "b", "e"], ["c", "f", "d"]] or p.clusters == [["a", "b", "e"], ["f", "c", "d"]]
    assert p.makespan_us == 220


def test_merging_toggle_keeps_linear_clusters():
    edges = {"a": [], "b": ["a"], "c": ["a"], "d": ["c"], "e": ["b", "d"], "f": ["a"]}
    costs = {"a": 10, "b": 200, "c": 20, "d": 20, "e": 10, "f": 5}
    p = plan_for(edges, ["e", "f"], costs, workers=2, merging=False)
    assert p.clusters == p.linear and len(p.clusters) == 3
    assert max(p.cluster_worker) <= 1


def test_hyperclusters_for_batch_2():
    from core.passes.hypercluster import hypercluster

    p = plan_for({"a": [], "b": ["a"], "c": ["a"]}, ["b", "c"], {"a": 10, "b": 100, "c": 20})
    h = hypercluster(p, 2)
    assert h.makespans == {"plain": 220, "switched": 145, "samples": 130}
    assert h.variant == "samples" and h.serial_us == 260
    assert h.predicted_speedup == pytest.approx(2.0)


def test_cloning_copies_a_cheap_shared_node_into_the_other_cluster():
    # s is a cheap node on the input that both long branches read
    edges = {"s": [], "b": ["s"], "c": ["s"], "d": ["b", "c"]}
    costs = {"s": 1, "b": 100, "c": 100, "d": 1}
    p = plan_for(edges, ["d"], costs)
    assert [c.original for c in p.clones] == ["s"]
    assert p.clones[0].name in p.clusters[1]
    # the clone removes the hand-off: the second branch starts at 1, not at 1 + 5
    assert p.makespan_us == 1 + 100 + EDGE + 1
    p_off = plan_for(edges, ["d"], costs, cloning=False)
    assert not p_off.clones
    assert p_off.makespan_us == 1 + EDGE + 100 + EDGE + 1


def test_dead_branch_and_constant_subgraph_are_removed():
    nodes = [
        helper.make_node("Add", ["k1", "k2"], ["k3"], name="const_add"),
        helper.make_node("Mul", ["x", "k3"], ["m"], name="use_const"),
        helper.make_node("Relu", ["m"], ["y"], name="live"),
        helper.make_node("Sigmoid", ["x"], ["dead1"], name="dead_sigmoid"),
        helper.make_node("Tanh", ["dead1"], ["dead2"], name="dead_tanh"),
    ]
    k = np.ones((1, 4), np.float32)
    model = make_model(nodes, [vi("x", shape=[1, 4])], [vi("y", shape=[1, 4])], [init("k1", k), init("k2", 2 * k)])
    p = analyze(load_model(model), PlanOptions(cost="analytic"))
    assert {n.name for n in p.graph.nodes} == {"use_const", "live"}
    assert p.fold is not None and p.fold.removed_ops.get("Add") == 1
    assert sorted(p.dead) == ["dead_sigmoid", "dead_tanh"]
    p_off = analyze(load_model(model), PlanOptions(cost="analytic", cp_dce=False))
    assert len(p_off.graph.nodes) == 5 and p_off.fold is None
    check_against_ort(model)
