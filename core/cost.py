"""Cost model: per-node FLOPs, parameters, activation bytes and cost in µs; edge costs.

Sources, best first:

* ``measured``: each node of the generated code timed alone on this machine, at the
  worker's thread count (median of several runs), cached per generated code + machine;
* ``analytic``: FLOPs and bytes moved, at rates calibrated once on this machine
  (a convolution, a large element-wise op, a tiny op), cached per machine.

Edge cost = the measured hand-off between two worker processes (signal latency +
shared-memory copy at the measured bandwidth) — ``runtime.calibrate`` measures it
and stores it in the machine profile; until then documented defaults are used and
the profile says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.graph import Graph, Node

if TYPE_CHECKING:
    import onnx
from core.schedule import DagCosts

# What MEASUREMENTS.md found on the 2-core reference machine: used only until measured here.
DEFAULT_HANDOFF_LATENCY_US = 45.0
DEFAULT_COPY_GBPS = 24.0


def cache_dir() -> Path:
    base = os.environ.get("RAMIEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ramiel")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cpu_budget() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_id() -> str:
    """CPU model + core count + torch version: what makes timings comparable."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    raw = f"{model}|{os.cpu_count()}|torch {torch.__version__}"
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


@dataclass
class MachineProfile:
    """Rates of this machine; ``sources`` says which figures were measured."""

    conv_gflops: float = 30.0
    memory_gbps: float = 8.0
    op_overhead_us: float = 6.0
    handoff_latency_us: float = DEFAULT_HANDOFF_LATENCY_US
    copy_gbps: float = DEFAULT_COPY_GBPS
    sources: dict[str, str] = field(default_factory=lambda: {"rates": "default", "handoff": "default"})

    def edge_us(self, nbytes: int | None) -> float:
        """Hand-off of a tensor between workers: wake-up + copy through shared memory."""
        return self.handoff_latency_us + (nbytes or 0) / (self.copy_gbps * 1e3)

    @classmethod
    def path(cls) -> Path:
        return cache_dir() / f"machine-{machine_id()}.json"

    @classmethod
    def load(cls, calibrate: bool = False) -> MachineProfile:
        """The cached profile; with ``calibrate``, measure the rates if they are not cached yet."""
        prof = cls()
        p = cls.path()
        if p.is_file():
            try:
                prof = cls(**json.loads(p.read_text()))
            except (ValueError, TypeError):
                prof = cls()
        if calibrate and prof.sources.get("rates") != "measured":
            prof.calibrate_rates()
            prof.save()
        return prof

    def save(self) -> None:
        self.path().write_text(json.dumps(asdict(self), indent=2))

    def calibrate_rates(self) -> None:
        """Time a convolution, a large add and a tiny op with torch on one thread."""
        import torch
        import torch.nn.functional as F  # noqa: N812

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                x = torch.rand(1, 64, 56, 56)
                w = torch.rand(64, 64, 3, 3)
                t = _median_time(lambda: F.conv2d(x, w, padding=1), 5)
                self.conv_gflops = 2 * 56 * 56 * 64 * 64 * 9 / t / 1e9
                a, b = torch.rand(4_000_000), torch.rand(4_000_000)
                t = _median_time(lambda: torch.add(a, b), 7)
                self.memory_gbps = 3 * 4_000_000 * 4 / t / 1e9
                s = torch.rand(1)
                t = _median_time(lambda: torch.relu(s), 200)
                self.op_overhead_us = t * 1e6
        finally:
            torch.set_num_threads(threads)
        self.sources = {**self.sources, "rates": "measured"}


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- per-node statistics ------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeStats:
    flops: int
    params: int
    in_bytes: int  # activations read (initializers excluded)
    out_bytes: int

    @property
    def bytes_moved(self) -> int:
        return self.in_bytes + self.out_bytes


ELEMENTWISE_FLOPS = {"BatchNormalization": 2, "LayerNormalization": 8, "Softmax": 5, "LogSoftmax": 5,
                     "InstanceNormalization": 8, "GroupNormalization": 8, "Erf": 8, "Gelu": 8, "Sigmoid": 4,
                     "Tanh": 4, "Exp": 4, "Log": 4, "Pow": 4, "Sqrt": 2, "LRN": 6}  # fmt: skip
NO_COMPUTE = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Shape", "Size", "Identity", "Dropout", "Transpose",
              "Concat", "Split", "Slice", "Gather", "Expand", "ConstantOfShape", "Cast", "Pad", "Tile"}  # fmt: skip
MATMUL_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum"}


def _numel(graph: Graph, t: str) -> int:
    n = graph.info(t).numel
    return int(n) if n is not None else 0


def node_stats(graph: Graph, node: Node) -> NodeStats:
    ins = node.present_inputs
    outs = node.present_outputs
    params = sum(int(np.asarray(graph.initializers[t]).size) for t in ins if t in graph.initializers)
    in_bytes = sum(graph.info(t).nbytes or 0 for t in ins if t not in graph.initializers)
    out_bytes = sum(graph.info(t).nbytes or 0 for t in outs)
    out_n = sum(_numel(graph, t) for t in outs)
    op = node.op_type
    flops = 0
    if op == "Conv" and len(ins) >= 2:
        wshape = graph.info(ins[1]).shape or ()
        if all(isinstance(d, int) for d in wshape) and len(wshape) >= 3:
            flops = 2 * _numel(graph, outs[0]) * int(np.prod(wshape[1:]))
    elif op == "ConvTranspose" and len(ins) >= 2:
        wshape = graph.info(ins[1]).shape or ()
        if all(isinstance(d, int) for d in wshape) and len(wshape) >= 3:
            flops = 2 * _numel(graph, ins[0]) * int(np.prod(wshape[1:]))
    elif op in ("Gemm", "MatMul") and len(ins) >= 2:
        a = graph.info(ins[0]).shape or ()
        if a and isinstance(a[-1], int):
            k = a[-1] if not (op == "Gemm" and node.attrs.get("transA", 0)) else a[0]
            flops = 2 * out_n * int(k)
    elif op in ("MaxPool", "AveragePool", "LpPool"):
        flops = out_n * int(np.prod(node.attrs.get("kernel_shape", [1])))
    elif op.startswith("Global") or op.startswith("Reduce") or op in ("ArgMax", "ArgMin"):
        flops = sum(_numel(graph, t) for t in ins if t not in graph.initializers)
    elif op not in NO_COMPUTE:
        flops = out_n * ELEMENTWISE_FLOPS.get(op, 1)
    return NodeStats(int(flops), params, int(in_bytes), int(out_bytes))


# -- cost models --------------------------------------------------------------------------------
@dataclass
class CostModel:
    node_us: dict[str, float]
    stats: dict[str, NodeStats]
    machine: MachineProfile
    source: str  # "measured (...)" or "analytic (...)"

    def edge_us(self, nbytes: int | None) -> float:
        return self.machine.edge_us(nbytes)

    def dag(self, graph: Graph) -> DagCosts:
        preds: dict[str, list[tuple[str, int]]] = {}
        for n in graph.nodes:
            seen: dict[str, int] = {}
            for t in n.present_inputs:
                p = graph.producer(t)
                if p is not None:
                    seen[p.name] = seen.get(p.name, 0) + (graph.info(t).nbytes or 0)
            preds[n.name] = list(seen.items())
        return DagCosts([n.name for n in graph.nodes], dict(self.node_us), preds)


def all_stats(graph: Graph) -> dict[str, NodeStats]:
    return {n.name: node_stats(graph, n) for n in graph.nodes}


def analytic_costs(graph: Graph, machine: MachineProfile) -> CostModel:
    stats = all_stats(graph)
    costs = {}
    for n in graph.nodes:
        s = stats[n.name]
        if n.op_type in MATMUL_OPS:
            us = s.flops / (machine.conv_gflops * 1e3)
        else:
            us = s.flops / (machine.conv_gflops * 1e3 * 4) if n.op_type not in NO_COMPUTE else 0.0
        us += (s.bytes_moved + 4 * s.params) / (machine.memory_gbps * 1e3) + machine.op_overhead_us
        costs[n.name] = us
    rates = machine.sources.get("rates", "default")
    return CostModel(
        costs,
        stats,
        machine,
        f"analytic (FLOPs/bytes at {rates} rates: {machine.conv_gflops:.1f} GFLOP/s, {machine.memory_gbps:.1f} GB/s)",
    )


def measure_node_times(
    graph: Graph, repeats: int = 5, threads: int = 1, feeds: list[np.ndarray] | None = None
) -> dict[str, float]:
    """Median µs of each node's generated statement, run alone, ``repeats`` times after a warm-up."""
    import torch

    from core.codegen import node_program, to_torch
    from core.verify import random_feeds

    prog = node_program(graph)
    feeds = feeds if feeds is not None else random_feeds(graph)
    samples: dict[str, list[float]] = {name: [] for name, _, _ in prog.steps}
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            for rep in range(repeats + 1):
                ns = dict(prog.namespace)
                ns.update({v: to_torch(x) for v, x in zip(prog.inputs, feeds)})
                exec(prog.prelude, ns)
                for name, code, dead in prog.steps:
                    t0 = time.perf_counter()
                    exec(code, ns)
                    t1 = time.perf_counter()
                    if rep:
                        samples[name].append((t1 - t0) * 1e6)
                    for d in dead:
                        ns.pop(d, None)
    finally:
        torch.set_num_threads(old)
    return {k: statistics.median(v) for k, v in samples.items()}


def graph_fingerprint(graph: Graph) -> str:
    """Hash of what determines timing: the generated code (ops, attributes, shapes), not weight values."""
    from core.codegen import generate_serial

    h = hashlib.sha256(generate_serial(graph).source.encode())
    for n in graph.nodes:
        for t in n.inputs + n.outputs:
            info = graph.info(t)
            h.update(repr((t, info.elem_type, info.shape)).encode())
    return h.hexdigest()[:16]


def measured_costs(
    graph: Graph, machine: MachineProfile, repeats: int = 5, threads: int = 1, use_cache: bool = True
) -> CostModel:
    key = f"costs-{graph_fingerprint(graph)}-{machine_id()}-t{threads}.json"
    path = cache_dir() / key
    node_us = None
    cached = False
    if use_cache and path.is_file():
        try:
            data = json.loads(path.read_text())
            if set(data) == {n.name for n in graph.nodes}:
                node_us, cached = data, True
        except ValueError:
            node_us = None
    if node_us is None:
        node_us = measure_node_times(graph, repeats=repeats, threads=threads)
        if use_cache:
            path.write_text(json.dumps(node_us))
    src = f"measured (generated torch code, {threads} thread{'s' if threads > 1 else ''}, median of {repeats} runs{', cached' if cached else ''})"
    return CostModel(node_us, all_stats(graph), machine, src)


def ort_profiled_costs(
    graph: Graph, model: onnx.ModelProto, machine: MachineProfile, repeats: int = 10, threads: int = 1
) -> CostModel:
    """Per-node kernel times from ONNX Runtime's profiler (graph optimisations off, so nodes map 1:1).

    Nodes the profile does not name fall back to the analytic estimate.
    """
    import glob
    import tempfile

    import onnxruntime as ort

    from core.verify import random_feeds

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    so.enable_profiling = True
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ramiel-prof-") as tmp:
        so.profile_file_prefix = os.path.join(tmp, "prof")
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        feeds = dict(zip(graph.inputs, random_feeds(graph)))
        sess.run(None, feeds)  # warm-up (profiled too, dropped below)
        for _ in range(repeats):
            sess.run(None, feeds)
        sess.end_profiling()
        events = []
        for f in glob.glob(os.path.join(tmp, "prof*.json")):
            with open(f) as fh:
                events += json.load(fh)
    for ev in events:
        name = ev.get("name", "")
        if ev.get("cat") == "Node" and name.endswith("_kernel_time"):
            samples.setdefault(name[: -len("_kernel_time")], []).append(float(ev.get("dur", 0.0)))
    fallback = analytic_costs(graph, machine).node_us
    node_us = {}
    missing = 0
    for n in graph.nodes:
        s = samples.get(n.name)
        if s and len(s) > 1:
            node_us[n.name] = statistics.median(s[1:])
        else:
            node_us[n.name] = fallback[n.name]
            missing += 1
    note = f", {missing} nodes analytic" if missing else ""
    # What runs is the optimised graph (fused Conv+activation, blocked layouts): scale the per-node
    # times so that they add up to its measured run time.
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    fast = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    fast.run(None, feeds)
    runs = []
    for _ in range(max(3, repeats // 2)):
        t0 = time.perf_counter()
        fast.run(None, feeds)
        runs.append((time.perf_counter() - t0) * 1e6)
    total = sum(node_us.values())
    if total > 0:
        scale = min(1.5, max(0.3, statistics.median(runs) / total))
        node_us = {k: v * scale for k, v in node_us.items()}
        note += f", scaled by {scale:.2f} to the optimised graph's run time"
    return CostModel(node_us, all_stats(graph), machine,
                     f"measured (onnxruntime profiler, {threads} thread{'s' if threads > 1 else ''}, median of {repeats} runs{note})")  # fmt: skip
