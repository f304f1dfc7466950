"""Measured runs: the session's parallel plan against its own serial run and ONNX Runtime,
interleaved in one process, with the output check against ONNX Runtime."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.verify import max_abs_diff, ort_session
from runtime.pool import WorkerTiming
from runtime.session import ParallelSession, cpu_budget


@dataclass
class Series:
    samples_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    def summary(self) -> dict[str, float]:
        s = self.samples_ms
        return (
            {"median": round(self.median, 3), "min": round(min(s), 3), "max": round(max(s), 3), "runs": len(s)}
            if s
            else {}
        )


@dataclass
class Measurement:
    mode: str  # parallel | sequential
    serial: Series
    parallel: Series
    ort: dict[str, Series]  # "intra=1", "intra=P"
    max_abs_diff: dict[str, float]
    workers: list[WorkerTiming]

    @property
    def speedup(self) -> float:
        return self.serial.median / self.parallel.median if self.parallel.samples_ms else float("nan")


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def measure(
    sess: ParallelSession,
    repeats: int = 20,
    with_ort: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Measurement:
    """``repeats`` rounds of: serial (one thread, this process), parallel (the session), ORT."""
    g = sess.compiled.plan.graph  # the batch-1 graph
    samples, feeds = sess.sample_feeds()
    model = sess.compiled.source or sess.compiled.model
    ort_sessions = {}
    if with_ort:
        p = cpu_budget()
        ort_sessions = {"intra=1": ort_session(model, threads=1), f"intra={p}": ort_session(model, threads=p)}

    def ort_run(s) -> list:  # a batch-1 model: ONNX Runtime runs the samples one after another
        outs = [s.run(None, x) for x in samples]
        return [np.concatenate(parts) for parts in zip(*outs)] if len(outs) > 1 else outs[0]

    reference = ort_run(next(iter(ort_sessions.values()))) if ort_sessions else None
    ours = sess.run(None, feeds)  # warm-up, and the output check
    sess.run_serial(feeds)
    diffs = {}
    if reference is not None:
        diffs = {name: max_abs_diff(a, b) for name, a, b in zip(g.outputs, ours, reference)}
    serial, parallel = Series(), Series()
    ort = {k: Series() for k in ort_sessions}
    for s in ort_sessions.values():
        ort_run(s)
    for i in range(repeats):
        if cancelled is not None and cancelled():
            break
        serial.samples_ms.append(_time(lambda: sess.run_serial(feeds, threads=1)))
        parallel.samples_ms.append(_time(lambda: sess.run(None, feeds)))
        for k, s in ort_sessions.items():
            ort[k].samples_ms.append(_time(lambda s=s: ort_run(s)))
        if progress is not None:
            progress(i + 1, repeats)
    workers = sess.last_run_timings.workers if sess.last_run_timings else []
    return Measurement("parallel" if sess.parallel else "sequential", serial, parallel, ort, diffs, workers)


def measurement_dict(m: Measurement, sess: ParallelSession) -> dict:
    plan = sess.plan
    predicted = {}
    for w in sess.module.functions:
        nodes = [n for i, c in enumerate(plan.clusters) if plan.cluster_worker[i] == w for n in c]
        predicted[w] = sum(plan.cost.node_us[n] for n in nodes) / 1e3
    best_ort = min((s.median for s in m.ort.values()), default=float("nan"))
    return {
        "mode": m.mode,
        # 0: the whole graph ran in the caller's process (intra-op won at start, or a sequential ort plan)
        "workers": 0 if sess.in_process else sess.workers if sess.parallel else 1,
        "threads_per_worker": sess.threads_per_worker,
        # per-worker counts where the workers differ (inter x intra-op), else None
        "worker_threads": list(sess.worker_threads) if sess.threads_label != str(sess.threads_per_worker) else None,
        "repeats": len(m.serial.samples_ms),
        "serial_ms": m.serial.summary(),
        "parallel_ms": m.parallel.summary(),
        "onnxruntime_ms": {k: s.summary() for k, s in m.ort.items()},
        "speedup_vs_serial": round(m.speedup, 3),
        "ratio_to_best_onnxruntime": round(m.parallel.median / best_ort, 3) if m.ort else None,
        "predicted_makespan_ms": round(plan.makespan_us / 1e3, 3),
        "max_abs_diff_vs_onnxruntime": {k: float(f"{v:.3g}") for k, v in m.max_abs_diff.items()},
        "per_worker_last_run": [
            {
                "worker": t.worker,
                "function": t.function,
                "start_ms": round(t.start_ms, 3),
                "end_ms": round(t.end_ms, 3),
                "busy_ms": round(t.busy_ms, 3),
                "copy_ms": round(t.copy_ms, 3),
                "wait_ms": round(sum(e - s for s, e in t.waits), 3),
                "waits": len(t.waits),
                "predicted_work_ms": round(predicted.get(t.worker, 0.0), 3),
                "clusters": [
                    {
                        "cluster": c,
                        "start_ms": round(a, 3),
                        "end_ms": round(b, 3),
                        "measured_ms": round(ms, 3),
                        "predicted_work_ms": round(plan.cluster_work(c) / 1e3, 3),
                    }
                    for c, (a, b, ms) in t.cluster_times().items()
                ],
            }
            for t in m.workers
        ],
    }
