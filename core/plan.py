"""The analysis pipeline: passes → costs → clusters → merging → cloning → schedule → decision.

``analyze`` takes a loaded model and the options a user can toggle, and returns a
:class:`Plan` holding every intermediate result the report and the TUI show.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Literal

import onnx

from core.cost import CostModel, MachineProfile, analytic_costs, measured_costs, ort_profiled_costs
from core.graph import Graph
from core.onnx_io import load_model
from core.passes.clone import Clone, clone_cheap_nodes
from core.passes.cluster import linear_clusters
from core.passes.constprop import FoldReport, fold_constants
from core.passes.dce import eliminate_dead_code
from core.passes.merge import merge_clusters, order_by_schedule, simulate_clusters
from core.schedule import CriticalPath, DagCosts, Schedule, critical_path, simulate, worker_map

CostSource = Literal["auto", "measured", "ort", "analytic"]
Backend = Literal["torch", "ort", "auto"]


@dataclass(frozen=True)
class PlanOptions:
    workers: int = 2
    batch: int = 1
    cp_dce: bool = True
    cloning: bool = True
    merging: bool = True
    cost: CostSource = "auto"
    # What computes each cluster: the generated torch code, onnxruntime sessions on ONNX subgraphs, or
    # (auto) whichever the cost model says is faster on this machine.
    backend: Backend = "torch"
    # Below this predicted speedup, run sequentially: on 2 cores the measured gain came out ~20% under the
    # prediction (memory contention between workers), so a predicted 10-15% gain is noise.
    threshold: float = 1.15
    clone_budget: float = 0.05


@dataclass
class Decision:
    parallel: bool
    reason: str


@dataclass
class Plan:
    options: PlanOptions
    base_graph: Graph  # after CP/DCE: what the serial code computes
    graph: Graph  # base_graph plus the clones
    cost: CostModel
    cp: CriticalPath
    linear: list[list[str]]  # clusters from linear clustering
    spans: list[list[str]]  # after span merging (== linear when merging is off)
    clusters: list[list[str]]  # final, in execution order
    cluster_worker: list[int]
    schedule: Schedule
    decision: Decision
    fold: FoldReport | None = None
    dead: list[str] = field(default_factory=list)
    clones: list[Clone] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    hyper: object | None = None  # HyperPlan for batch > 1
    backend: str = "torch"  # "torch" or "ort" (resolved from the options)
    backend_reason: str = ""

    @property
    def work_us(self) -> float:
        return self.cp.work

    @property
    def serial_us(self) -> float:
        """Predicted serial time: all work on one worker, no hand-offs."""
        return self.cp.work

    @property
    def makespan_us(self) -> float:
        return self.schedule.makespan

    @property
    def predicted_speedup(self) -> float:
        return self.serial_us / self.makespan_us if self.makespan_us > 0 else 1.0

    def cluster_span(self, i: int) -> tuple[float, float]:
        nodes = self.clusters[i]
        return min(self.schedule.start[n] for n in nodes), max(self.schedule.end[n] for n in nodes)

    def cluster_work(self, i: int) -> float:
        return sum(self.cost.node_us[n] for n in self.clusters[i])

    def base_costs(self) -> CostModel:
        """The node costs restricted to the graph after CP/DCE (no clones): reusable to plan the same
        graph again with other options (workers, cloning, merging) without measuring again."""
        from core.cost import node_stats

        g = self.base_graph
        # a node that cloning replaced everywhere (BERT's token-type Gather) is gone from the plan's costs
        cloned = {c.original: c.cost_us for c in self.clones}
        node_us = {
            n.name: self.cost.node_us[n.name] if n.name in self.cost.node_us else cloned[n.name] for n in g.nodes
        }
        stats = {n.name: self.cost.stats.get(n.name) or node_stats(g, n) for n in g.nodes}
        return CostModel(node_us, stats, self.cost.machine, self.cost.source)


def prepare_model(
    model: onnx.ModelProto, cp_dce: bool, source: str | None = None
) -> tuple[onnx.ModelProto, FoldReport | None, list[str]]:
    """Constant propagation + DCE on the checked model (or nothing when the toggle is off)."""
    if not cp_dce:
        return model, None, []
    folded, raw, report = fold_constants(model, source)
    pruned, dead = eliminate_dead_code(folded)
    return load_model(pruned if dead else raw, check=False), report, dead


def costs_for(
    graph: Graph, options: PlanOptions, machine: MachineProfile | None = None, model: onnx.ModelProto | None = None
) -> CostModel:
    """Node costs from the source the options name (``auto``: timing what will run — the generated
    torch code, or onnxruntime's kernels with the ort backend)."""
    machine = machine or MachineProfile.load()
    if options.cost == "analytic":
        return analytic_costs(graph, machine)
    if (options.cost == "ort" or (options.cost == "auto" and options.backend == "ort")) and model is not None:
        return ort_profiled_costs(graph, model, machine)
    return measured_costs(graph, machine)


def choose_backend(
    graph: Graph, options: PlanOptions, model: onnx.ModelProto, machine: MachineProfile | None = None
) -> tuple[str, CostModel, str]:
    """(backend, its node costs, why). ``auto`` times both and keeps the one with less total work."""
    from core.ort_codegen import has_subgraphs

    if options.backend == "torch":
        return "torch", costs_for(graph, options, machine, model), "torch backend (chosen)"
    if has_subgraphs(graph):
        if options.backend == "ort":
            from core.errors import UnsupportedOpError

            raise UnsupportedOpError("the onnxruntime backend cannot cut graphs with control flow (If/Loop/Scan) yet")
        return "torch", costs_for(graph, options, machine, model), "torch backend: the graph has control flow"
    ort_opts = dataclasses.replace(options, backend="ort")
    ort_cost = costs_for(graph, ort_opts, machine, model)
    if options.backend == "ort":
        return "ort", ort_cost, "onnxruntime backend (chosen)"
    torch_cost = costs_for(graph, dataclasses.replace(options, backend="torch"), machine, model)
    t, o = sum(torch_cost.node_us.values()), sum(ort_cost.node_us.values())
    if o < t:
        return (
            "ort",
            ort_cost,
            f"onnxruntime backend: {o / 1e3:.2f} ms of work against {t / 1e3:.2f} ms for the torch code",
        )
    return "torch", torch_cost, f"torch backend: {t / 1e3:.2f} ms of work against {o / 1e3:.2f} ms for onnxruntime"


def list_schedule(dag: DagCosts, clusters: list[list[str]], edge_us, workers: int) -> list[int]:
    """Clusters → workers without merging: by start time on unbounded workers, to the earliest-free worker."""
    sched = simulate_clusters(dag, clusters, edge_us)
    order = sorted(range(len(clusters)), key=lambda i: min(sched.start[n] for n in clusters[i]))
    free = [0.0] * workers
    assign = [0] * len(clusters)
    for i in order:
        w = min(range(workers), key=lambda k: free[k])
        assign[i] = w
        free[w] = max(free[w], min(sched.start[n] for n in clusters[i])) + sum(dag.cost[n] for n in clusters[i])
    return assign


def decide(plan_speedup: float, cp: CriticalPath, options: PlanOptions) -> Decision:
    if options.workers <= 1:
        return Decision(False, "one worker: nothing to run in parallel")
    if plan_speedup >= options.threshold:
        return Decision(True, f"predicted speedup {plan_speedup:.2f}x at {options.workers} workers "
                              f"(W/CP {cp.parallelism:.2f})")  # fmt: skip
    return Decision(
        False,
        f"predicted speedup {plan_speedup:.2f}x < {options.threshold:.2f}x threshold at {options.workers} workers: "
        f"W/CP is {cp.parallelism:.2f}, so the graph is "
        + ("nearly a chain" if cp.parallelism < 1.15 else "too fine-grained for the hand-off cost"),
    )


def analyze_graph(graph: Graph, cost: CostModel, options: PlanOptions, timings: dict[str, float] | None = None) -> Plan:
    """Clustering, merging, cloning and scheduling on a graph whose costs are known."""
    timings = timings if timings is not None else {}
    base_graph = graph
    t0 = time.perf_counter()
    dag = cost.dag(graph)
    cp = critical_path(dag)
    edge = cost.edge_us
    linear = linear_clusters(dag, edge)
    t1 = time.perf_counter()
    workers = max(1, options.workers)
    if options.merging:
        spans, clusters, dag = merge_clusters(dag, linear, edge, workers)
        cluster_worker = list(range(len(clusters)))
    else:
        spans = [list(c) for c in linear]
        clusters = [list(c) for c in linear]
        cluster_worker = list_schedule(dag, clusters, edge, workers)
    t2 = time.perf_counter()
    clones: list[Clone] = []
    if options.cloning and len(clusters) > 1:
        before = simulate(dag, worker_map(clusters, cluster_worker), edge).makespan
        g2, c2, cost2, cl = clone_cheap_nodes(graph, clusters, cost, options.clone_budget)
        if cl:
            dag2 = cost2.dag(g2)
            after = simulate(dag2, worker_map(c2, cluster_worker), edge)
            if after.makespan <= before + 1e-6:
                graph, clusters, cost, clones, dag = g2, c2, cost2, cl, dag2
                cp = critical_path(dag)
    t3 = time.perf_counter()
    schedule = simulate(dag, worker_map(clusters, cluster_worker), edge)
    dag = DagCosts(order_by_schedule(dag, schedule), dag.cost, dag.preds, dag.succs)
    index = {n: i for i, n in enumerate(dag.order)}
    clusters = [sorted(c, key=index.__getitem__) for c in clusters]
    speedup = cp.work / schedule.makespan if schedule.makespan > 0 else 1.0
    timings.update(
        {"clustering": t1 - t0, "merging": t2 - t1, "cloning": t3 - t2, "schedule": time.perf_counter() - t3}
    )
    return Plan(
        options=options,
        base_graph=base_graph,
        graph=graph,
        cost=cost,
        cp=cp,
        linear=linear,
        spans=spans,
        clusters=clusters,
        cluster_worker=cluster_worker,
        schedule=schedule,
        decision=decide(speedup, cp, options),
        clones=clones,
        timings_s=timings,
    )


def analyze(
    model: onnx.ModelProto,
    options: PlanOptions = PlanOptions(),
    cost: CostModel | None = None,
    source: str | None = None,
) -> Plan:
    """Full analysis of a checked model (from :func:`core.onnx_io.load_model`); ``source``: its file."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepared, fold, dead = prepare_model(model, options.cp_dce, source)
    t1 = time.perf_counter()
    graph = Graph.from_model(prepared)
    t2 = time.perf_counter()
    if cost is None:
        backend, cost, reason = choose_backend(graph, options, prepared)
    else:
        # given costs (e.g. cached by the app) say what they timed
        ort = options.backend == "ort" or (options.backend == "auto" and "onnxruntime" in cost.source)
        backend, reason = ("ort" if ort else "torch"), f"costs given by the caller: {cost.source}"
    t3 = time.perf_counter()
    timings.update({"cp_dce": t1 - t0, "graph": t2 - t1, "cost": t3 - t2})
    plan = analyze_graph(graph, cost, options, timings)
    plan.fold, plan.dead = fold, dead
    plan.backend, plan.backend_reason = backend, reason
    if options.batch > 1:
        from core.passes.hypercluster import hypercluster

        plan.hyper = hypercluster(plan, options.batch)
    return plan
