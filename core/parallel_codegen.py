"""Parallel code generation: one function per worker program, waits and sends written out.

Each function is the cluster (or, without merging, the clusters) that one worker
runs, node by node in the simulated schedule's order. ``X`` is the exchange the
runtime hands in: ``X.input(name)`` is a graph input in shared memory,
``X.wait(name)`` blocks until another worker has sent a tensor, ``X.send(name, t)``
copies ``t`` into shared memory and wakes the workers that need it,
``X.output(name, t)`` writes a graph output. Because every worker follows one
global topological order, no set of waits can deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.codegen import GeneratedModule, ModuleWriter, comment_text, write_whole
from core.errors import EmitError
from core.plan import Plan


@dataclass(frozen=True)
class CrossTensor:
    """A tensor that one worker produces and others read."""

    name: str
    producer: int
    consumers: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass
class ParallelModule(GeneratedModule):
    workers: int = 1
    functions: dict[int, str] = field(default_factory=dict)  # worker → function name
    cross: list[CrossTensor] = field(default_factory=list)
    worker_weights: dict[int, list[str]] = field(default_factory=dict)
    worker_inputs: dict[int, list[str]] = field(default_factory=dict)
    output_worker: dict[str, int | None] = field(default_factory=dict)  # None: an input or a constant
    clusters_of_worker: dict[int, list[int]] = field(default_factory=dict)
    channels_last: bool = False  # the code keeps 4-D activations in channels-last memory
    backend: str = "torch"  # "torch": generated torch code; "ort": ONNX subgraphs run by onnxruntime
    segments: dict[str, bytes] = field(default_factory=dict)  # ort backend: segment name → ONNX model

    def write(self, out_dir: str | Path, module_name: str) -> Path:
        """The module, plus its weights file (torch) or its folder of segment models (ort)."""
        if self.backend != "ort":
            return super().write(out_dir, module_name)
        out = Path(out_dir)
        seg_dir = out / f"{module_name}_segments"
        path = out / f"{module_name}.py"
        try:
            seg_dir.mkdir(parents=True, exist_ok=True)
            for name, blob in self.segments.items():
                write_whole(seg_dir / f"{name}.onnx", lambda f, blob=blob: f.write(blob))
            source = self.source.replace("@SEGMENTS_DIR@", seg_dir.name).encode()
            write_whole(path, lambda f: f.write(source))
        except OSError as exc:
            raise EmitError(f"cannot write the generated code to {out}: {exc.strerror or exc}") from None
        return path


def execution_order(plan: Plan) -> list[str]:
    """All nodes by simulated start time; ties keep the graph's (topological) order."""
    index = {n.name: i for i, n in enumerate(plan.graph.nodes)}
    return sorted(index, key=lambda n: (plan.schedule.start[n], index[n]))


def _static(shape) -> tuple[int, ...]:
    if shape is None or not all(isinstance(d, int) and d >= 0 for d in shape):
        return ()
    return tuple(shape)


def cluster_of_nodes(plan: Plan) -> dict[str, int]:
    return {n: i for i, c in enumerate(plan.clusters) for n in c}


def worker_of_nodes(plan: Plan) -> dict[str, int]:
    return {n: plan.cluster_worker[c] for n, c in cluster_of_nodes(plan).items()}


def clusters_by_worker(plan: Plan) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for i, wk in enumerate(plan.cluster_worker):
        out.setdefault(wk, []).append(i)
    return out


def function_name(worker: int, clusters: list[int]) -> str:
    """A worker's function: named after its cluster when it runs just one."""
    return f"cluster_{clusters[0]}" if len(clusters) == 1 else f"worker_{worker}"


def output_workers(plan: Plan) -> dict[str, int | None]:
    """Graph output → the worker that produces it (None: an input or a constant)."""
    worker_of = worker_of_nodes(plan)
    g = plan.graph
    return {t: (None if g.producer(t) is None else worker_of[g.producer(t).name]) for t in g.outputs}


def worker_nodes(plan: Plan, order: list[str]) -> list[list]:
    """Each worker's nodes in execution order."""
    worker_of = worker_of_nodes(plan)
    out: list[list] = [[] for _ in range(max(plan.cluster_worker, default=0) + 1)]
    for n in order:
        out[worker_of[n]].append(plan.graph.node_by_name[n])
    return out


def cross_tensors(plan: Plan, order: list[str]) -> dict[str, CrossTensor]:
    """Tensors produced on one worker and read on another, in the order they are first needed."""
    g = plan.graph
    worker_of = worker_of_nodes(plan)
    cross: dict[str, CrossTensor] = {}
    for name in order:
        node = g.node_by_name[name]
        for t in node.present_inputs:
            p = g.producer(t)
            pw = None if p is None else worker_of[p.name]
            if pw is not None and pw != worker_of[name]:
                info = g.info(t)
                old = cross.get(t)
                consumers = tuple(sorted(set(old.consumers if old else ()) | {worker_of[name]}))
                cross[t] = CrossTensor(
                    t, pw, consumers, _static(info.shape), np.dtype(info.dtype or np.float32).name, info.nbytes or 0
                )
    return cross


def generate_parallel(
    plan: Plan, *, source_model: str = "", layout: str = "channels_last", backend: str = "torch", cores: int = 1
) -> ParallelModule:
    """``cores``: with the ort backend, segments on the critical path while the other workers idle
    get that many intra-op threads (a hybrid plan); 1 keeps every segment on one thread."""
    if backend == "ort":
        from core.ort_codegen import generate_parallel_ort

        return generate_parallel_ort(plan, source_model=source_model, cores=cores)
    g = plan.graph
    w = ModuleWriter(g, layout)
    worker_of = worker_of_nodes(plan)
    cluster_of = cluster_of_nodes(plan)
    workers = max(plan.cluster_worker, default=0) + 1
    order = execution_order(plan)
    cross = cross_tensors(plan, order)

    functions: dict[int, str] = {}
    clusters_of_worker = clusters_by_worker(plan)
    bodies: list[str] = []
    worker_weights: dict[int, list[str]] = {}
    worker_inputs: dict[int, list[str]] = {}
    for wk in range(workers):
        nodes = [g.node_by_name[n] for n in order if worker_of[n] == wk]
        before: dict[str, list[str]] = {}
        after: dict[str, list[str]] = {}
        have: set[str] = set()
        inputs: list[str] = []
        current_cluster = None
        multi = len(clusters_of_worker.get(wk, [])) > 1
        for node in nodes:
            pre: list[str] = []
            if multi and cluster_of[node.name] != current_cluster:
                current_cluster = cluster_of[node.name]
                pre.append(f"X.mark({current_cluster})  # -- cluster {current_cluster} starts --")
            for t in node.present_inputs:
                if t in have:
                    continue
                if t in g.inputs:
                    pre.append(f"{w.namer(t)} = X.input({t!r})  # graph input, in shared memory")
                    if w.input_layout(t):
                        pre.append(w.input_layout(t))
                    inputs.append(t)
                    have.add(t)
                elif t in cross:
                    src = g.producer(t)
                    pre.append(
                        f"{w.namer(t)} = X.wait({t!r})  # wait for worker {cross[t].producer} ({comment_text(src.name)})"
                    )
                    have.add(t)
            before[node.name] = pre
            post: list[str] = []
            for t in node.present_outputs:
                if t in cross:
                    to = ", ".join(str(c) for c in cross[t].consumers)
                    post.append(f"X.send({t!r}, {w.namer(t)})  # to worker {to}, {cross[t].nbytes:,} bytes")
                if t in g.outputs:
                    post.append(f"X.output({t!r}, {w.namer(t)})  # graph output")
            after[node.name] = post
            have.update(node.present_outputs)
        lines, _ = w.body(nodes, keep=set(), before=before, after=after)
        worker_weights[wk] = sorted({t for n in nodes for t in n.present_inputs if t in g.initializers})
        worker_inputs[wk] = inputs
        cl = clusters_of_worker.get(wk, [])
        fname = function_name(wk, cl)
        functions[wk] = fname
        work = sum(plan.cost.node_us[n.name] for n in nodes)
        if nodes:
            span = f"simulated {plan.schedule.start[nodes[0].name] / 1e3:.2f}–{max(plan.schedule.end[n.name] for n in nodes) / 1e3:.2f} ms"
        else:
            span = "no nodes"
        doc = (f"Worker {wk}: cluster{'s' if len(cl) != 1 else ''} {', '.join(map(str, cl)) or '-'}; "
               f"{len(nodes)} nodes, {work / 1e3:.2f} ms of predicted work, {span}.")  # fmt: skip
        bodies += ["", "", "@torch.no_grad()", f"def {fname}(W, X):", f'    """{doc}"""']
        bodies += ["    " + ln for ln in lines] or ["    pass"]

    # the same nodes on one worker, for the serial run
    params = [w.namer(t) for t in g.inputs]
    serial_lines, spans = w.body([g.node_by_name[n] for n in order], keep=set(g.outputs))
    returns = [w.expr(t) for t in g.outputs]

    doc = (
        f"{comment_text(g.name)}: generated by Ramiel TUI from {comment_text(Path(source_model).name or 'a model')}"
        f" (parallel plan, {workers} worker{'s' if workers != 1 else ''}).\n\n"
        "Each worker runs one function below on a persistent process (runtime.ParallelSession);\n"
        "X.wait / X.send hand tensors between workers through shared memory. run_serial computes\n"
        "the same nodes in one process. Weights: the .safetensors file beside this one."
    )
    exchange = ["", "# Hand-offs between workers: tensor: producer worker -> consumer workers (bytes)"]
    exchange += [
        f"#   {comment_text(c.name)}: {c.producer} -> {', '.join(map(str, c.consumers))} ({c.nbytes:,})"
        for c in cross.values()
    ]
    if not cross:
        exchange.append("#   none")
    lines = w.module_header(doc, source_model, exchange)
    lines += bodies
    lines += ["", ""]
    lines.append(f"WORKER_FUNCTIONS = {{{', '.join(f'{k}: {v}' for k, v in functions.items())}}}")
    doc = "All nodes in the parallel plan's order, in this process; returns the graph outputs."
    node_lines = w.serial_entry(lines, params, serial_lines, spans, returns, doc)
    return ParallelModule(
        source="\n".join(lines) + "\n",
        weights=dict(w.weights_used),
        input_names=list(g.inputs),
        output_names=list(g.outputs),
        fallback_nodes=w.fallback_nodes,
        node_lines=node_lines,
        workers=workers,
        functions=functions,
        cross=list(cross.values()),
        worker_weights=worker_weights,
        worker_inputs=worker_inputs,
        output_worker=output_workers(plan),
        clusters_of_worker=clusters_of_worker,
        channels_last=bool(w.channels_last),
    )
