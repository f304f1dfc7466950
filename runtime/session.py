"""``ParallelSession``: ONNX Runtime's ``InferenceSession`` shape, Ramiel's parallel execution.

    from runtime import ParallelSession
    with ParallelSession("model.onnx", workers=2) as sess:
        outputs = sess.run(None, {"input": x})

When the analysis predicts that parallel execution cannot pay (see ``decision``),
the session runs the same generated code on one worker process with the whole
thread budget (intra-op parallelism) instead. Either way the caller's own torch
settings are left alone.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from core.codegen import resolve_shapes
from core.cost import cpu_budget
from core.errors import EmitError, InputFeedError, OptionError, first_line
from core.parallel_codegen import ParallelModule, execution_order, generate_parallel, worker_of_nodes
from core.pipeline import Compiled, compile_model
from core.plan import Plan, PlanOptions
from runtime.pool import WorkerPool, WorkerTiming
from runtime.shm import Layout, plan_layout
from runtime.worker import import_generated

ONNX_TYPE_NAMES = {
    "float32": "tensor(float)", "float64": "tensor(double)", "float16": "tensor(float16)", "int64": "tensor(int64)",
    "int32": "tensor(int32)", "int16": "tensor(int16)", "int8": "tensor(int8)", "uint8": "tensor(uint8)",
    "bool": "tensor(bool)",
}  # fmt: skip


@dataclass(frozen=True)
class NodeArg:
    """Like ``onnxruntime.NodeArg``: name, shape, type."""

    name: str
    shape: list
    type: str


@dataclass
class RunTimings:
    wall_ms: float
    workers: list[WorkerTiming]


def trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc keeps them otherwise: the compiler's copies of the
    weights would stay resident in the caller)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def share_slots(plan: Plan, pm: ParallelModule) -> tuple[dict[str, str], set[str]]:
    """Hand-off slots to reuse: tensor b may take a's slot when every reader of a runs on b's
    producer's worker before b is produced (program order then guarantees a is dead).

    Returns {b: slot root} and the tensors whose slot is taken over later: their readers must
    copy them on arrival, because torch ops such as reshape or transpose return views that
    would otherwise still point into the slot when b overwrites it."""
    g = plan.graph
    order = execution_order(plan)
    pos = {n: i for i, n in enumerate(order)}
    worker_of = worker_of_nodes(plan)
    fixed = set(g.inputs) | set(g.outputs)
    cross = sorted((c for c in pm.cross if c.name not in fixed), key=lambda c: pos[g.producer(c.name).name])
    nbytes = {c.name: c.nbytes for c in pm.cross}
    occupant: dict[str, str] = {}  # slot root → tensor living in it
    share: dict[str, str] = {}
    evicted: set[str] = set()
    for c in cross:
        made_at = pos[g.producer(c.name).name]
        for root, a in occupant.items():
            readers = g.consumers(a)
            if all(worker_of[r.name] == c.producer and pos[r.name] < made_at for r in readers):
                if np.prod(c.shape or (0,)) * np.dtype(c.dtype).itemsize <= nbytes[root]:
                    share[c.name] = root
                    evicted.add(a)
                    occupant[root] = c.name
                    break
        else:
            occupant[c.name] = c.name
    return share, evicted


class ParallelSession:
    def __init__(
        self,
        model: str | os.PathLike | onnx.ModelProto,
        workers: int | str = 2,
        *,
        cp_dce: bool = True,
        cloning: bool = True,
        merging: bool = True,
        cost: str = "auto",
        backend: str = "auto",
        batch: int = 1,
        hybrid: bool = True,
        threads_per_worker: int | Sequence[int] | str | None = None,
        force_parallel: bool = False,
        compiled: Compiled | None = None,
    ) -> None:
        self._pool: WorkerPool | None = None
        self._run_lock = threading.Lock()
        self._tmp: str | None = None
        if compiled is None:
            from runtime.calibrate import ensure_profile

            ensure_profile()  # hand-off cost measured once per machine, then cached
        if not (workers == "auto" or (isinstance(workers, int) and workers >= 1)):
            raise OptionError(f"workers={workers!r}: give a count of at least 1, or 'auto'")
        options = PlanOptions(
            workers=workers if isinstance(workers, int) else 2,
            cp_dce=cp_dce,
            cloning=cloning,
            merging=merging,
            cost=cost,
            backend=backend,
            batch=batch,
        )  # fmt: skip
        self.auto_choice = ""  # workers="auto": what the simulator chose, and why
        chosen_parallel = False
        if workers == "auto":
            from core.scaling import auto_configuration

            choice = auto_configuration(model, options, compiled)
            compiled, workers, self.auto_choice = choice.compiled, choice.workers, choice.reason
            chosen_parallel = choice.threads is not None
            if threads_per_worker is None and choice.threads is not None:
                threads_per_worker = choice.threads
        self.compiled = compiled or compile_model(model, options)
        self.plan = self.compiled.plan
        self.workers = workers
        self.batch = self.plan.options.batch if self.plan.hyper is not None else 1
        self.parallel = (
            (self.plan.decision.parallel or force_parallel or chosen_parallel) and workers > 1 and len(self.plan.clusters) > 1
        )  # fmt: skip
        self.decision = self.plan.decision
        if self.auto_choice:
            from core.plan import Decision

            self.decision = Decision(self.parallel, f"workers auto, {self.auto_choice}; plan: {self.decision.reason}")
        g = self.plan.graph
        if all(g.info(t).is_static for t in g.inputs):
            resolve_shapes(g)  # symbolic shapes inside the graph (e.g. run-time pads) made concrete
        self._inputs = [(t, g.info(t)) for t in g.inputs]
        self._outputs = [(t, g.info(t)) for t in g.outputs]
        for name, info in self._inputs + self._outputs:
            if not info.is_static:
                raise InputFeedError(
                    f"tensor {name!r} has shape {info.shape_str()}: ParallelSession needs static shapes"
                )
        if self.batch > 1:
            self._batch_plan(force_parallel)
        self._slot_inputs = [(t, self.plan.graph.info(t)) for t in self.plan.graph.inputs]
        self._slot_outputs = [(t, self.plan.graph.info(t)) for t in self.plan.graph.outputs]
        if not self.parallel:  # one worker runs every cluster, with the whole thread budget
            self.plan = dataclasses.replace(self.plan, cluster_worker=[0] * len(self.plan.clusters))
        self.backend = self.plan.backend
        # per-worker intra-op threads (inter x intra-op), given or simulated; None: every worker alike
        self.worker_threads: tuple[int, ...] | None = None
        self.thread_choice = ""  # how worker_threads were chosen
        if isinstance(threads_per_worker, int) or threads_per_worker is None:
            uniform = threads_per_worker
        elif self.parallel:
            uniform = None
            self.worker_threads = self._per_worker_threads(threads_per_worker)
        else:  # a sequential plan has one worker: it gets the largest count asked for
            uniform = None if threads_per_worker == "simulate" else max(threads_per_worker)
        self.hybrid = hybrid and self.parallel and self.backend == "ort" and self.worker_threads is None
        self.module: ParallelModule = generate_parallel(
            self.plan, source_model=self.compiled.source, backend=self.backend,
            cores=cpu_budget() if self.hybrid else 1,
        )  # fmt: skip
        try:
            self._tmp = tempfile.mkdtemp(prefix="ramiel-")
        except OSError as exc:
            raise EmitError(f"cannot make a folder for the generated code: {exc.strerror or exc}") from None
        try:
            self.module_path = str(self.module.write(self._tmp, "ramiel_plan"))
        except BaseException:
            self.close()
            raise
        if compiled is None:
            self._release_weights()
        self._serial_mod = None
        self._serial_weights = None
        self._serial_sessions: dict[int, dict] = {}  # ort backend: thread count → the whole-graph session
        cores = cpu_budget()
        pool_size = workers if self.parallel else 1
        self.threads_per_worker = max(self.worker_threads or (uniform or max(1, cores // pool_size),))
        self.last_run_timings: RunTimings | None = None
        self.fallback_timings_ms: dict[int, float] = {}  # sequential plan: ms per run by thread count
        self.plan_choice_ms: dict[str, float] = {}  # parallel plan vs intra-op, timed at start
        self._inprocess_threads = 0  # > 0: the whole graph runs in this process (one ORT session, or torch)
        try:
            if not self.parallel and self.backend == "ort":
                # sequential with onnxruntime: the whole graph in one session in this process (no hand-off)
                feeds = self.sample_feeds()[1]
                self._inprocess_threads = self._fastest_threads(
                    [uniform] if uniform else [cores, 1],
                    lambda threads: self.run_serial(feeds, threads),
                )
                self.threads_per_worker = self._inprocess_threads
            else:
                self._start_pool()
                if not self.parallel and uniform is None and self.threads_per_worker > 1:
                    self._pick_fallback_threads()
                elif self.parallel and not force_parallel and self.batch == 1 and cores > 1:
                    self._compare_with_intra_op(cores)
        except BaseException:
            self.close()
            raise

    @property
    def in_process(self) -> bool:
        """Whether runs execute in the caller's process (no worker pool): intra-op won at start, or a
        sequential plan on the ort backend."""
        return self._inprocess_threads > 0

    # -- ONNX Runtime's API -------------------------------------------------------------------
    def get_inputs(self) -> list[NodeArg]:
        return [
            NodeArg(n, list(i.shape or ()), ONNX_TYPE_NAMES.get(str(i.dtype), str(i.dtype))) for n, i in self._inputs
        ]

    def get_outputs(self) -> list[NodeArg]:
        return [
            NodeArg(n, list(i.shape or ()), ONNX_TYPE_NAMES.get(str(i.dtype), str(i.dtype))) for n, i in self._outputs
        ]

    def run(self, output_names: list[str] | None, feeds: dict[str, Any]) -> list[np.ndarray]:
        checked = self._check_feeds(feeds)
        arrays = self._split(checked)
        names = self._check_outputs(output_names)
        if self._inprocess_threads:
            with self._run_lock:  # run_serial sets torch's thread count and loads the module once
                t0 = time.perf_counter()
                out = dict(
                    zip((n for n, _ in self._outputs), self.run_serial(checked, threads=self._inprocess_threads))
                )
                self.last_run_timings = RunTimings((time.perf_counter() - t0) * 1e3, [])
            return [out[n] for n in names]
        produced = [t for t in self.module.output_names if self.module.output_worker.get(t) is not None]
        with self._run_lock:  # one run at a time on the pool: concurrent callers queue here
            if self._pool is None or self._pool.closed:
                self._start_pool()  # a previous run failed: start afresh
            t0 = time.perf_counter()
            result, timings = self._pool.run({k: v for k, v in arrays.items() if k in self._layout.slots}, produced)
            self.last_run_timings = RunTimings((time.perf_counter() - t0) * 1e3, timings)
        g = self.plan.graph
        out = {}
        for n, _ in self._slot_outputs:
            if n in result:
                out[n] = result[n]
            elif n in arrays:
                out[n] = arrays[n].copy()
            else:
                out[n] = np.array(g.initializers[n])
        return self._join(out, names)

    # -- batch > 1: B copies of the batch-1 plan, hyperclustered --------------------------------
    def _batch_plan(self, force_parallel: bool) -> None:
        from core.passes.hypercluster import batched_plan
        from core.plan import Decision

        b, hyper = self.batch, self.plan.hyper
        for name, info in self._inputs + self._outputs:
            if not info.shape or info.shape[0] != 1:
                raise InputFeedError(
                    f"batch {b} needs a batch-1 model (first dimension 1); tensor {name!r} has shape {info.shape_str()}"
                )
        self.parallel = (hyper.predicted_speedup >= self.plan.options.threshold or force_parallel) and self.workers > 1
        self.decision = Decision(
            self.parallel,
            f"batch {b}: hyperclusters ({hyper.variant}) predict {hyper.predicted_speedup:.2f}x at {self.workers} workers",
        )
        self._inputs = [(t, dataclasses.replace(i, shape=(b, *i.shape[1:]))) for t, i in self._inputs]
        self._outputs = [(t, dataclasses.replace(i, shape=(b, *i.shape[1:]))) for t, i in self._outputs]
        self.plan = batched_plan(self.plan)

    def _split(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """User feeds → the slots of the plan's inputs (one per sample when batch > 1)."""
        if self.batch == 1:
            return arrays
        from core.passes.hypercluster import sample_name

        return {sample_name(k, s): v[s : s + 1] for k, v in arrays.items() for s in range(self.batch)}

    def _join(self, out: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
        if self.batch == 1:
            return [out[n] for n in names]
        from core.passes.hypercluster import sample_name

        return [np.concatenate([out[sample_name(n, s)] for s in range(self.batch)]) for n in names]

    def run_serial(self, feeds: dict[str, np.ndarray], threads: int = 1) -> list[np.ndarray]:
        """The same generated code, all nodes in this process (the serial baseline)."""
        split = self._split(feeds)
        args = [split[n] for n, _ in self._slot_inputs]
        names = [n for n, _ in self._outputs]
        if self.module.backend == "ort":  # the whole graph in one onnxruntime session
            self._serial_mod = self._serial_mod or import_generated(self.module_path, "ramiel_serial_plan")
            if threads not in self._serial_sessions:  # a session's thread count is fixed when it is made
                self._serial_sessions[threads] = self._serial_mod.load_weights(names=["all"], threads=threads)
            outs = self._serial_mod.run_serial(self._serial_sessions[threads], *args)
            return self._join({n: np.asarray(o).copy() for (n, _), o in zip(self._slot_outputs, outs)}, names)
        import torch

        from core.codegen import to_numpy, to_torch

        if self._serial_mod is None:
            self._serial_mod = import_generated(self.module_path, "ramiel_serial_plan")
            self._serial_weights = self._serial_mod.load_weights()
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.no_grad():
                outs = self._serial_mod.run_serial(self._serial_weights, *[to_torch(a) for a in args])
        finally:
            torch.set_num_threads(old)
        return self._join({n: to_numpy(o).copy() for (n, _), o in zip(self._slot_outputs, outs)}, names)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> ParallelSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001  (interpreter shutdown)
            pass

    @property
    def worker_pids(self) -> list[int]:
        return self._pool.pids if self._pool is not None else []

    # -- internals ----------------------------------------------------------------------------
    def _release_weights(self) -> None:
        """The weights now live in the file the workers map; drop the compiler's copies (edge devices
        have little RAM). Constants that are graph outputs stay, for ``run``."""
        import gc

        keep = {n for n, _ in self._slot_outputs}
        c = self.compiled
        for graph in {id(x): x for x in (c.input_graph, self.plan.base_graph, self.plan.graph)}.values():
            for name in [k for k in graph.initializers if k not in keep]:
                del graph.initializers[name]
        self.module.weights.clear()
        self.module.segments.clear()
        c.serial.weights.clear()
        if c.source:
            c.model = None  # measure() reads the file
        gc.collect()
        trim_heap()

    def _layout_for(self) -> tuple[Layout, dict, dict, int]:
        pm = self.module
        g = self.plan.graph
        tensors: dict[str, tuple[tuple[int, ...], str]] = {}
        for name, info in self._slot_inputs:
            tensors[name] = (tuple(info.shape), np.dtype(info.dtype).name)
        for c in pm.cross:
            tensors[c.name] = (c.shape, c.dtype)
        for name, info in self._slot_outputs:
            if pm.output_worker.get(name) is not None:
                tensors[name] = (tuple(info.shape), np.dtype(info.dtype).name)
        for name in list(tensors):
            if not all(isinstance(d, int) for d in tensors[name][0]) or (
                name in g.tensors and not g.info(name).is_static
            ):
                raise InputFeedError(f"tensor {name!r} has no static shape: ParallelSession needs static shapes")
        share, self._copy_on_wait = share_slots(self.plan, pm)
        layout = plan_layout(pm.workers, tensors, share, channels_last=bool(pm.channels_last))
        receives: dict[int, dict[str, int]] = {}
        sends: dict[int, dict[str, tuple[int, ...]]] = {}
        k = 0
        for c in pm.cross:
            idx = []
            for w in c.consumers:
                receives.setdefault(w, {})[c.name] = k
                idx.append(k)
                k += 1
            sends.setdefault(c.producer, {})[c.name] = tuple(idx)
        return layout, receives, sends, k

    @property
    def threads_label(self) -> str:
        """Intra-op threads per worker: "2", or "3/1" when the workers differ (a hybrid plan)."""
        if self.worker_threads and not self.in_process and len(set(self.worker_threads)) > 1:
            return "/".join(map(str, self.worker_threads))
        return str(self.threads_per_worker)

    def _per_worker_threads(self, asked: Sequence[int] | str) -> tuple[int, ...]:
        """Thread counts for the plan's workers: as given, or ``"simulate"``d from per-node scaling curves
        (onnxruntime's profiler at 1 and 2 threads) handing the whole core budget out greedily."""
        workers = max(self.plan.cluster_worker, default=0) + 1
        if isinstance(asked, str):
            if asked != "simulate":
                raise OptionError(f"threads_per_worker={asked!r}: give a count, one count per worker, or 'simulate'")
            from core.scaling import graph_curves, worker_threads

            curves, _ = graph_curves(self.plan.graph)
            threads, makespan = worker_threads(self.plan, curves, max(cpu_budget(), workers))
            self.thread_choice = (f"simulated for {sum(threads)} cores from per-node scaling curves: "
                                  f"{'/'.join(map(str, threads))} threads, {makespan / 1e3:.2f} ms")  # fmt: skip
            return threads
        threads = tuple(int(t) for t in asked)
        if len(threads) != workers or min(threads) < 1:
            raise OptionError(
                f"thread counts {list(threads)} for a plan with {workers} worker(s): give one per worker, each >= 1"
            )
        self.thread_choice = "given"
        return threads

    def _compare_with_intra_op(self, cores: int, rounds: int = 2, block: int = 3) -> None:
        """Inter-op parallelism must beat intra-op to be worth it: time the parallel plan against the whole
        graph in this process with every core (one onnxruntime session — ONNX Runtime's own best
        configuration — or the torch code at ``cores`` threads), and keep the faster. The loser's figures
        stay in ``plan_choice_ms``.

        Each side runs in short blocks (one untimed run, then ``block`` timed ones), as a session called in
        a loop runs: a worker plan run right after the other side, or after an idle pause, ran up to 2x
        slower (cold caches, idle cores: inception_mini's 2-worker plan 10 ms back to back, 20-22 ms
        interleaved with intra-op runs), which single interleaved runs charged to the plan alone."""
        from core.plan import Decision

        feeds = self.sample_feeds()[1]
        serial = f"intra-op, {cores} threads"
        samples: dict[str, list[float]] = {"parallel": [], serial: []}
        for _ in range(rounds):
            for key, fn in (
                ("parallel", lambda: self.run(None, feeds)),
                (serial, lambda: self.run_serial(feeds, cores)),
            ):
                fn()  # the first run after the other side pays for its caches
                for _ in range(block):
                    t0 = time.perf_counter()
                    fn()
                    samples[key].append((time.perf_counter() - t0) * 1e3)
        self.plan_choice_ms = {k: round(sorted(v)[len(v) // 2], 3) for k, v in samples.items()}
        par, seq = self.plan_choice_ms["parallel"], self.plan_choice_ms[serial]
        # Decided on the fastest run of each (noise only adds time), and the plan must win by 5 %: on a busy
        # machine a noisy median once kept Inception-v4's plan at 1.27x the intra-op time.
        if min(samples[serial]) <= 1.05 * min(samples["parallel"]):
            self.parallel = False
            self._inprocess_threads = cores
            self.threads_per_worker = cores
            self.worker_threads = None
            auto = f"workers auto, {self.auto_choice}; " if self.auto_choice else ""
            self.decision = Decision(False, f"{auto}measured at start: {serial} {seq:.2f} ms against the {self.workers}-worker "
                                            f"plan's {par:.2f} ms (medians; the plan must win by 5 %; predicted "
                                            f"{self.plan.predicted_speedup:.2f}x)")  # fmt: skip
            self._pool.close()
            self._pool = None
        else:
            self.decision = Decision(True, f"{self.decision.reason}; measured at start: {par:.2f} ms against "
                                           f"{seq:.2f} ms for {serial}")  # fmt: skip

    def sample_feeds(self, seed: int = 0) -> tuple[list[dict[str, np.ndarray]], dict[str, np.ndarray]]:
        """Random feeds: one dict per sample (the batch-1 model's inputs) and the session's own feeds
        (the samples stacked when batch > 1)."""
        from core.verify import random_feeds

        g = self.compiled.plan.graph  # the batch-1 graph
        samples = [dict(zip(g.inputs, random_feeds(g, seed=seed + s))) for s in range(self.batch)]
        feeds = {t: np.concatenate([x[t] for x in samples]) for t in g.inputs} if self.batch > 1 else samples[0]
        return samples, feeds

    def _fastest_threads(self, candidates: list[int], run_once, runs: int = 3) -> int:
        """Time ``run_once(threads)`` (a warm-up, then the median of ``runs``) at each thread count;
        the figures go to ``fallback_timings_ms``; returns the fastest count."""
        timings = {}
        for threads in dict.fromkeys(candidates):
            took = []
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                run_once(threads)
                took.append(time.perf_counter() - t0)
            timings[threads] = sorted(took[1:])[len(took[1:]) // 2]
        self.fallback_timings_ms = {k: round(v * 1e3, 3) for k, v in timings.items()}
        return min(timings, key=timings.get)

    def _pick_fallback_threads(self) -> None:
        """Sequential plan: more intra-op threads do not always pay (small convolutions); time a few
        runs with every thread and with one, and keep the faster."""
        feeds = self._split(self.sample_feeds()[1])
        inputs = {k: v for k, v in feeds.items() if k in self._layout.slots}
        produced = [t for t in self.module.output_names if self.module.output_worker.get(t) is not None]

        def run_once(threads: int) -> None:
            self._pool.set_threads(threads)
            self._pool.run(inputs, produced)

        self.threads_per_worker = self._fastest_threads([self.threads_per_worker, 1], run_once)
        self._pool.set_threads(self.threads_per_worker)

    def _start_pool(self) -> None:
        self._layout, receives, sends, n_edges = self._layout_for()
        self._pool = WorkerPool(
            self.module_path,
            self.module.functions,
            self.module.worker_weights,
            receives,
            sends,
            n_edges,
            self._layout,
            self.worker_threads or self.threads_per_worker,
            copy_on_wait=self._copy_on_wait,
            backend=self.module.backend,
        )
        self._pool.set_threads(0 if self.worker_threads else self.threads_per_worker)

    def _check_outputs(self, output_names: list[str] | None) -> list[str]:
        known = [n for n, _ in self._outputs]
        if output_names is None:
            return known
        for n in output_names:
            if n not in known:
                raise InputFeedError(f"unknown output {n!r}; the model's outputs are {known}")
        return list(output_names)

    def _check_feeds(self, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        if not isinstance(feeds, dict):
            raise InputFeedError("feeds must be a dict of input name → numpy array")
        expected = {n: i for n, i in self._inputs}
        for name in feeds:
            if name not in expected:
                raise InputFeedError(f"unknown input {name!r}; the model's inputs are {list(expected)}")
        out = {}
        for name, info in expected.items():
            if name not in feeds:
                raise InputFeedError(f"missing input {name!r} ({info.dtype}[{info.shape_str()}])")
            value = feeds[name]
            if not isinstance(value, np.ndarray):  # lists, numbers: converted to the input's type, as ORT does
                try:
                    value = np.asarray(value, dtype=info.dtype)
                except (TypeError, ValueError, OverflowError) as exc:
                    raise InputFeedError(
                        f"input {name!r} ({type(value).__name__}) cannot be made a {info.dtype} array: {first_line(exc)}"
                    ) from None
            if value.dtype != info.dtype and value.dtype.newbyteorder("=") == info.dtype:
                value = value.astype(info.dtype)  # the same type in the other byte order (ORT would misread it)
            if value.dtype != info.dtype:
                raise InputFeedError(f"input {name!r} has dtype {value.dtype}, expected {info.dtype}")
            if value.ndim != len(info.shape):
                raise InputFeedError(
                    f"input {name!r} has rank {value.ndim} (shape {list(value.shape)}), "
                    f"expected rank {len(info.shape)} ({list(info.shape)})"
                )
            if tuple(value.shape) != tuple(info.shape):
                raise InputFeedError(f"input {name!r} has shape {list(value.shape)}, expected {list(info.shape)}")
            out[name] = np.ascontiguousarray(value) if value.ndim else np.array(value)
        return out
