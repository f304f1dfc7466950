"""Critical-path linear clustering (Kim & Browne; the Ramiel paper's first step).

Repeatedly take the heaviest path (node costs + the hand-off cost of every edge
along it) through the nodes not yet assigned, and make it one cluster. Each
cluster is a chain: consecutive nodes are producer and consumer, so inside it
no hand-off is ever needed.
"""

from __future__ import annotations

from collections.abc import Callable

from core.schedule import DagCosts


def linear_clusters(dag: DagCosts, edge_us: Callable[[int], float]) -> list[list[str]]:
    """Clusters in the order they were found (heaviest path first); nodes in topological order."""
    remaining = list(dag.order)
    clusters: list[list[str]] = []
    while remaining:
        alive = set(remaining)
        dist: dict[str, float] = {}
        back: dict[str, str | None] = {}
        best_end, best_len = remaining[0], -1.0
        for n in remaining:
            d, arg = 0.0, None
            for p, nbytes in dag.preds.get(n, ()):
                if p in alive:
                    cand = dist[p] + edge_us(nbytes)
                    if cand > d or arg is None and cand >= d:
                        d, arg = cand, p
            dist[n] = d + dag.cost[n]
            back[n] = arg
            if dist[n] > best_len:
                best_end, best_len = n, dist[n]
        path: list[str] = []
        cur: str | None = best_end
        while cur is not None:
            path.append(cur)
            cur = back[cur]
        path.reverse()
        clusters.append(path)
        taken = set(path)
        remaining = [n for n in remaining if n not in taken]
    return clusters
