"""The app's analysis job, run off the UI thread: compile a model with the user's options, in stages.

Never imports Textual: the app's thread worker calls :func:`analyse` and turns its
callbacks into messages. The heavy imports (torch, onnxruntime) happen here, in that
thread, so the first screen paints before they finish.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.cost import CostModel
    from core.parallel_codegen import ParallelModule
    from core.pipeline import Compiled
    from core.plan import Plan, PlanOptions

Progress = Callable[[str, int, int], None]
"""progress(stage, step, total)"""

STEPS = 4
# Measurement times torch code on this machine: two at once (a stale job and its replacement) would skew both.
_MEASURE_LOCK = threading.Lock()


@dataclass(repr=False)
class Analysis:
    """One compiled model and everything the views show about it."""

    path: str
    options: PlanOptions
    compiled: Compiled
    report: dict[str, Any]
    module: ParallelModule  # the parallel module a ParallelSession would run for this plan
    parallel: bool  # False: the session runs every cluster on one worker (sequential fallback)
    final: bool  # False: a quick analytic pass shown while the requested cost source is measured
    elapsed_s: float = 0.0
    steps_s: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:  # the default would print the whole model
        return f"Analysis({self.path!r}, {self.options!r}, final={self.final})"

    @property
    def plan(self) -> Plan:
        return self.compiled.plan

    @property
    def makespan_us(self) -> float:
        """Predicted makespan of what the user asked for: the batch's hyperclustered plan when batch > 1."""
        hyper = self.plan.hyper
        return float(hyper.makespan_us) if hyper is not None else float(self.plan.makespan_us)

    @property
    def predicted_speedup(self) -> float:
        hyper = self.plan.hyper
        return float(hyper.predicted_speedup) if hyper is not None else float(self.plan.predicted_speedup)

    @cached_property
    def source_lines(self) -> list[str]:
        return self.module.source.splitlines()

    @cached_property
    def cluster_of(self) -> dict[str, int]:
        return {n: i for i, c in enumerate(self.plan.clusters) for n in c}

    def run_worker_of_cluster(self, i: int) -> int:
        """The worker that runs cluster ``i`` (all on worker 0 in the sequential fallback)."""
        return self.plan.cluster_worker[i] if self.parallel else 0

    def function_lines(self, worker: int) -> tuple[int, list[str]]:
        """(first line number, lines) of the generated function that ``worker`` runs, decorator included."""
        fname = self.module.functions.get(worker)
        lines = self.source_lines
        if fname is None:
            return 0, []
        head = f"def {fname}(W, X):"
        start = next((k for k, ln in enumerate(lines) if ln.startswith(head)), None)
        if start is None:
            return 0, []
        if start > 0 and lines[start - 1].startswith("@"):
            start -= 1
        end = start + 2
        while end < len(lines) and (not lines[end] or lines[end][0] in " \t"):
            end += 1
        while end > start and not lines[end - 1].strip():
            end -= 1
        return start + 1, lines[start:end]

    def _header(self, node: str) -> str:
        from core.codegen import comment_text  # loaded with the compiler already

        op = self.plan.graph.node_by_name[node].op_type
        return f"# {comment_text(node)}: {op}("

    def node_lines_in_function(self, node: str) -> tuple[int, int] | None:
        """1-based (first, last) lines of ``node`` (its comment and statement) in its worker's function.

        Found by the comment the code generator writes above every statement, so it does not
        depend on line bookkeeping.
        """
        cluster = self.cluster_of.get(node)
        if cluster is None or node not in self.plan.graph.node_by_name:
            return None
        first, lines = self.function_lines(self.run_worker_of_cluster(cluster))
        head = self._header(node)
        for k, ln in enumerate(lines):
            if ln.strip().startswith(head):
                return first + k, first + min(k + 1, len(lines) - 1)
        return None

    def node_statement(self, node: str) -> list[str]:
        """The generated comment and statement of one node, as written in the parallel module (dedented)."""
        where = self.node_lines_in_function(node)
        if where is None:
            return []
        a, b = where
        return [ln[4:] if ln.startswith("    ") else ln for ln in self.source_lines[a - 1 : b]]

    def cluster_marker_line(self, i: int) -> int | None:
        """Line of ``X.mark(i)`` (where cluster i starts) when one function runs several clusters."""
        first, lines = self.function_lines(self.run_worker_of_cluster(i))
        for k, ln in enumerate(lines):
            if ln.strip().startswith(f"X.mark({i})"):
                return first + k
        return None


def base_costs(plan: Plan) -> CostModel:
    """The plan's node costs restricted to the graph after CP/DCE (no clones): reusable for other toggles."""
    return plan.base_costs()


def _finish(path: str, options: PlanOptions, compiled: Compiled, final: bool, t0: float, steps: dict) -> Analysis:
    from core.parallel_codegen import generate_parallel
    from ramiel_tui.report import build_report

    t = time.perf_counter()
    plan = compiled.plan
    parallel = bool(plan.decision.parallel and options.workers > 1 and len(plan.clusters) > 1)
    code_plan = plan if parallel else dataclasses.replace(plan, cluster_worker=[0] * len(plan.clusters))
    module = generate_parallel(code_plan, source_model=compiled.source, backend=compiled.plan.backend)
    report = build_report(compiled)
    steps = {**steps, "parallel codegen": time.perf_counter() - t}
    return Analysis(path, options, compiled, report, module, parallel, final, time.perf_counter() - t0, steps)


def analyse(
    path: str | os.PathLike,
    options: PlanOptions | Any,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    costs: dict[tuple, CostModel] | None = None,
    partial: Callable[[Analysis], None] | None = None,
) -> Analysis | None:
    """Compile ``path`` with ``options``; ``None`` when cancelled between stages.

    ``costs`` caches node costs per (path, CP/DCE, cost source) so that toggling merging, cloning,
    workers or batch never measures again. When the cost source must be measured, a quick analytic
    pass is handed to ``partial`` first so that the views are usable while measurement runs.
    """
    progress = progress or (lambda stage, step, total: None)
    cancelled = cancelled or (lambda: False)
    costs = costs if costs is not None else {}
    path = os.fspath(path)
    t0 = time.perf_counter()
    steps: dict[str, float] = {}

    progress("importing torch and onnxruntime", 0, STEPS)
    t = time.perf_counter()
    import onnxruntime  # noqa: F401  (heavy: here, off the UI thread)
    import torch  # noqa: F401

    from core.pipeline import compile_model
    from core.plan import PlanOptions

    if not isinstance(options, PlanOptions):  # e.g. the app's own Options: same fields
        options = PlanOptions(**{f.name: getattr(options, f.name) for f in dataclasses.fields(options)})
    steps["imports"] = time.perf_counter() - t
    if cancelled():
        return None

    key = (os.path.abspath(path), options.cp_dce, options.cost, options.backend)
    cached = costs.get(key)
    quick = options.cost == "analytic" or cached is not None
    progress("loading the model, passes and analysis" + ("" if quick else " (analytic costs first)"), 1, STEPS)
    t = time.perf_counter()
    if quick:
        compiled = compile_model(path, options, cost=cached)
        steps["compile"] = time.perf_counter() - t
        costs[key] = base_costs(compiled.plan)
        progress("generating the parallel code", 3, STEPS)
        return _finish(path, options, compiled, True, t0, steps)

    quick_options = dataclasses.replace(options, cost="analytic")
    first = compile_model(path, quick_options, cost=costs.get((key[0], options.cp_dce, "analytic", options.backend)))
    steps["compile (analytic)"] = time.perf_counter() - t
    costs[(key[0], options.cp_dce, "analytic", options.backend)] = base_costs(first.plan)
    if partial is not None and not cancelled():
        partial(_finish(path, quick_options, first, False, t0, steps))
    if cancelled():
        return None
    progress(f"measuring node costs ({options.cost}; cached in ~/.cache/ramiel)", 2, STEPS)
    with _MEASURE_LOCK:
        if cancelled():
            return None
        t = time.perf_counter()
        compiled = compile_model(path, options)
        steps["compile (measured)"] = time.perf_counter() - t
    costs[key] = base_costs(compiled.plan)
    if cancelled():
        return None
    progress("generating the parallel code", 3, STEPS)
    return _finish(path, options, compiled, True, t0, steps)
