"""Cluster merging: from many linear clusters down to at most one per worker.

1. Span merging: simulate every cluster on a worker of its own; clusters whose
   time spans do not overlap are merged (interval partitioning, fewest lanes).
2. Free merging: any pair whose merge the simulator shows does not lengthen the
   makespan is merged, best first, until at most ``workers`` clusters remain or
   none is free.
3. Fitting: while more clusters than workers remain, merge the pair that
   lengthens the simulated makespan least. A second candidate places the linear
   clusters whole onto the workers by list scheduling (in order of their start on
   unbounded workers, each onto the worker that keeps the simulated makespan
   shortest); the shorter of the two plans wins.

Inside a merged cluster, nodes run in order of their simulated start time (a
topological order), which is also the order the generated code runs them in.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from core.schedule import DagCosts, Schedule, simulate, worker_map

Clusters = list[list[str]]


def order_by_schedule(dag: DagCosts, sched: Schedule) -> list[str]:
    """A topological order that follows simulated start times (ties: the DAG's order)."""
    index = {n: i for i, n in enumerate(dag.order)}
    return sorted(dag.order, key=lambda n: (sched.start[n], index[n]))


def simulate_clusters(dag: DagCosts, clusters: Clusters, edge_us: Callable[[int], float]) -> Schedule:
    """One worker per cluster; nodes processed in ``dag.order``."""
    return simulate(dag, worker_map(clusters), edge_us)


def _join(order_index: dict[str, int], a: list[str], b: list[str]) -> list[str]:
    return sorted(a + b, key=order_index.__getitem__)


def _with_order(dag: DagCosts, order: list[str]) -> DagCosts:
    return DagCosts(order, dag.cost, dag.preds, dag.succs)


def merge_spans(dag: DagCosts, clusters: Clusters, edge_us: Callable[[int], float]) -> tuple[Clusters, DagCosts]:
    sched = simulate_clusters(dag, clusters, edge_us)
    dag = _with_order(dag, order_by_schedule(dag, sched))
    index = {n: i for i, n in enumerate(dag.order)}
    spans = []
    for i, c in enumerate(clusters):
        s = min(sched.start[n] for n in c)
        e = max(sched.end[n] for n in c)
        spans.append((s, e, i))
    spans.sort()
    lanes: list[list[str]] = []
    free: list[tuple[float, int]] = []  # (end time, lane)
    for s, e, i in spans:
        if free and free[0][0] <= s + 1e-9:
            _, lane = heapq.heappop(free)
            lanes[lane] = _join(index, lanes[lane], clusters[i])
        else:
            lane = len(lanes)
            lanes.append(sorted(clusters[i], key=index.__getitem__))
        heapq.heappush(free, (e, lane))
    return lanes, dag


def _candidates(clusters: Clusters, sched: Schedule, limit: int) -> list[tuple[int, int]]:
    """Pairs worth trying: for each cluster, the ``limit`` clusters its span overlaps least."""
    spans = [(min(sched.start[n] for n in c), max(sched.end[n] for n in c)) for c in clusters]
    pairs: set[tuple[int, int]] = set()
    for i, (s1, e1) in enumerate(spans):
        scored = []
        for j, (s2, e2) in enumerate(spans):
            if j != i:
                overlap = max(0.0, min(e1, e2) - max(s1, s2))
                scored.append((overlap, e2 - s2, j))
        scored.sort()
        for _, _, j in scored[:limit]:
            pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def _best_merge(
    dag: DagCosts, clusters: Clusters, edge_us: Callable[[int], float], limit: int
) -> tuple[float, Clusters, DagCosts] | None:
    sched = simulate_clusters(dag, clusters, edge_us)
    dag = _with_order(dag, order_by_schedule(dag, sched))
    index = {n: i for i, n in enumerate(dag.order)}
    best: tuple[float, float, Clusters] | None = None
    pairs = (
        _candidates(clusters, sched, limit)
        if len(clusters) > limit + 1
        else [(i, j) for i in range(len(clusters)) for j in range(i + 1, len(clusters))]
    )
    for i, j in pairs:
        merged = [c for k, c in enumerate(clusters) if k not in (i, j)]
        merged.append(_join(index, clusters[i], clusters[j]))
        span = simulate_clusters(dag, merged, edge_us).makespan
        work = sum(dag.cost[n] for n in clusters[i] + clusters[j])
        key = (span, work)
        if best is None or key < (best[0], best[1]):
            best = (span, work, merged)
    if best is None:
        return None
    return best[0], best[2], dag


def list_schedule_clusters(
    dag: DagCosts, clusters: Clusters, edge_us: Callable[[int], float], workers: int
) -> Clusters:
    """Whole clusters onto ``workers`` lanes, each where the partial simulated makespan grows least."""
    sched = simulate_clusters(dag, clusters, edge_us)
    index = {n: i for i, n in enumerate(dag.order)}
    first = [min(sched.start[n] for n in c) for c in clusters]
    order = sorted(range(len(clusters)), key=lambda i: (first[i], -sum(dag.cost[n] for n in clusters[i])))
    lanes: list[list[str]] = [[] for _ in range(workers)]
    placed: set[str] = set()
    for i in order:
        placed.update(clusters[i])
        sub = DagCosts([n for n in dag.order if n in placed], dag.cost,
                       {n: [(p, b) for p, b in dag.preds.get(n, ()) if p in placed] for n in placed})  # fmt: skip
        best = None
        for w in range(workers):
            trial = [lane + clusters[i] if k == w else lane for k, lane in enumerate(lanes)]
            span = simulate(sub, worker_map(trial), edge_us).makespan
            if best is None or span < best[0] - 1e-9:
                best = (span, w)
        lanes[best[1]] = lanes[best[1]] + clusters[i]
    return [sorted(c, key=index.__getitem__) for c in lanes if c]


def merge_clusters(
    dag: DagCosts, clusters: Clusters, edge_us: Callable[[int], float], workers: int, candidates: int = 6
) -> tuple[Clusters, Clusters, DagCosts]:
    """Returns (clusters after span merging, final clusters ≤ workers, DAG with the execution order)."""
    lanes, dag = merge_spans(dag, clusters, edge_us)
    after_spans = [list(c) for c in lanes]
    current = simulate_clusters(dag, lanes, edge_us).makespan
    while len(lanes) > 1:
        found = _best_merge(dag, lanes, edge_us, candidates)
        if found is None:
            break
        span, merged, new_dag = found
        if span <= current + 1e-6:  # free merge
            lanes, dag, current = merged, new_dag, span
        elif len(lanes) > workers:  # must fit the workers: least harm
            lanes, dag, current = merged, new_dag, span
        else:
            break
    if len(clusters) > workers:
        listed = list_schedule_clusters(dag, clusters, edge_us, workers)
        if simulate_clusters(dag, listed, edge_us).makespan < simulate_clusters(dag, lanes, edge_us).makespan - 1e-6:
            lanes = listed
    final = simulate_clusters(dag, lanes, edge_us)
    dag = _with_order(dag, order_by_schedule(dag, final))
    index = {n: i for i, n in enumerate(dag.order)}
    lanes = [sorted(c, key=index.__getitem__) for c in lanes]
    lanes.sort(key=lambda c: index[c[0]])
    return after_spans, lanes, dag
