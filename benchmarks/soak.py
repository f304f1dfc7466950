"""Soak: many inferences through one ParallelSession; resident memory of the caller and of every worker
sampled every N runs, and whether it stays flat.

    python benchmarks/soak.py [--runs 10000] [--every 500] [--workers 2] [--model sample_models/inception_mini.onnx]

Memory is RSS and PSS from /proc/PID/smaps_rollup (PSS splits shared pages, the weights file and the
segment among the processes that map them). The first sample is taken after a warm-up of ``--every``
runs (allocator pools, lazily loaded kernels); "flat" means every later sample is within ``--tolerance``
(5 %) of that first one, for the caller and for each worker. Every ``--every`` runs the outputs are also
compared with ONNX Runtime's. Exit status 1 if memory is not flat or an output differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def memory_kib(pid: int) -> dict[str, int]:
    """RSS and PSS in KiB (smaps_rollup; RSS from statm where it is missing)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss"):
                    out[key.lower()] = int(rest.split()[0])
    except OSError:
        with open(f"/proc/{pid}/statm") as f:
            out["rss"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "sample_models" / "inception_mini.onnx"))
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--json", type=Path, help="also write the series here")
    args = ap.parse_args()

    from core.verify import allclose, ort_session
    from runtime import ParallelSession

    rng = np.random.default_rng(0)
    sess = ParallelSession(args.model, workers=args.workers, force_parallel=True)
    ort = ort_session(args.model)
    pids = {"caller": os.getpid(), **{f"worker{i}": p for i, p in enumerate(sess.worker_pids)}}
    inputs = sess.get_inputs()
    ort.run(None, {a.name: np.zeros(a.shape, np.float32) for a in inputs})  # ORT's arena, before the first sample
    print(f"{Path(args.model).name}: {len(sess.worker_pids)} workers ({'parallel' if sess.parallel else 'sequential'}), "
          f"{args.runs} runs, sample every {args.every}")  # fmt: skip
    series = []
    mismatches = 0
    t_start = time.perf_counter()
    t_block = t_start
    for run in range(1, args.runs + 1):
        feeds = {a.name: rng.random(a.shape, dtype=np.float32) for a in inputs}
        outs = sess.run(None, feeds)
        if run % args.every == 0:
            ref = ort.run(None, feeds)
            mismatches += sum(not allclose(a, b) for a, b in zip(outs, ref))
            now = time.perf_counter()
            sample = {"run": run, "ms_per_run": round((now - t_block) * 1e3 / args.every, 3)}
            t_block = now
            for who, pid in pids.items():
                sample[who] = memory_kib(pid)
            series.append(sample)
            cells = "  ".join(f"{who} rss {sample[who]['rss'] / 1024:7.1f} pss {sample[who].get('pss', 0) / 1024:7.1f}"
                              for who in pids)  # fmt: skip
            print(f"{run:6d}  {sample['ms_per_run']:6.2f} ms/run  {cells}  (MiB)", flush=True)
    sess.close()
    elapsed = time.perf_counter() - t_start

    flat = True
    print(
        f"\n{args.runs} runs in {elapsed:.0f} s; outputs compared with ONNX Runtime {len(series)} times, {mismatches} differ"
    )
    for who in pids:
        for key in ("rss", "pss"):
            values = [s[who].get(key) for s in series if s[who].get(key) is not None]
            if not values:
                continue
            base = values[0]
            drift = max(abs(v - base) for v in values) / base if base else 0.0
            ok = drift <= args.tolerance
            flat &= ok
            print(f"{who:8s} {key}: first {base / 1024:.1f} MiB, last {values[-1] / 1024:.1f} MiB, "
                  f"max {max(values) / 1024:.1f} MiB, max drift from first {drift * 100:.2f} % -> {'flat' if ok else 'NOT flat'}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "runs": args.runs, "series": series}, indent=1))
    print(f"\nmemory flat within {args.tolerance * 100:.0f} %: {'yes' if flat else 'no'}")
    return 0 if flat and not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
