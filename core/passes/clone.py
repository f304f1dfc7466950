"""Cloning: a cheap node whose output another cluster needs is computed there too.

A node qualifies when recomputing it costs less than handing its output over
(node cost ≤ edge cost) and every input of it is a graph input, a constant, or
the output of another qualifying node — so the copy needs no hand-off itself.
The copy (with the cheap nodes it depends on) goes into each consuming cluster
that lacks it. Added work is bounded by ``budget`` × W; every clone is reported
with the hand-off it saves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.cost import CostModel
from core.graph import Graph, Node


@dataclass(frozen=True)
class Clone:
    original: str
    name: str
    cluster: int
    cost_us: float
    saved_us: float

    @property
    def reason(self) -> str:
        return f"costs {self.cost_us:.0f} µs, saves a {self.saved_us:.0f} µs hand-off"


def cheap_sources(graph: Graph, cost: CostModel) -> set[str]:
    cheap: set[str] = set()
    for n in graph.nodes:
        out_bytes = sum(graph.info(t).nbytes or 0 for t in n.present_outputs)
        if cost.node_us[n.name] > cost.edge_us(out_bytes):
            continue
        producers = [graph.producer(t) for t in n.present_inputs]
        if all(p is None or p.name in cheap for p in producers):
            cheap.add(n.name)
    return cheap


def clone_cheap_nodes(
    graph: Graph, clusters: list[list[str]], cost: CostModel, budget: float = 0.05
) -> tuple[Graph, list[list[str]], CostModel, list[Clone]]:
    """Returns the graph with the clones, the clusters holding them, costs extended to them, the clones."""
    cheap = cheap_sources(graph, cost)
    if not cheap:
        return graph, clusters, cost, []
    cluster_of = {n: i for i, c in enumerate(clusters) for n in c}
    allowance = budget * sum(cost.node_us.values())
    clones: list[Clone] = []
    rename: dict[int, dict[str, str]] = {}  # cluster → original tensor → cloned tensor
    new_nodes: dict[str, list[Node]] = {}  # original node → its clones (placed after it)
    added_to: dict[int, list[str]] = {}

    def clone_into(v: Node, b: int) -> bool:
        nonlocal allowance
        names = rename.setdefault(b, {})
        if all(t in names for t in v.present_outputs):
            return True
        for t in v.present_inputs:  # bring its cheap producers first
            p = graph.producer(t)
            if p is not None and cluster_of[p.name] != b and not clone_into(p, b):
                return False
        us = cost.node_us[v.name]
        if us > allowance:
            return False
        allowance -= us
        out_bytes = sum(graph.info(t).nbytes or 0 for t in v.present_outputs)
        name = f"{v.name}~c{b}"
        copy = dataclasses.replace(
            v,
            name=name,
            inputs=[names.get(t, t) for t in v.inputs],
            outputs=[f"{t}~c{b}" if t else "" for t in v.outputs],
        )
        for t in v.present_outputs:
            names[t] = f"{t}~c{b}"
        new_nodes.setdefault(v.name, []).append(copy)
        added_to.setdefault(b, []).append(name)
        clones.append(Clone(v.name, name, b, us, cost.edge_us(out_bytes)))
        return True

    for n in graph.nodes:
        b = cluster_of[n.name]
        for t in n.present_inputs:
            p = graph.producer(t)
            if p is not None and p.name in cheap and cluster_of[p.name] != b:
                clone_into(p, b)
    if not clones:
        return graph, clusters, cost, []
    # rewire consumers to their cluster's copy
    nodes: list[Node] = []
    for n in graph.nodes:
        names = rename.get(cluster_of[n.name], {})
        nodes.append(dataclasses.replace(n, inputs=[names.get(t, t) for t in n.inputs]) if names else n)
        nodes.extend(new_nodes.get(n.name, []))
    tensors = dict(graph.tensors)
    for copies in new_nodes.values():
        for c in copies:
            for t in c.present_outputs:
                base = t.rsplit("~c", 1)[0]
                tensors[t] = dataclasses.replace(graph.info(base), name=t)
    new_graph = Graph(nodes, tensors, graph.initializers, graph.inputs, graph.outputs, graph.opsets, graph.name)
    # originals (and unused copies) that nobody reads any more are dead now
    while True:
        dead = {n.name for n in nodes if not any(new_graph.consumers(t) for t in n.present_outputs)
                and not any(t in graph.outputs for t in n.present_outputs)}  # fmt: skip
        if not dead:
            break
        nodes = [n for n in nodes if n.name not in dead]
        new_graph = Graph(nodes, tensors, graph.initializers, graph.inputs, graph.outputs, graph.opsets, graph.name)
    kept = {n.name for n in nodes}
    clones = [c for c in clones if c.name in kept]
    order = {n.name: i for i, n in enumerate(nodes)}
    new_clusters = []
    for i, c in enumerate(clusters):
        members = [n for n in c + added_to.get(i, []) if n in order]
        new_clusters.append(sorted(members, key=order.__getitem__))
    node_us = {n.name: cost.node_us.get(n.name, cost.node_us.get(n.name.rsplit("~c", 1)[0], 0.0)) for n in nodes}
    stats = {n.name: cost.stats.get(n.name) or cost.stats[n.name.rsplit("~c", 1)[0]] for n in nodes}
    return new_graph, [c for c in new_clusters if c], dataclasses.replace(cost, node_us=node_us, stats=stats), clones
