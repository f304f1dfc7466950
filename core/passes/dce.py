"""Dead-code elimination: drop nodes from which no graph output can be reached."""

from __future__ import annotations

import onnx


def live_nodes(nodes: list[onnx.NodeProto], outputs: list[str]) -> list[bool]:
    """For each node (in order), whether some graph output depends on it."""
    needed = set(outputs)
    live = [False] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if any(t in needed for t in node.output if t):
            live[i] = True
            needed.update(t for t in node.input if t)
    return live


def eliminate_dead_code(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """A copy of ``model`` without dead nodes and unused initializers; returns it and the removed nodes."""
    g = model.graph
    nodes = list(g.node)
    live = live_nodes(nodes, [o.name for o in g.output])
    removed = [n.name or n.op_type for n, alive in zip(nodes, live) if not alive]
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(n for n, alive in zip(nodes, live) if alive)
    used = {t for n in out.graph.node for t in n.input} | {o.name for o in g.output}
    keep = [t for t in g.initializer if t.name in used]
    del out.graph.initializer[:]
    out.graph.initializer.extend(keep)
    graph_inputs = [i for i in g.input if i.name not in {t.name for t in g.initializer} or i.name in used]
    del out.graph.input[:]
    out.graph.input.extend(graph_inputs)
    return out, removed
