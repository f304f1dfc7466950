"""The worker pool: persistent spawn-context processes, started once, reused for every run.

Start-up never forks (safe from a process that already runs threads, such as the
TUI). A run writes the inputs into shared memory, wakes every worker, and waits
for all of them; a dead worker becomes :class:`WorkerDiedError` within a poll
interval, an exception in a worker becomes :class:`WorkerRunError` — never a hang.
``close`` stops the workers and unlinks the segment, also after an error.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import RamielError
from runtime.shm import COPY_NS, MARKS, MAX_MARKS, Arena, Header, Layout
from runtime.worker import CMD_RUN, CMD_STOP, WorkerSpec, worker_main

POLL_S = 0.05


class WorkerDiedError(RamielError):
    """A worker process exited during start-up or a run."""


class WorkerRunError(RamielError):
    """The generated code raised inside a worker."""


@dataclass
class WorkerTiming:
    worker: int
    function: str
    start_ms: float
    end_ms: float
    waits: list[tuple[float, float]]  # (start, end) ms of each blocking wait
    marks: list[tuple[int, float]] = field(default_factory=list)  # (cluster, start ms), workers with several
    copy_ms: float = 0.0  # of the busy time: copying sends and outputs into shared memory

    def cluster_spans(self) -> list[tuple[int, float, float]]:
        """(cluster, start, end) ms of each stretch of a cluster this worker ran (from its marks; the
        schedule may interleave two clusters of one worker, so a cluster can have several stretches)."""
        ends = [t for _, t in self.marks[1:]] + [self.end_ms]
        return [(c, t, e) for (c, t), e in zip(self.marks, ends)]

    def cluster_times(self) -> dict[int, tuple[float, float, float]]:
        """cluster → (first start, last end, ms spent in it) over its stretches."""
        out: dict[int, tuple[float, float, float]] = {}
        for c, a, b in self.cluster_spans():
            s0, e0, ms = out.get(c, (a, b, 0.0))
            out[c] = (min(s0, a), max(e0, b), ms + b - a)
        return out

    @property
    def busy_ms(self) -> float:
        return self.end_ms - self.start_ms - sum(e - s for s, e in self.waits)


@contextlib.contextmanager
def _no_main_reimport():
    """Spawned children would re-import the caller's ``__main__`` script; hide it while starting them."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        if main is not None:
            if hasattr(main, "__file__"):
                del main.__file__
            main.__spec__ = None
        yield
    finally:
        if main is not None:
            for k, v in saved.items():
                setattr(main, k, v)


class WorkerPool:
    def __init__(
        self,
        module_path: str,
        functions: dict[int, str],
        weights: dict[int, list[str]],
        receives: dict[int, dict[str, int]],
        sends: dict[int, dict[str, tuple[int, ...]]],
        n_edges: int,
        layout: Layout,
        threads: int | Sequence[int],
        start_timeout_s: float = 300.0,
        copy_on_wait: set[str] | frozenset[str] = frozenset(),
        backend: str = "torch",
    ) -> None:
        ctx = mp.get_context("spawn")
        self.workers = len(functions)
        per_worker = [threads] * self.workers if isinstance(threads, int) else list(threads)
        if len(per_worker) != self.workers or min(per_worker) < 1:
            raise ValueError(f"thread counts {per_worker} do not fit {self.workers} worker(s)")
        self.functions = functions
        self.arena = Arena(layout, create=True)
        self.closed = False
        self.broken: str | None = None
        self.procs: list = []
        try:
            self.edge_sems = [ctx.Semaphore(0) for _ in range(n_edges)]
            self.start_sems = [ctx.Semaphore(0) for _ in range(self.workers)]
            self.done_sem = ctx.Semaphore(0)
            for w in range(self.workers):
                spec = WorkerSpec(
                    index=w,
                    module_path=module_path,
                    function=functions[w],
                    shm_name=self.arena.name,
                    layout=layout,
                    threads=per_worker[w],
                    weights=tuple(weights.get(w, ())),
                    receives=receives.get(w, {}),
                    sends=sends.get(w, {}),
                    parent_pid=os.getpid(),
                    copy_on_wait=frozenset(copy_on_wait),
                    backend=backend,
                )
                p = ctx.Process(target=worker_main, args=(spec, self.start_sems[w], self.done_sem, self.edge_sems),
                                name=f"ramiel-worker-{w}", daemon=True)  # fmt: skip
                self.procs.append(p)
            with _no_main_reimport():
                for p in self.procs:
                    p.start()
            self._wait_done(timeout_s=start_timeout_s, phase="start-up")
            for w in range(self.workers):
                err = self.arena.error(w)
                if err:
                    raise WorkerDiedError(err)
        except BaseException:
            self.close()
            raise

    def set_threads(self, threads: int) -> None:
        """Intra-op threads of every worker from the next run on (0: each worker's own count, as started)."""
        self.arena.header[Header.THREADS] = threads

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def _wait_done(self, timeout_s: float | None, phase: str) -> None:
        remaining = self.workers
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while remaining:
            if self.done_sem.acquire(timeout=POLL_S):
                remaining -= 1
                continue
            for w, p in enumerate(self.procs):
                if not p.is_alive():
                    self.arena.header[Header.ABORT] = 1
                    self.broken = f"worker {w} (pid {p.pid}) died during {phase} (exit code {p.exitcode})"
                    if not self.arena.exists():
                        self.broken += f"; its shared-memory segment /dev/shm/{self.arena.name} was removed"
                    raise WorkerDiedError(self.broken)
            if deadline is not None and time.monotonic() > deadline:
                self.broken = f"workers did not finish {phase} within {timeout_s:.0f} s"
                raise WorkerDiedError(self.broken)

    def run(
        self, inputs: dict[str, np.ndarray], outputs: list[str]
    ) -> tuple[dict[str, np.ndarray], list[WorkerTiming]]:
        if self.closed or self.broken:
            raise WorkerDiedError(f"the worker pool is not usable: {self.broken or 'closed'}")
        arena = self.arena
        for name, value in inputs.items():
            np.copyto(arena.array(name), value, casting="no")
        arena.clear_errors()
        arena.header[Header.ABORT] = 0
        arena.header[Header.COMMAND] = CMD_RUN
        arena.header[Header.RUN] += 1
        t0 = time.perf_counter_ns()
        arena.header[Header.T0] = t0
        try:
            for s in self.start_sems:
                s.release()
            self._wait_done(timeout_s=None, phase="a run")
        except BaseException:  # a dead worker, Ctrl-C: stop everything, leave nothing behind
            self.close(graceful=False)
            raise
        errors = [e for e in (arena.error(w) for w in range(self.workers)) if e]
        if errors:
            self.broken = errors[0]
            self.close(graceful=False)  # leftover wake-ups make the pool unusable; the session starts a new one
            raise WorkerRunError(errors[0])
        result = {name: arena.array(name).copy() for name in outputs}
        return result, self._timings(t0)

    def _timings(self, t0: int) -> list[WorkerTiming]:
        out = []
        for w in range(self.workers):
            row = self.arena.timing[w]
            n = min(int(row[2]), (len(row) - 3) // 2)
            waits = [((row[3 + 2 * i] - t0) / 1e6, (row[4 + 2 * i] - t0) / 1e6) for i in range(n)]
            k = min(int(row[MARKS]), MAX_MARKS)
            marks = [(int(row[MARKS + 1 + 2 * i]), (row[MARKS + 2 + 2 * i] - t0) / 1e6) for i in range(k)]
            out.append(WorkerTiming(w, self.functions[w], (row[0] - t0) / 1e6, (row[1] - t0) / 1e6, waits, marks,
                                    row[COPY_NS] / 1e6))  # fmt: skip
        return out

    def close(self, graceful: bool = True) -> None:
        """Stop the workers (asked to exit; terminated after 2 s, or at once when not ``graceful``)."""
        if self.closed:
            return
        self.closed = True
        if getattr(self, "arena", None) is not None and self.arena.header is not None:
            self.arena.header[Header.COMMAND] = CMD_STOP
            self.arena.header[Header.ABORT] = 1
        for s in getattr(self, "start_sems", []):
            s.release()
        deadline = time.monotonic() + (2.0 if graceful else 0.0)
        for p in self.procs:
            if p.pid is None:
                continue
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(timeout=1.0)
            if p.is_alive():
                p.kill()
                p.join(timeout=1.0)
        for p in self.procs:
            with contextlib.suppress(Exception):
                p.close()
        self.procs = []
        self.arena.close()
        # dropping the semaphores lets multiprocessing unlink their /dev/shm entries
        self.edge_sems = []
        self.start_sems = []
        self.done_sem = None
