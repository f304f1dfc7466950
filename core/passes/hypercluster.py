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
