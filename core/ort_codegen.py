"""The ONNX Runtime backend: each worker's clusters as ONNX subgraphs run by ``onnxruntime``.

The plan, the exchange (``X.input`` / ``X.wait`` / ``X.send`` / ``X.output``) and the
worker functions are the same as the torch backend's; only the compute differs. A
worker's nodes, in the schedule's order, are cut into *segments* wherever the worker
must wait for a tensor from another worker or send one: each segment is a small ONNX
model (its nodes, only the weights they read, its inputs and outputs) that one
``onnxruntime.InferenceSession`` runs with ORT's own kernels and fusions. So kernel
speed is ONNX Runtime's, and the schedule is Ramiel's.

The module imports numpy and onnxruntime only (no torch): a worker process stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import onnx
from onnx import helper, numpy_helper

from core.codegen import RANDOM_INPUTS_SRC, Namer, comment_text, docstring
from core.graph import Graph, Node
from core.parallel_codegen import (
    ParallelModule,
    cluster_of_nodes,
    clusters_by_worker,
    cross_tensors,
    execution_order,
    function_name,
    output_workers,
    worker_nodes,
)
from core.plan import Plan

SERIAL_SEGMENT = "all"


@dataclass
class Segment:
    name: str
    worker: int
    nodes: list[Node]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def has_subgraphs(graph: Graph) -> bool:
    """Control-flow nodes (If/Loop/Scan) read outer-scope tensors the cutting does not track."""
    return any(
        a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
        for n in graph.nodes
        for a in n.proto.attribute
    )


def node_proto(node: Node) -> onnx.NodeProto:
    """The node's proto with the graph's current names (clones rename their outputs)."""
    p = onnx.NodeProto()
    p.CopyFrom(node.proto)
    p.name = node.name
    del p.input[:], p.output[:]
    p.input.extend(node.inputs)
    p.output.extend(node.outputs)
    return p


def segment_model(graph: Graph, nodes: list[Node], inputs: list[str], outputs: list[str], name: str) -> onnx.ModelProto:
    """A standalone ONNX model of ``nodes`` with the weights they read."""
    inside = {t for n in nodes for t in n.present_inputs}
    inits = [numpy_helper.from_array(graph.initializers[t], t) for t in sorted(inside) if t in graph.initializers]

    def vi(t: str) -> onnx.ValueInfoProto:
        info = graph.info(t)
        return helper.make_tensor_value_info(t, info.elem_type, list(info.shape) if info.shape is not None else None)

    g = helper.make_graph(
        [node_proto(n) for n in nodes], name, [vi(t) for t in inputs], [vi(t) for t in outputs], inits
    )
    opsets = [helper.make_opsetid(d, v) for d, v in graph.opsets.items()]
    model = helper.make_model(g, opset_imports=opsets, producer_name="ramiel-tui")
    model.ir_version = helper.find_min_ir_version_for(opsets, ignore_unknown=True)
    return model


def cut_segments(
    graph: Graph,
    wk: int,
    nodes: list[Node],
    cross: dict,
    cluster_of: dict[str, int] | None = None,
    schedule=None,
    slack_us: float = 1000.0,
) -> tuple[list[tuple], list[Segment]]:
    """One worker's program: steps ("input"|"wait"|"run"|"send"|"output"|"mark", tensor, segment or cluster).

    A segment ends where the worker must wait for a tensor, and where it sends one that another
    worker needs soon. With ``schedule`` (the simulated one), a send whose first reader starts more
    than ``slack_us`` later is deferred to the end of the segment (unless the segment would run past
    that reader's start): fewer, longer segments keep ONNX Runtime's fusions and blocked layouts.
    With ``cluster_of`` (a worker running several clusters), a segment also ends where a cluster
    does, so that each cluster's start is marked."""
    steps: list[tuple] = []
    segments: list[Segment] = []
    have: set[str] = set()
    current: list[Node] = []
    deferred: list[str] = []  # tensors leaving this worker at the end of the current segment
    deadline = float("inf")  # the simulated time by which the deferred tensors are needed

    def close() -> None:
        nonlocal deadline
        if current:
            seg = Segment(f"w{wk}_s{len(segments)}", wk, list(current))
            segments.append(seg)
            steps.append(("run", seg))
            current.clear()
        for t in deferred:
            if t in cross:
                steps.append(("send", t))
            if t in graph.outputs:
                steps.append(("output", t))
        deferred.clear()
        deadline = float("inf")

    def needed_at(t: str) -> float:
        if schedule is None or t not in cross:
            return float("-inf")  # graph outputs go out at once only when no schedule is known
        return min((schedule.start[c.name] for c in graph.consumers(t) if c.name in schedule.start), default=0.0)

    current_cluster = None
    for node in nodes:
        if cluster_of is not None and cluster_of[node.name] != current_cluster:
            close()
            current_cluster = cluster_of[node.name]
            steps.append(("mark", current_cluster))
        for t in node.present_inputs:
            if t in have or t in graph.initializers:
                continue
            if t in graph.inputs:
                steps.insert(0, ("input", t))  # graph inputs are in shared memory before the run starts
                have.add(t)
            elif t in cross:
                close()
                steps.append(("wait", t))
                have.add(t)
        if schedule is not None and current and schedule.end[node.name] > deadline:
            close()  # running this node first would make a deferred tensor late
        current.append(node)
        have.update(node.present_outputs)
        leaving = [t for t in node.present_outputs if t in cross or t in graph.outputs]
        if leaving:
            deferred += leaving
            soon = min(needed_at(t) for t in leaving)
            if schedule is None or soon - schedule.end[node.name] < slack_us:
                close()
            else:
                deadline = min(deadline, soon - slack_us / 2)
    close()
    # inputs and outputs of each segment
    later_reads: dict[int, set[str]] = {}
    reads_after: set[str] = set()
    for i in range(len(segments) - 1, -1, -1):
        later_reads[i] = set(reads_after)
        reads_after |= {t for n in segments[i].nodes for t in n.present_inputs}
    for i, seg in enumerate(segments):
        made = {t for n in seg.nodes for t in n.present_outputs}
        seen: set[str] = set()
        for n in seg.nodes:
            for t in n.present_inputs:
                if t not in made and t not in graph.initializers and t not in seen:
                    seg.inputs.append(t)
                    seen.add(t)
        seg.outputs = [t for n in seg.nodes for t in n.present_outputs
                       if t in later_reads[i] or t in cross or t in graph.outputs]  # fmt: skip
    return steps, segments


HEADER_SRC = '''
import os
import sys

import numpy as np
import onnxruntime


def session_options(threads, alone=False):
    """``alone``: the whole graph in one session (nothing else runs beside it)."""
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    if not alone:
        # Many small sessions per worker: one memory arena for all of them (a per-session arena would
        # keep each segment's peak activations reserved; none at all makes the heap breathe by 10-20 %)
        _shared_arena()
        so.add_session_config_entry("session.use_env_allocators", "1")
        if threads > 1:  # a thread that waits must not burn a core another worker computes on
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


_ARENA = []


def _shared_arena():
    if not _ARENA:
        info = onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                         onnxruntime.OrtMemType.DEFAULT)
        try:
            onnxruntime.create_and_register_allocator(info, onnxruntime.OrtArenaCfg(0, -1, -1, -1))
        except Exception:  # already registered in this process
            pass
        _ARENA.append(info)


class Segment:
    """One ONNX subgraph (a file in SEGMENTS_DIR) in an onnxruntime session: call it with its
    inputs in order, get its outputs in order."""

    def __init__(self, name, threads=1):
        self.name = name
        self.inputs, self.outputs = SEGMENTS[name]
        threads = max(threads, SEGMENT_THREADS.get(name, 1))
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), SEGMENTS_DIR, name + ".onnx")
        so = session_options(threads, alone=name == "all")
        self.session = onnxruntime.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def __call__(self, *inputs):
        return self.session.run(self.outputs, dict(zip(self.inputs, inputs)))


def load_weights(path=None, names=None, threads=1):
    """The sessions of the named segments (every worker segment when None), each holding
    only its own weights. ``path`` is unused (the segments sit beside this file)."""
    names = [n for n in SEGMENTS if n != "all"] if names is None else list(names)
    return {name: Segment(name, threads) for name in names}
'''

MAIN_SRC = (
    RANDOM_INPUTS_SRC
    + '''

def run_serial(S, *inputs):
    """The whole (optimised) graph in one onnxruntime session: the serial baseline."""
    return S["all"](*inputs)


def main(argv=None):
    """Run the whole graph in one onnxruntime session on random inputs (and compare with ONNX Runtime)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", metavar="MODEL.onnx", nargs="?", const=SOURCE_MODEL,
                        help="also run ONNX Runtime on the source model and print the max abs difference")
    args = parser.parse_args(argv)
    feeds = random_inputs(args.seed)
    outputs = run_serial(load_weights(names=["all"]), *feeds)
    reference = None
    if args.check:
        session = onnxruntime.InferenceSession(args.check, providers=["CPUExecutionProvider"])
        reference = session.run(None, dict(zip(INPUTS, feeds)))
    for i, (name, value) in enumerate(zip(OUTPUTS, outputs)):
        line = f"{name}: {value.dtype}{list(value.shape)}"
        if reference is not None:
            diff = np.abs(value.astype(np.float64) - reference[i].astype(np.float64)).max() if value.size else 0.0
            line += f" max_abs_diff_vs_onnxruntime={diff:.3g}"
        print(line)


if __name__ == "__main__":
    main()
'''
)


def hybrid_threads(plan: Plan, segments: list[Segment], cores: int, min_us: float = 500.0) -> dict[str, int]:
    """Inter × intra-op: a segment that, in the simulated schedule, runs while every other worker is
    idle (waiting for it: the critical path) gets every core; the others keep one thread each."""
    if cores <= 1:
        return {}
    sched = plan.schedule
    busy: dict[int, list[tuple[float, float]]] = {}
    for seg in segments:
        busy.setdefault(seg.worker, []).extend((sched.start[n.name], sched.end[n.name]) for n in seg.nodes)
    out = {}
    for seg in segments:
        a = min(sched.start[n.name] for n in seg.nodes)
        b = max(sched.end[n.name] for n in seg.nodes)
        if b - a < min_us:
            continue
        overlap = sum(max(0.0, min(b, e) - max(a, s)) for w, iv in busy.items() if w != seg.worker for s, e in iv)
        if overlap < 0.25 * (b - a):
            out[seg.name] = cores
    return out


def generate_parallel_ort(plan: Plan, *, source_model: str = "", cores: int = 1) -> ParallelModule:
    g = plan.graph
    if has_subgraphs(g):
        from core.errors import UnsupportedOpError

        raise UnsupportedOpError("the onnxruntime backend cannot cut graphs with control flow (If/Loop/Scan) yet")
    namer = Namer(reserved={"S", "X", "Segment", "SEGMENTS", "SEGMENTS_DIR", "session_options", "onnxruntime"})
    order = execution_order(plan)
    cross = cross_tensors(plan, order)
    per_worker = worker_nodes(plan, order)
    workers = len(per_worker)
    segments: dict[str, Segment] = {}
    bodies: list[str] = []
    functions: dict[int, str] = {}
    worker_weights: dict[int, list[str]] = {}
    worker_inputs: dict[int, list[str]] = {}
    clusters_of_worker = clusters_by_worker(plan)
    cluster_of = cluster_of_nodes(plan)
    for wk in range(workers):
        multi = len(clusters_of_worker.get(wk, [])) > 1
        steps, segs = cut_segments(g, wk, per_worker[wk], cross, cluster_of if multi else None, plan.schedule)
        segments.update((s.name, s) for s in segs)
        lines: list[str] = []
        for kind, item in steps:
            if kind == "input":
                lines.append(f"{namer(item)} = X.input({item!r})  # graph input, in shared memory")
            elif kind == "wait":
                src = g.producer(item)
                lines.append(
                    f"{namer(item)} = X.wait({item!r})  # wait for worker {cross[item].producer} ({comment_text(src.name)})"
                )
            elif kind == "send":
                to = ", ".join(str(c) for c in cross[item].consumers)
                lines.append(f"X.send({item!r}, {namer(item)})  # to worker {to}, {cross[item].nbytes:,} bytes")
            elif kind == "mark":
                lines.append(f"X.mark({item})  # -- cluster {item} starts --")
            elif kind == "output":
                lines.append(f"X.output({item!r}, {namer(item)})  # graph output")
            else:
                seg: Segment = item
                ops = ", ".join(sorted({n.op_type for n in seg.nodes}))
                first, last = comment_text(seg.nodes[0].name), comment_text(seg.nodes[-1].name)
                span = first if len(seg.nodes) == 1 else f"{first} … {last}"
                lines.append(f"# {seg.name}: {len(seg.nodes)} node{'s' if len(seg.nodes) != 1 else ''} ({span}; {ops})")
                outs = ", ".join(namer(t) for t in seg.outputs)
                call = f"S[{seg.name!r}]({', '.join(namer(t) for t in seg.inputs)})"
                if not seg.outputs:
                    lines.append(call)
                elif len(seg.outputs) == 1:
                    lines.append(f"{outs}, = {call}")
                else:
                    lines.append(f"{outs} = {call}")
        cl = clusters_of_worker.get(wk, [])
        fname = function_name(wk, cl)
        functions[wk] = fname
        worker_weights[wk] = [s.name for s in segs]  # a worker loads the sessions of its own segments
        worker_inputs[wk] = [t for k, t in steps if k == "input"]
        nodes = per_worker[wk]
        work = sum(plan.cost.node_us[n.name] for n in nodes)
        doc = (f"Worker {wk}: cluster{'s' if len(cl) != 1 else ''} {', '.join(map(str, cl)) or '-'}; {len(nodes)} nodes "
               f"in {len(segs)} onnxruntime segment{'s' if len(segs) != 1 else ''}, {work / 1e3:.2f} ms of predicted work.")  # fmt: skip
        bodies += ["", "", f"def {fname}(S, X):", f'    """{doc}"""']
        bodies += ["    " + ln for ln in lines] or ["    pass"]

    threads = hybrid_threads(plan, list(segments.values()), cores) if workers > 1 else {}
    whole = Segment(SERIAL_SEGMENT, -1, [g.node_by_name[n] for n in order], list(g.inputs), list(g.outputs))
    models = {s.name: segment_model(g, s.nodes, s.inputs, s.outputs, s.name) for s in [*segments.values(), whole]}
    doc = (
        f"{comment_text(g.name)}: generated by Ramiel TUI from {comment_text(Path(source_model).name or 'a model')}"
        f" (parallel plan, {workers} worker{'s' if workers != 1 else ''}, onnxruntime backend).\n\n"
        "Each worker runs one function below on a persistent process (runtime.ParallelSession).\n"
        "S[name](...) runs one ONNX subgraph of the plan (SEGMENTS_DIR/name.onnx) in onnxruntime;\n"
        "X.wait / X.send hand tensors between workers through shared memory."
    )
    out = [docstring(doc)]
    out += HEADER_SRC.splitlines()
    out += ["", 'SEGMENTS_DIR = "@SEGMENTS_DIR@"', f"SOURCE_MODEL = {str(source_model)!r}"]
    out.append("INPUTS = {  # name: (shape, dtype)")
    out += [f"    {t!r}: ({list(g.info(t).shape)!r}, {str(g.info(t).dtype)!r})," for t in g.inputs]
    out += ["}", f"OUTPUTS = {list(g.outputs)!r}", "SEGMENTS = {  # name: (inputs, outputs)"]
    out += [f"    {name!r}: ({s.inputs!r}, {s.outputs!r})," for name, s in [*segments.items(), (whole.name, whole)]]
    out.append("}")
    out.append(
        "SEGMENT_THREADS = {  # segments that run while the other workers are idle: every core (inter x intra-op)"
    )
    out += [f"    {k!r}: {v}," for k, v in threads.items()]
    out.append("}")
    out += ["", "# Hand-offs between workers: tensor: producer worker -> consumer workers (bytes)"]
    out += [
        f"#   {comment_text(c.name)}: {c.producer} -> {', '.join(map(str, c.consumers))} ({c.nbytes:,})"
        for c in cross.values()
    ]
    if not cross:
        out.append("#   none")
    out += bodies
    out += ["", "", f"WORKER_FUNCTIONS = {{{', '.join(f'{k}: {v}' for k, v in functions.items())}}}"]
    out += MAIN_SRC.splitlines()
    return ParallelModule(
        source="\n".join(out) + "\n",
        weights={},
        input_names=list(g.inputs),
        output_names=list(g.outputs),
        workers=workers,
        functions=functions,
        cross=list(cross.values()),
        worker_weights=worker_weights,
        worker_inputs=worker_inputs,
        output_worker=output_workers(plan),
        clusters_of_worker=clusters_of_worker,
        channels_last=False,
        backend="ort",
        segments={k: m.SerializeToString() for k, m in models.items()},
    )
