"""The app's Run job: measured repeats of the plan in a spawned process, streamed back as progress. No Textual.

The app's thread worker calls :func:`run_measured`, which starts one measuring process from
a spawn context (never a fork of the app); that process rebuilds the plan from the same
options and costs, owns the ParallelSession (whose workers are spawned too), runs
``runtime.measure.measure`` and closes the session, also when cancelled or on error.
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis


@dataclass(frozen=True)
class WorkerRun:
    """One worker's part of one parallel run (ms from the run's start)."""

    worker: int
    function: str
    start_ms: float
    end_ms: float
    waits: tuple[tuple[float, float], ...] = ()

    @property
    def wait_ms(self) -> float:
        return sum(e - s for s, e in self.waits)

    @property
    def busy_ms(self) -> float:
        return self.end_ms - self.start_ms - self.wait_ms

    @classmethod
    def from_timing(cls, t: Any) -> WorkerRun:
        return cls(int(t.worker), str(t.function), float(t.start_ms), float(t.end_ms),
                   tuple((float(s), float(e)) for s, e in t.waits))  # fmt: skip


@dataclass(frozen=True)
class RunUpdate:
    """Progress of a run: ``done`` of ``total`` repeats; the last parallel run when there is one."""

    done: int
    total: int
    stage: str
    wall_ms: float | None = None
    workers: tuple[WorkerRun, ...] = ()


@dataclass
class RunResult:
    """A finished (or cancelled part-way) measurement."""

    data: dict[str, Any]  # runtime.measure.measurement_dict: the report's "run" section
    samples_ms: dict[str, list[float]]  # series label → latency of each repeat
    workers: list[WorkerRun]  # the last parallel run
    wall_ms: float  # the last parallel run, as the caller saw it
    repeats: int  # asked for
    cancelled: bool = False
    options: Any = None  # the PlanOptions the run used
    per_run_workers: list[list[WorkerRun]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return len(next(iter(self.samples_ms.values()), []))


Runner = Callable[["Analysis", int, Callable[[RunUpdate], None], Callable[[], bool]], "RunResult | None"]


class RunError(Exception):
    """The measuring process reported an error or died."""


def where_it_ran(run: dict[str, Any], times: str = "×") -> str:
    """How a measured run executed: "2 worker(s) × 1 thread(s)", or "in this process, 2 thread(s)"
    when the whole graph ran in the caller (``workers`` 0)."""
    where = f"{run['workers']} worker(s) {times} " if run["workers"] else "in this process, "
    threads = "/".join(map(str, run["worker_threads"])) if run.get("worker_threads") else run["threads_per_worker"]
    return f"{where}{threads} thread(s)"


def series_labels(workers: int, mode: str) -> tuple[str, str]:
    par = f"ramiel parallel ({workers} workers)" if mode == "parallel" else "ramiel sequential fallback"
    return par, "ramiel serial (1 thread)"


@dataclass(frozen=True)
class MeasureJob:
    """What the measuring process needs to rebuild exactly the plan the app shows."""

    path: str
    options: Any  # core.plan.PlanOptions
    costs: Any  # core.cost.CostModel of the graph after CP/DCE: the same costs give the same plan
    repeats: int
    quiet: bool = True  # send the process's (and its workers') stdout/stderr to /dev/null: the terminal is the app's
    nice: int = 5


def run_measured(
    analysis: Analysis,
    repeats: int,
    update: Callable[[RunUpdate], None],
    cancelled: Callable[[], bool],
    on_process: Callable[[int], None] | None = None,
) -> RunResult | None:
    """Measure ``analysis``'s plan in a separate (spawned) process; ``None``: cancelled before a repeat finished.

    The measuring process owns the ParallelSession and its workers, so the serial baseline and
    ONNX Runtime run in a process that draws no UI (in the app's own process they ran up to 3x
    slower), and nothing they print reaches the app's terminal.
    """
    import multiprocessing as mp

    from ramiel_tui.analysis import base_costs
    from runtime.pool import _no_main_reimport

    job = MeasureJob(analysis.compiled.source, analysis.options, base_costs(analysis.plan), repeats)
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    # not a daemon: it starts the session's own worker processes; it stops by itself if the app goes away
    proc = ctx.Process(target=measure_main, args=(job, send, stop, os.getpid()), name="ramiel-measure")
    update(RunUpdate(0, repeats, "starting the measuring process"))
    with _no_main_reimport():
        proc.start()
    send.close()
    if on_process is not None:
        on_process(proc.pid)
    try:
        while True:
            if cancelled() and not stop.is_set():
                stop.set()
            if receive.poll(0.05):
                try:
                    kind, payload = receive.recv()
                except EOFError:
                    raise RunError(f"the measuring process exited (code {proc.exitcode})") from None
                if kind == "progress":
                    update(payload)
                elif kind == "done":
                    return payload
                elif kind == "cancelled":
                    return None
                else:
                    raise RunError(payload)
            elif not proc.is_alive() and not receive.poll():
                raise RunError(f"the measuring process exited (code {proc.exitcode})")
    finally:
        stop.set()
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        receive.close()


def measure_main(job: MeasureJob, conn: Any, stop: Any, app_pid: int) -> None:
    """Entry point of the measuring process: compile, start the session, measure, close, report."""
    # A little less CPU priority than the app (its workers inherit it): every variant is measured
    # alike, and on a small board the app keeps answering keys while the workers start and run.
    with contextlib.suppress(OSError):
        os.nice(job.nice)
    if job.quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)

    def send(kind: str, payload: Any) -> None:
        conn.send((kind, payload))

    try:
        result = _measure(job, lambda u: send("progress", u), lambda: stop.is_set() or os.getppid() != app_pid)
        send("cancelled", None) if result is None else send("done", result)
    except BaseException as exc:  # noqa: BLE001  (one line back to the app)
        text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
        mod = type(exc).__module__
        send("error", text if mod.startswith(("core.", "runtime.")) and text else f"{type(exc).__name__}: {text}")
    finally:
        conn.close()


def _measure(job: MeasureJob, update: Callable[[RunUpdate], None], cancelled: Callable[[], bool]) -> RunResult | None:
    from core.pipeline import compile_model
    from runtime.measure import measure, measurement_dict
    from runtime.session import ParallelSession

    o, repeats = job.options, job.repeats
    update(RunUpdate(0, repeats, "compiling in the measuring process"))
    compiled = compile_model(job.path, o, cost=job.costs)
    if cancelled():
        return None
    parallel = compiled.plan.decision.parallel and o.workers > 1 and len(compiled.plan.clusters) > 1
    update(RunUpdate(0, repeats, f"starting {o.workers if parallel else 1} worker process(es)"))
    sess = ParallelSession(compiled.source, workers=o.workers, compiled=compiled)
    per_run: list[list[WorkerRun]] = []
    try:
        if cancelled():
            return None
        update(RunUpdate(0, repeats, "warm-up, ONNX Runtime sessions, output check"))

        def progress(i: int, n: int) -> None:
            t = sess.last_run_timings
            workers = tuple(WorkerRun.from_timing(w) for w in t.workers) if t else ()
            per_run.append(list(workers))
            update(RunUpdate(i, n, "measuring", t.wall_ms if t else None, workers))

        m = measure(sess, repeats=repeats, with_ort=True, progress=progress, cancelled=cancelled)
        if not m.parallel.samples_ms:
            return None
        data = measurement_dict(m, sess)
        par, ser = series_labels(data["workers"], m.mode)
        samples = {par: list(m.parallel.samples_ms), ser: list(m.serial.samples_ms)}
        samples.update({f"onnxruntime {k}": list(s.samples_ms) for k, s in m.ort.items()})
        t = sess.last_run_timings
        return RunResult(
            data=data,
            samples_ms=samples,
            workers=[WorkerRun.from_timing(w) for w in m.workers],
            wall_ms=t.wall_ms if t else float("nan"),
            repeats=repeats,
            cancelled=len(m.parallel.samples_ms) < repeats,
            options=o,
            per_run_workers=per_run,
        )
    finally:
        sess.close()


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def chrome_trace(result: RunResult, analysis: Analysis | None = None) -> dict[str, Any]:
    """The last run as Chrome-trace JSON (chrome://tracing, Perfetto): compute and waits per worker;
    with ``analysis``, the simulated schedule node by node as a second process."""
    events: list[dict[str, Any]] = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": 1,
            "args": {"name": f"measured: last run ({result.wall_ms:.2f} ms)"},
        },
    ]
    for w in result.workers:
        events.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": 1,
                "tid": w.worker,
                "args": {"name": f"worker {w.worker} ({w.function})"},
            }
        )
        t = w.start_ms
        for s, e in sorted(w.waits):
            if s > t:
                events.append(_x(w.function, "compute", t, s, 1, w.worker))
            events.append(_x("wait", "wait", s, e, 1, w.worker))
            t = max(t, e)
        if w.end_ms > t:
            events.append(_x(w.function, "compute", t, w.end_ms, 1, w.worker))
    if analysis is not None:
        plan = analysis.plan
        events.append(
            {
                "name": "process_name",
                "ph": "M",
                "pid": 2,
                "args": {"name": f"predicted: simulated schedule ({plan.makespan_us / 1e3:.2f} ms)"},
            }
        )
        for i, nodes in enumerate(plan.clusters):
            wk = analysis.run_worker_of_cluster(i)
            for n in nodes:
                op = plan.graph.node_by_name[n].op_type
                ev = _x(op, "predicted", plan.schedule.start[n] / 1e3, plan.schedule.end[n] / 1e3, 2, wk)
                ev["args"] = {"node": n, "cluster": i, "critical": plan.cp.on_path(n)}
                events.append(ev)
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"tool": "ramiel-tui", "run": result.data}}


def _x(name: str, cat: str, start_ms: float, end_ms: float, pid: int, tid: int) -> dict[str, Any]:
    return {"name": name, "cat": cat, "ph": "X", "ts": round(start_ms * 1e3, 3), "dur": round(max(0.0, end_ms - start_ms) * 1e3, 3),
            "pid": pid, "tid": tid}  # fmt: skip
