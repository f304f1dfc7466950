"""Hyperclustering for batch > 1.

A batch of B samples runs as B copies of the batch-1 graph (samples are
independent in inference). A *hypercluster* is what one worker runs: the same
cluster of the batch-1 plan for several samples, back to back, so that one
sample's clusters fill the idle slack another sample leaves. Three assignments
of (sample s, cluster c) to workers are simulated and the shortest wins:

* ``plain``: worker(s, c) = worker(c) — each worker runs its cluster for every sample;
* ``switched``: worker(s, c) = (worker(c) + s) mod P — the cluster-to-worker map
  rotates from sample to sample, so a worker with a long cluster for one sample
  gets a short one for the next (balances unequal clusters);
* ``samples``: worker(s, ·) = s mod P — whole samples per worker (data
  parallelism, no hand-offs): the baseline any plan must beat.

Each worker processes its share sample by sample, in the batch-1 execution order.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.schedule import DagCosts, Schedule, simulate


@dataclass
class HyperPlan:
    batch: int
    variant: str  # plain | switched | samples
    makespans: dict[str, float]  # variant → predicted µs
    worker_of: dict[tuple[int, str], int]  # (sample, node) → worker
    schedule: Schedule
    serial_us: float

    @property
    def makespan_us(self) -> float:
        return self.makespans[self.variant]

    @property
    def predicted_speedup(self) -> float:
        return self.serial_us / self.makespan_us if self.makespan_us > 0 else 1.0


def batched_dag(dag: DagCosts, batch: int) -> DagCosts:
    order = [f"{n}#{s}" for s in range(batch) for n in dag.order]
    cost = {f"{n}#{s}": dag.cost[n] for s in range(batch) for n in dag.order}
    preds = {f"{n}#{s}": [(f"{p}#{s}", b) for p, b in dag.preds.get(n, ())] for s in range(batch) for n in dag.order}
    return DagCosts(order, cost, preds)


def assignments(node_worker: dict[str, int], batch: int, workers: int) -> dict[str, dict[tuple[int, str], int]]:
    return {
        "plain": {(s, n): w for s in range(batch) for n, w in node_worker.items()},
        "switched": {(s, n): (w + s) % workers for s in range(batch) for n, w in node_worker.items()},
        "samples": {(s, n): s % workers for s in range(batch) for n in node_worker},
    }


def hypercluster_dag(dag: DagCosts, node_worker: dict[str, int], batch: int, workers: int, edge_us) -> HyperPlan:
    big = batched_dag(dag, batch)
    results: dict[str, tuple[float, dict, Schedule]] = {}
    for variant, assign in assignments(node_worker, batch, workers).items():
        flat = {f"{n}#{s}": w for (s, n), w in assign.items()}
        sched = simulate(big, flat, edge_us)
        results[variant] = (sched.makespan, assign, sched)
    best = min(results, key=lambda v: (results[v][0], ["samples", "switched", "plain"].index(v)))
    return HyperPlan(
        batch=batch,
        variant=best,
        makespans={v: r[0] for v, r in results.items()},
        worker_of=results[best][1],
        schedule=results[best][2],
        serial_us=sum(big.cost.values()),
    )


def hypercluster(plan, batch: int) -> HyperPlan:
    """Hyperclusters for a batch-1 :class:`~core.plan.Plan`."""
    node_worker = {n: plan.cluster_worker[i] for i, c in enumerate(plan.clusters) for n in c}
    dag = plan.cost.dag(plan.graph)
    index = {n: i for i, n in enumerate(dag.order)}
    order = sorted(dag.order, key=lambda n: (plan.schedule.start[n], index[n]))  # the batch-1 execution order
    dag = DagCosts(order, dag.cost, dag.preds, dag.succs)
    return hypercluster_dag(dag, node_worker, batch, max(1, plan.options.workers), plan.cost.edge_us)


def sample_name(tensor_or_node: str, sample: int) -> str:
    """The name of a tensor or node in sample ``sample``'s copy of the graph."""
    return f"{tensor_or_node}#{sample}"


def batched_plan(plan):
    """The batch-B plan as one plan over B renamed copies of the batch-1 graph (weights shared):
    sample s's copy of cluster c is a cluster on the worker the hyperplan chose, scheduled as
    the hyperplan simulated. The code generators and the runtime then run it like any plan."""
    import dataclasses

    from core.graph import Graph

    hyper: HyperPlan = plan.hyper
    g = plan.graph
    b = hyper.batch

    def rename(t: str, s: int) -> str:
        return t if not t or t in g.initializers else sample_name(t, s)

    nodes, tensors = [], {k: v for k, v in g.tensors.items() if k in g.initializers}
    for s in range(b):
        for n in g.nodes:
            nodes.append(dataclasses.replace(n, name=sample_name(n.name, s), inputs=[rename(t, s) for t in n.inputs],
                                             outputs=[rename(t, s) for t in n.outputs]))  # fmt: skip
        for t, info in g.tensors.items():
            if t not in g.initializers:
                tensors[sample_name(t, s)] = dataclasses.replace(info, name=sample_name(t, s))
    big = Graph(nodes, tensors, g.initializers, [sample_name(t, s) for s in range(b) for t in g.inputs],
                [sample_name(t, s) for s in range(b) for t in g.outputs], dict(g.opsets), g.name)  # fmt: skip
    clusters, cluster_worker = [], []
    for s in range(b):
        for c in plan.clusters:
            clusters.append([sample_name(n, s) for n in c])
            cluster_worker.append(hyper.worker_of[(s, c[0])])
    used = sorted(set(cluster_worker))  # workers numbered densely from 0
    cluster_worker = [used.index(w) for w in cluster_worker]
    cost = dataclasses.replace(
        plan.cost,
        node_us={sample_name(n, s): us for s in range(b) for n, us in plan.cost.node_us.items()},
        stats={sample_name(n, s): st for s in range(b) for n, st in plan.cost.stats.items()},
    )
    return dataclasses.replace(plan, base_graph=big, graph=big, clusters=clusters, cluster_worker=cluster_worker,
                               schedule=hyper.schedule, cost=cost)  # fmt: skip
