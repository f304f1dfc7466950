"""Per-node thread-scaling curves, and a simulator that picks inter × intra-op plans for a core budget.

Each node's time at ``t`` intra-op threads follows Amdahl's law,

    T(t) = T(1) · ((1 − p) + p / t),

with the parallel fraction ``p`` fitted per node (least squares) to onnxruntime's profiler at every
thread count measured: 1 and 2 on a 2-core machine. Beyond the measured counts the curve is an
extrapolation: it knows the serial part of each kernel, not the memory bandwidth that many cores
share, so figures for more cores than were measured are labelled *simulated*.

A configuration is a plan for ``W`` workers with a thread count per worker (their sum is the core
budget): ``W = 1`` is pure intra-op (what ORT's best configuration does), threads all 1 is pure
inter-op, anything else is hybrid. :func:`choose` simulates each candidate with the schedule
simulator of :mod:`core.schedule` (node costs from the curves, hand-offs from the cost model) and
hands out threads greedily to whichever worker shortens the makespan most.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import onnx

from core.cost import (
    CostModel,
    MachineProfile,
    all_stats,
    cache_dir,
    cpu_budget,
    graph_fingerprint,
    machine_id,
    ort_profiled_costs,
)
from core.graph import Graph
from core.plan import Plan, PlanOptions, analyze_graph
from core.schedule import DagCosts, simulate, worker_map


@dataclass
class ScalingCurves:
    """Per node: µs at one thread and the Amdahl parallel fraction."""

    t1: dict[str, float]
    parallel: dict[str, float]
    measured: tuple[int, ...] = (1,)  # thread counts the fit saw

    def time(self, node: str, threads: int) -> float:
        p = self.parallel.get(node, 0.0)
        return self.t1[node] * ((1.0 - p) + p / max(1, threads))

    def total(self, threads: int) -> float:
        return sum(self.time(n, threads) for n in self.t1)

    @property
    def parallel_fraction(self) -> float:
        """Work-weighted p over the whole graph."""
        work = sum(self.t1.values())
        return sum(self.t1[n] * self.parallel.get(n, 0.0) for n in self.t1) / work if work else 0.0

    def with_clones(self, clones: Sequence[Any]) -> ScalingCurves:
        """The curves for a plan whose cloning pass copied nodes: a copy scales like its original."""
        missing = [c for c in clones if c.name not in self.t1 and c.original in self.t1]
        if not missing:
            return self
        t1, parallel = dict(self.t1), dict(self.parallel)
        for c in missing:
            t1[c.name], parallel[c.name] = self.t1[c.original], self.parallel.get(c.original, 0.0)
        return ScalingCurves(t1, parallel, self.measured)

    def cost_model(self, base: CostModel, threads: int = 1) -> CostModel:
        return dataclasses.replace(base, node_us={n: self.time(n, threads) for n in self.t1})


def fit_parallel_fraction(times: dict[int, float]) -> float:
    """Least-squares p of T(t)/T(1) = 1 − p·(1 − 1/t) over the measured thread counts, in [0, 1]."""
    t1 = times.get(1)
    if not t1 or t1 <= 0:
        return 0.0
    xs = [(1.0 - 1.0 / t, 1.0 - v / t1) for t, v in times.items() if t > 1]
    den = sum(x * x for x, _ in xs)
    if den <= 0:
        return 0.0
    return min(1.0, max(0.0, sum(x * y for x, y in xs) / den))


def measure_scaling(
    graph: Graph, model: onnx.ModelProto, machine: MachineProfile | None = None, threads: Sequence[int] = (1, 2),
    repeats: int = 10, rounds: int = 3,
) -> tuple[ScalingCurves, CostModel]:  # fmt: skip
    """Profile every node with onnxruntime at each thread count; fit each node's curve.

    The thread counts alternate over ``rounds`` rounds and each node keeps its median per count,
    so that a burst of noise on the machine does not land on one count only. Returns the curves
    and the one-thread cost model (for planning)."""
    machine = machine or MachineProfile.load()
    counts = sorted(set(threads))
    runs: dict[int, list[CostModel]] = {t: [] for t in counts}
    for _ in range(max(1, rounds)):
        for t in counts:
            runs[t].append(ort_profiled_costs(graph, model, machine, repeats=max(2, repeats // rounds), threads=t))
    costs = {
        t: dataclasses.replace(cs[0], node_us={n: statistics.median(c.node_us[n] for c in cs) for n in cs[0].node_us})
        for t, cs in runs.items()
    }
    base = costs[counts[0]]
    parallel = {n: fit_parallel_fraction({t: c.node_us[n] for t, c in costs.items()}) for n in base.node_us}
    return ScalingCurves(dict(base.node_us), parallel, tuple(counts)), base


def graph_curves(graph: Graph, machine: MachineProfile | None = None) -> tuple[ScalingCurves, CostModel]:
    """Curves for every node of ``graph``, profiled by onnxruntime at 1 and 2 threads (1 only on a
    one-core machine), and the one-thread cost model."""
    from core.ort_codegen import has_subgraphs, segment_model

    if has_subgraphs(graph):
        from core.errors import UnsupportedOpError

        raise UnsupportedOpError("the scaling simulation profiles with onnxruntime, which cannot cut control flow yet")
    counts = (1, 2) if cpu_budget() >= 2 else (1,)
    machine = machine or MachineProfile.load()
    path = cache_dir() / f"curves-{graph_fingerprint(graph)}-{machine_id()}-t{'-'.join(map(str, counts))}.json"
    names = {n.name for n in graph.nodes}
    try:  # profiled once per graph and machine (NASNet-A Large: 50 s), then cached beside the costs
        data = json.loads(path.read_text())
        if set(data["t1"]) == names and set(data["parallel"]) == names:
            curves = ScalingCurves(data["t1"], data["parallel"], counts)
            return curves, CostModel(dict(data["t1"]), all_stats(graph), machine, data["source"] + ", cached")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    model = segment_model(graph, graph.topo_order(), list(graph.inputs), list(graph.outputs), graph.name or "graph")
    curves, cost = measure_scaling(graph, model, machine, threads=counts)
    with contextlib.suppress(OSError):
        path.write_text(json.dumps({"t1": curves.t1, "parallel": curves.parallel, "source": cost.source}))
    return curves, cost


@dataclass
class Config:
    kind: str  # "intra-op", "inter-op" or "hybrid"
    workers: int
    threads: tuple[int, ...]  # per worker
    makespan_us: float

    @property
    def label(self) -> str:
        return f"{self.kind} {self.workers}w×{'/'.join(map(str, self.threads))}t"


def simulate_threads(
    plan: Plan, curves: ScalingCurves, threads: Sequence[int], contention: float = 1.0
) -> float:  # fmt: skip
    """Makespan (µs) of ``plan`` with worker ``w`` running its nodes at ``threads[w]`` intra-op threads.

    ``contention`` multiplies node times whenever more than one worker runs (memory bandwidth shared
    between workers: measured 1.0–1.4 on 2 cores)."""
    return _Simulation(plan, curves, contention).makespan(threads)


class _Simulation:
    """One plan's DAG and worker map, built once and simulated for many thread assignments."""

    def __init__(self, plan: Plan, curves: ScalingCurves, contention: float) -> None:
        self.worker_of = worker_map(plan.clusters, plan.cluster_worker)
        self.dag = plan.cost.dag(plan.graph)
        self.edge_us = plan.cost.edge_us
        self.curves = curves.with_clones(plan.clones)
        self.slow = contention if len(set(self.worker_of.values())) > 1 else 1.0

    def makespan(self, threads: Sequence[int]) -> float:
        d = self.dag
        cost = {n: self.curves.time(n, threads[self.worker_of[n]]) * self.slow for n in d.order}
        return simulate(DagCosts(d.order, cost, d.preds, d.succs), self.worker_of, self.edge_us).makespan


def worker_threads(
    plan: Plan, curves: ScalingCurves, cores: int, contention: float = 1.0
) -> tuple[tuple[int, ...], float]:  # fmt: skip
    """Intra-op threads per worker of ``plan`` for ``cores`` cores, and the simulated makespan (µs).

    Every worker starts with one thread; each further core goes to whichever worker shortens the
    simulated makespan most (a worker on the critical path gains, one that waits does not)."""
    sim = _Simulation(plan, curves, contention)
    threads = [1] * (max(plan.cluster_worker) + 1)
    best = sim.makespan(threads)
    while sum(threads) < cores:
        best, w = min((sim.makespan([t + (i == w) for i, t in enumerate(threads)]), w) for w in range(len(threads)))
        threads[w] += 1
    return tuple(threads), best


def plan_for(graph: Graph, cost: CostModel, workers: int) -> Plan:
    """A plan for ``workers`` workers on the curves' one-thread costs (no cloning: names stay the graph's)."""
    options = PlanOptions(workers=workers, cloning=False, backend="ort", cost="ort")
    return analyze_graph(graph, cost, options)


def worker_plans(graph: Graph, cost: CostModel, max_workers: int) -> dict[int, Plan]:
    """Distinct plans for 2..``max_workers`` workers, by the number of workers they really use."""
    plans: dict[int, Plan] = {}
    for w in range(2, max_workers + 1):
        plan = plan_for(graph, cost, w)
        used = max(plan.cluster_worker) + 1
        if used >= 2 and used not in plans:
            plans[used] = plan
    return plans


def choose(
    graph: Graph, curves: ScalingCurves, cost: CostModel, cores: int, contention: float = 1.0,
    plans: dict[int, Plan] | None = None,
) -> dict[str, Config]:  # fmt: skip
    """The best simulated configuration of each kind for ``cores`` cores: "intra-op", "inter-op",
    "hybrid" (fewer workers, threads where the simulator says they shorten the makespan), and "best".

    ``plans``: from :func:`worker_plans`, when several core counts are asked about the same graph
    (plans with more workers than ``cores`` are left out)."""
    out = {"intra-op": Config("intra-op", 1, (cores,), curves.total(cores))}
    plans = {w: p for w, p in (plans or worker_plans(graph, cost, cores)).items() if w <= cores}
    if plans:
        w = max(plans)
        out["inter-op"] = Config("inter-op", w, (1,) * w, simulate_threads(plans[w], curves, [1] * w, contention))
    hybrid = None
    for w, plan in sorted(plans.items()):
        threads, makespan = worker_threads(plan, curves, cores, contention)
        if hybrid is None or makespan < hybrid.makespan_us:
            hybrid = Config("inter-op" if set(threads) == {1} else "hybrid", w, threads, makespan)
    if hybrid is not None:
        out["hybrid"] = hybrid
    out["best"] = min(out.values(), key=lambda c: c.makespan_us)
    return out


def scaling_table(graph: Graph, cores: Sequence[int], machine: MachineProfile | None = None) -> dict:
    """The report's scaling section: curves measured on this machine, configurations simulated per core count.

    Rows for more cores than this machine has extrapolate the curves (``"extrapolated": true``)."""
    here = cpu_budget()
    curves, cost = graph_curves(graph, machine)
    measured = curves.measured
    rows = []
    plans = worker_plans(graph, cost, max(cores))
    for p in sorted(set(cores)):
        cfg = choose(graph, curves, cost, p, plans=plans)
        best = cfg["best"]
        rows.append({
            "cores": p,
            "extrapolated": p > max(measured),
            "intra_op_ms": cfg["intra-op"].makespan_us / 1e3,
            "inter_op_ms": cfg["inter-op"].makespan_us / 1e3 if "inter-op" in cfg else None,
            "hybrid_ms": cfg["hybrid"].makespan_us / 1e3 if "hybrid" in cfg else None,
            "best": best.label,
            "best_ms": best.makespan_us / 1e3,
            "best_vs_intra_op": best.makespan_us / cfg["intra-op"].makespan_us,
        })  # fmt: skip
    return {
        "source": f"per-node Amdahl curves from onnxruntime's profiler at {' and '.join(map(str, measured))} "
        f"thread(s) on this {here}-core machine; schedules simulated, memory-bandwidth contention not modelled",
        "parallel_fraction": curves.parallel_fraction,
        "rows": rows,
    }


@dataclass
class AutoChoice:
    """What ``--workers auto`` settled on: the compiled plan, its workers and their threads."""

    compiled: Any  # core.pipeline.Compiled, planned for ``workers``
    workers: int
    threads: tuple[int, ...] | None  # intra-op threads per worker of a multi-worker plan; None: one worker
    reason: str


def auto_configuration(source: Any, options: PlanOptions, compiled: Any = None) -> AutoChoice:
    """Choose the number of workers and their threads for this machine's cores by simulation.

    The model is compiled once (or ``compiled`` is used), its graph after CP/DCE profiled at 1 and
    2 threads (:func:`graph_curves`), and :func:`choose` compares intra-op, inter-op and hybrid plans
    for every worker count up to the core budget. The plan is then made again for the winner's
    worker count with the costs already measured, and the winner's threads are handed out on that
    plan (:func:`worker_threads`). Batch > 1 and graphs with control flow keep ``options.workers``."""
    from core.pipeline import compile_model

    cores = cpu_budget()
    first = compiled or compile_model(source, dataclasses.replace(options, workers=max(2, cores)))
    graph = first.graph
    from core.ort_codegen import has_subgraphs

    if options.batch > 1 or has_subgraphs(graph):
        why = "batch > 1" if options.batch > 1 else "control flow (the profiler cannot cut it)"
        return AutoChoice(first, first.plan.options.workers, None, f"not simulated ({why}): {cores} workers")
    curves, cost = graph_curves(graph)
    configs = choose(graph, curves, cost, cores)
    best, intra = configs["best"], configs["intra-op"]
    if best.kind == "intra-op":
        multi = [c for k, c in configs.items() if k in ("inter-op", "hybrid")]
        alt = min(multi, key=lambda c: c.makespan_us) if multi else None
        reason = (
            f"simulated for {cores} core(s): intra-op (one worker, {cores} threads) {intra.makespan_us / 1e3:.2f} ms"
        )
        reason += f"; best multi-worker plan {alt.label} {alt.makespan_us / 1e3:.2f} ms" if alt else ""
    else:
        reason = (f"simulated for {cores} core(s): {best.label} {best.makespan_us / 1e3:.2f} ms against intra-op "
                  f"{intra.makespan_us / 1e3:.2f} ms")  # fmt: skip
    workers = best.workers
    plan_again = workers != first.plan.options.workers
    done = compile_model(source, dataclasses.replace(options, workers=workers), cost=first.plan.base_costs()) if plan_again else first  # fmt: skip
    used = max(done.plan.cluster_worker, default=0) + 1
    threads = worker_threads(done.plan, curves, max(cores, used))[0] if workers > 1 and used > 1 else None
    return AutoChoice(done, workers, threads, reason)
