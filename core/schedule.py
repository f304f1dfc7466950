"""Schedule simulator and critical-path statistics.

Nodes run on workers in a fixed order; a node starts when its worker is free and
every input has arrived: a producer on the same worker hands over for free, one
on another worker costs the edge's hand-off time (signal + shared-memory copy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

EPS = 1e-9


@dataclass
class DagCosts:
    """The DAG reduced to what scheduling needs: order, node costs, edges with bytes."""

    order: list[str]  # a topological order
    cost: dict[str, float]  # µs per node
    preds: dict[str, list[tuple[str, int]]]  # node → [(producer, bytes)]
    succs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.succs:
            succs: dict[str, list[tuple[str, int]]] = {n: [] for n in self.order}
            for n in self.order:
                for p, b in self.preds.get(n, ()):
                    succs[p].append((n, b))
            self.succs = succs


@dataclass
class Schedule:
    start: dict[str, float]
    end: dict[str, float]
    worker_of: dict[str, int]
    makespan: float
    workers: int

    def busy(self, worker: int) -> float:
        return sum(self.end[n] - self.start[n] for n, w in self.worker_of.items() if w == worker)

    def idle(self) -> list[float]:
        return [self.makespan - self.busy(w) for w in range(self.workers)]


def simulate(dag: DagCosts, worker_of: Mapping[str, int], edge_us: Callable[[int], float]) -> Schedule:
    """Each worker runs its nodes in ``dag.order``; cross-worker inputs pay ``edge_us(bytes)``."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    free: dict[int, float] = {}
    for n in dag.order:
        w = worker_of[n]
        ready = free.get(w, 0.0)
        for p, nbytes in dag.preds.get(n, ()):
            arrive = end[p] + (0.0 if worker_of[p] == w else edge_us(nbytes))
            if arrive > ready:
                ready = arrive
        start[n] = ready
        end[n] = free[w] = ready + dag.cost[n]
    workers = (max(worker_of.values()) + 1) if worker_of else 0
    return Schedule(start, end, dict(worker_of), max(end.values(), default=0.0), workers)


@dataclass
class CriticalPath:
    work: float  # W: total node cost
    length: float  # CP: longest path by node costs
    path: list[str]
    earliest: dict[str, float]  # earliest start (unbounded workers, no edge costs)
    latest: dict[str, float]  # latest start that keeps CP
    slack: dict[str, float]

    @property
    def parallelism(self) -> float:
        return self.work / self.length if self.length > 0 else 1.0

    def on_path(self, node: str) -> bool:
        return self.slack[node] <= 1e-6 * max(self.length, 1.0)

    def ideal_speedup(self, workers: int) -> float:
        return min(float(workers), self.parallelism)

    def lower_bound(self, workers: int) -> float:
        return max(self.length, self.work / max(workers, 1))


def critical_path(dag: DagCosts) -> CriticalPath:
    earliest: dict[str, float] = {}
    best_pred: dict[str, str | None] = {}
    for n in dag.order:
        t, arg = 0.0, None
        for p, _ in dag.preds.get(n, ()):
            e = earliest[p] + dag.cost[p]
            if e > t + EPS or arg is None and e >= t:
                t, arg = e, p
        earliest[n] = t
        best_pred[n] = arg
    length = max((earliest[n] + dag.cost[n] for n in dag.order), default=0.0)
    latest: dict[str, float] = {}
    for n in reversed(dag.order):
        finish = min((latest[s] for s, _ in dag.succs.get(n, ())), default=length)
        latest[n] = finish - dag.cost[n]
    slack = {n: max(0.0, latest[n] - earliest[n]) for n in dag.order}
    path: list[str] = []
    if dag.order:
        tail = max(dag.order, key=lambda n: (earliest[n] + dag.cost[n], -dag.order.index(n)))
        cur: str | None = tail
        while cur is not None:
            path.append(cur)
            cur = best_pred[cur]
        path.reverse()
    return CriticalPath(sum(dag.cost.values()), length, path, earliest, latest, slack)


def worker_map(clusters: Sequence[Sequence[str]], cluster_worker: Sequence[int] | None = None) -> dict[str, int]:
    """node → worker, from clusters and (optionally) each cluster's worker (default: its index)."""
    out: dict[str, int] = {}
    for i, nodes in enumerate(clusters):
        w = i if cluster_worker is None else cluster_worker[i]
        for n in nodes:
            out[n] = w
    return out
