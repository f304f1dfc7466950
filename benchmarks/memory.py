"""Resident memory of a ParallelSession (caller + workers) against ONNX Runtime, same model.

    python benchmarks/memory.py .zoo/nasnetalarge.onnx --workers 2 4

Each variant runs in a fresh subprocess (so nothing else is counted), does a few inferences,
then reports the sum over its processes of RSS and of PSS (proportional set size: pages
shared between processes, such as the memory-mapped weights, counted once in total).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys
import numpy as np
sys.path.insert(0, {root!r})

def mem(pid):
    rss = pss = 0
    with open(f"/proc/{{pid}}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"): rss = int(line.split()[1])
            if line.startswith("Pss:"): pss = int(line.split()[1])
    return rss, pss

path, kind, workers, backend = {path!r}, {kind!r}, {workers!r}, {backend!r}
if kind == "ort":
    from core.verify import ort_session
    s = ort_session(path, threads=workers)
    feeds = {{i.name: np.random.rand(*i.shape).astype(np.float32) for i in s.get_inputs()}}
    for _ in range(3): s.run(None, feeds)
    pids = [os.getpid()]
else:
    from runtime import ParallelSession
    s = ParallelSession(path, workers=workers, force_parallel=True, backend=backend)
    feeds = {{a.name: np.random.rand(*a.shape).astype(np.float32) for a in s.get_inputs()}}
    for _ in range(3): s.run(None, feeds)
    pids = [os.getpid()] + s.worker_pids
totals = [mem(p) for p in pids]
print(json.dumps({{"processes": len(pids), "rss_mb": sum(r for r, _ in totals) / 1024, "pss_mb": sum(p for _, p in totals) / 1024}}))
if kind != "ort": s.close()
"""


def measure(path: str, kind: str, workers: int, backend: str = "auto") -> dict:
    code = CHILD.format(root=str(ROOT), path=path, kind=kind, workers=workers, backend=backend)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--backend", nargs="+", default=["torch", "ort"], choices=["torch", "ort", "auto"])
    args = ap.parse_args()
    ort = measure(args.model, "ort", 1)
    print(f"onnxruntime (1 process): RSS {ort['rss_mb']:.0f} MB, PSS {ort['pss_mb']:.0f} MB")
    for backend in args.backend:
        for w in args.workers:
            r = measure(args.model, "ramiel", w, backend)
            print(f"ramiel {backend} backend, {w} workers ({r['processes']} processes): RSS {r['rss_mb']:.0f} MB ({r['rss_mb'] / ort['rss_mb']:.2f}x ORT), "
                  f"PSS {r['pss_mb']:.0f} MB ({r['pss_mb'] / ort['pss_mb']:.2f}x ORT)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
