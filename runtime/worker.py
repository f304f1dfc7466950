"""The worker process: imports the generated module once, loads only its own weights,
then runs its function for every inference the pool starts.

Nothing here imports torch before the thread budget is set, and nothing is
pickled per run: inputs, hand-offs and outputs are views on the shared segment.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from runtime.shm import COPY_NS, MARKS, MAX_MARKS, MAX_WAITS, Arena, Header, Layout

CMD_RUN, CMD_STOP = 1, 2
POLL_S = 0.25  # how often a blocked worker checks for an abort or a dead parent


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    module_path: str
    function: str
    shm_name: str
    layout: Layout
    threads: int
    weights: tuple[str, ...]
    receives: dict[str, int]  # tensor → index of its semaphore (this worker's copy)
    sends: dict[str, tuple[int, ...]]  # tensor → semaphores of the consumers
    parent_pid: int
    copy_on_wait: frozenset[str] = frozenset()  # tensors whose slot is reused later in the run
    backend: str = "torch"  # "ort": the module runs onnxruntime segments and never imports torch


class Abort(Exception):
    """The run was aborted elsewhere; unwind quietly."""


def import_generated(path: str, name: str = "ramiel_generated"):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class Exchange:
    """``X`` in the generated code: inputs, waits, sends and outputs on shared memory."""

    def __init__(self, spec: WorkerSpec, arena: Arena, edge_sems) -> None:
        self.spec = spec
        self.arena = arena
        self.sems = edge_sems
        self.torch = spec.backend != "ort"
        if self.torch:
            import torch

            self.views = {name: torch.from_numpy(arena.array(name)) for name in spec.layout.slots}
        else:  # numpy views: onnxruntime reads them in place
            self.views = {name: arena.array(name) for name in spec.layout.slots}
        self.timing = arena.timing[spec.index]
        self.waits = 0

    def _aborted(self) -> bool:
        return bool(self.arena.header[Header.ABORT]) or os.getppid() != self.spec.parent_pid

    def input(self, name: str):
        return self.views[name]

    def wait(self, name: str):
        sem = self.sems[self.spec.receives[name]]
        t0 = time.perf_counter_ns()
        while not sem.acquire(timeout=POLL_S):
            if self._aborted():
                raise Abort
        if self.arena.header[Header.ABORT]:
            raise Abort
        t1 = time.perf_counter_ns()
        if self.waits < MAX_WAITS:
            self.timing[3 + 2 * self.waits] = t0
            self.timing[4 + 2 * self.waits] = t1
        self.waits += 1
        view = self.views[name]
        if name not in self.spec.copy_on_wait:
            return view
        return view.clone() if self.torch else view.copy()

    def mark(self, cluster: int) -> None:
        """Cluster ``cluster`` starts now (per-cluster times when a worker runs several)."""
        k = int(self.timing[MARKS])
        if k < MAX_MARKS:
            self.timing[MARKS + 1 + 2 * k] = cluster
            self.timing[MARKS + 2 + 2 * k] = time.perf_counter_ns()
            self.timing[MARKS] = k + 1

    def _put(self, name: str, value) -> None:
        view = self.views[name]
        if tuple(value.shape) != tuple(view.shape):
            raise ValueError(f"tensor {name!r} has shape {tuple(value.shape)}, the plan expected {tuple(view.shape)}")
        t0 = time.perf_counter_ns()
        if self.torch:
            view.copy_(value)
        else:
            view[...] = value
        self.timing[COPY_NS] += time.perf_counter_ns() - t0

    def send(self, name: str, value) -> None:
        self._put(name, value)
        for i in self.spec.sends[name]:
            self.sems[i].release()

    def output(self, name: str, value) -> None:
        self._put(name, value)


def _injected_fault(worker: int, run: int) -> None:
    """Test hook: ``RAMIEL_TEST_FAULT=KIND:W:R[:ONCE_FILE]`` acts in worker W during run R (KIND: raise, sleep).

    With ONCE_FILE, the fault fires only while that file does not exist, and creates it.
    """
    fault = os.environ.get("RAMIEL_TEST_FAULT")
    if not fault:
        return
    kind, w, r, *once = fault.split(":", 3)
    if int(w) != worker or int(r) != run:
        return
    if once:
        try:
            os.close(os.open(once[0], os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
    if kind == "raise":
        raise RuntimeError("injected fault")
    if kind == "sleep":
        time.sleep(60)


class _Compute:
    """The generated module and its weights (torch tensors, or onnxruntime sessions)."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.threads = spec.threads
        if spec.backend == "ort":
            self.mod = import_generated(spec.module_path)
            self.weights = self.mod.load_weights(names=spec.weights, threads=spec.threads)
            return
        import torch

        self.torch = torch
        torch.set_num_threads(spec.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        self.mod = import_generated(spec.module_path)
        self.weights = self.mod.load_weights(names=set(spec.weights))

    def set_threads(self, want: int) -> None:
        if not want or want == self.threads:
            return
        self.threads = want
        if self.spec.backend == "ort":  # an onnxruntime session's thread pool is fixed when it is made
            self.weights = self.mod.load_weights(names=self.spec.weights, threads=want)
        else:
            self.torch.set_num_threads(want)

    def run(self, fn, x) -> None:
        if self.spec.backend == "ort":
            fn(self.weights, x)
        else:
            with self.torch.no_grad():
                fn(self.weights, x)


PARENT_POLL_S = 0.1


def _exit_with_parent(parent_pid: int) -> None:
    """Leave at once when the caller is gone (SIGKILL, SIGTERM, a crash), even in the middle of a long op:
    nothing else would stop an orphan, and the segment is unlinked only when every user has left."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent_pid:
            os._exit(1)


def worker_main(spec: WorkerSpec, start_sem, done_sem, edge_sems) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    threading.Thread(target=_exit_with_parent, args=(spec.parent_pid,), name="ramiel-parent-watch", daemon=True).start()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(spec.threads)
    try:
        arena = Arena(spec.layout, spec.shm_name)
    except OSError:  # the segment is gone (removed under the pool): the pool reports it
        sys.exit(3)
    try:
        compute = _Compute(spec)
        fn = getattr(compute.mod, spec.function)
        x = Exchange(spec, arena, edge_sems)
    except BaseException as exc:  # noqa: BLE001  (report any start-up failure to the caller)
        arena.set_error(spec.index, f"worker {spec.index} failed to start: {type(exc).__name__}: {exc}")
        done_sem.release()
        arena.close()
        return
    done_sem.release()  # ready
    timing = arena.timing[spec.index]
    try:
        while True:
            if not start_sem.acquire(timeout=1.0):
                if os.getppid() != spec.parent_pid:
                    break
                continue
            if arena.header[Header.COMMAND] == CMD_STOP:
                break
            compute.set_threads(int(arena.header[Header.THREADS]) or spec.threads)
            x.waits = 0
            timing[MARKS] = 0
            timing[COPY_NS] = 0
            timing[0] = time.perf_counter_ns()
            try:
                _injected_fault(spec.index, int(arena.header[Header.RUN]))
                compute.run(fn, x)
            except Abort:
                pass
            except BaseException as exc:  # noqa: BLE001
                where = traceback.extract_tb(exc.__traceback__)[-1]
                arena.set_error(
                    spec.index,
                    f"{type(exc).__name__} in {spec.function} ({os.path.basename(where.filename)}:{where.lineno}): {exc}",
                )
                arena.header[Header.ABORT] = 1
            timing[1] = time.perf_counter_ns()
            timing[2] = x.waits
            done_sem.release()
    finally:
        x.views.clear()
        del timing, x
        arena.close()
