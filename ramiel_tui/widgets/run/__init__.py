"""The Run and Timeline views: progress, speedup and per-cluster tables, Gantt, latency per run."""
