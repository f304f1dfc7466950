"""The Run view: progress, the speedup table (with the output check) and per-cluster timing."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, ProgressBar, Static

from ramiel_tui.charts import fmt_ms
from ramiel_tui.execution import WorkerRun, median, series_labels, where_it_ran

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis
    from ramiel_tui.execution import RunResult, RunUpdate

TOLERANCE = 1e-3


def worker_prediction(analysis: Analysis) -> dict[int, tuple[list[int], float, float, float]]:
    """worker → (clusters, predicted work ms, simulated start ms, simulated end ms)."""
    plan = analysis.plan
    out = {}
    for w in analysis.module.functions:
        clusters = [i for i in range(len(plan.clusters)) if analysis.run_worker_of_cluster(i) == w]
        nodes = [n for i in clusters for n in plan.clusters[i]]
        work = sum(plan.cost.node_us[n] for n in nodes) / 1e3
        s = min((plan.schedule.start[n] for n in nodes), default=0.0) / 1e3
        e = max((plan.schedule.end[n] for n in nodes), default=0.0) / 1e3
        out[w] = (clusters, work, s, e)
    return out


class SpeedupTable(DataTable):
    pass


class ClusterTimingTable(DataTable):
    pass


class RunPane(VerticalScroll):
    BINDINGS = [Binding("n", "app.cycle_repeats", "reps")]

    def compose(self) -> ComposeResult:
        yield Static(id="run-title")
        yield ProgressBar(total=1, show_eta=False, id="run-progress")
        yield Static(id="run-stage")
        yield Static(Text("Speedup", "bold underline"), classes="section")
        yield SpeedupTable(id="speedup", cursor_type="row", zebra_stripes=False)
        yield Static(id="run-check")
        yield Static(Text("Per cluster (worker function): measured vs predicted", "bold underline"), classes="section")
        yield ClusterTimingTable(id="cluster-timing", cursor_type="row")

    def on_mount(self) -> None:
        sp = self.query_one(SpeedupTable)
        for label, key in (
            ("variant", "variant"),
            ("median ms", "median"),
            ("min", "min"),
            ("max", "max"),
            ("vs serial", "x"),
        ):
            sp.add_column(label, key=key)
        self._timing_columns()
        self.set_idle(None, 20)
        self.history: dict[int, list[WorkerRun]] = {}

    # -- states --------------------------------------------------------------------------------
    def set_idle(self, analysis: Analysis | None, repeats: int) -> None:
        title = Text()
        title.append("r", "bold reverse")
        title.append(f" runs {repeats}× own serial, own parallel, ORT intra=1 and intra=P  ")
        title.append("n", "bold reverse")
        title.append(" repeats")
        self.query_one("#run-title", Static).update(title)
        self.repeats = repeats
        if analysis is not None and not getattr(self, "has_result", False):
            self.show_prediction(analysis)

    def _timing_columns(self) -> None:
        ct = self.query_one(ClusterTimingTable)
        ct.clear(columns=True)
        for label, key in (("w", "w"), ("function", "fn"), ("pred work", "pw"), ("pred end", "pe"), ("busy last", "bl"),
                           ("busy med", "bm"), ("wait last", "wl"), ("end last", "el")):  # fmt: skip
            ct.add_column(label, key=key)

    def show_prediction(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.history = {}
        self._timing_columns()
        ct = self.query_one(ClusterTimingTable)
        for w, (clusters, work, _s, e) in worker_prediction(analysis).items():
            fn = analysis.module.functions[w]
            label = fn if len(clusters) == 1 else f"{fn} ({len(clusters)} cl.)"
            ct.add_row(str(w), label, fmt_ms(work), fmt_ms(e), "-", "-", "-", "-", key=str(w))

    def start(self, analysis: Analysis, repeats: int) -> None:
        self.has_result = False
        self.show_prediction(analysis)
        bar = self.query_one(ProgressBar)
        bar.update(total=repeats, progress=0)
        self.query_one("#run-stage", Static).update(Text("starting…", "cyan"))
        self.query_one(SpeedupTable).clear()
        self.query_one("#run-check", Static).update("")

    def record(self, update: RunUpdate) -> None:
        """Keep a run's worker timings for the medians without drawing."""
        for w in update.workers:
            self.history.setdefault(w.worker, []).append(w)

    def progress(self, update: RunUpdate) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=update.total, progress=update.done)
        stage = Text(f"{update.done}/{update.total} {update.stage}", "cyan")
        if update.wall_ms is not None:
            stage.append(f" · last parallel run {fmt_ms(update.wall_ms)} ms", "")
        stage.append("   x cancels", "bright_black")
        self.query_one("#run-stage", Static).update(stage)
        if update.workers:
            self.record(update)
            self._fill_workers(list(update.workers))

    def _fill_workers(self, last: list[WorkerRun]) -> None:
        ct = self.query_one(ClusterTimingTable)
        for w in last:
            key = str(w.worker)
            if key not in ct.rows:
                continue
            hist = self.history.get(w.worker, [w])
            ct.update_cell(key, "bl", fmt_ms(w.busy_ms))
            ct.update_cell(key, "bm", fmt_ms(median([h.busy_ms for h in hist])))
            ct.update_cell(key, "wl", fmt_ms(w.wait_ms))
            ct.update_cell(key, "el", fmt_ms(w.end_ms))

    def done(self, result: RunResult, analysis: Analysis) -> None:
        self.has_result = True
        data = result.data
        bar = self.query_one(ProgressBar)
        bar.update(total=result.repeats, progress=result.done)
        stage = Text(f"{result.done}/{result.repeats} repeats", "bold")
        if result.cancelled:
            stage.append(" (cancelled)", "yellow")
        stage.append(f" · {data['mode']}: {where_it_ran(data)}")
        if result.options is not None and result.options != analysis.options:
            stage.append(" · settings changed since this run", "yellow")
        self.query_one("#run-stage", Static).update(stage)

        serial = data["serial_ms"].get("median", math.nan)
        sp = self.query_one(SpeedupTable)
        sp.clear()
        par, ser = series_labels(data["workers"], data["mode"])
        rows = [(par, data["parallel_ms"]), (ser, data["serial_ms"])]
        rows += [(f"onnxruntime {k}", v) for k, v in data["onnxruntime_ms"].items()]
        for label, s in rows:
            if not s:
                continue
            x = serial / s["median"] if s["median"] > 0 else math.nan
            sp.add_row(label, fmt_ms(s["median"]), fmt_ms(s["min"]), fmt_ms(s["max"]), f"{x:.2f}×", key=label)
        check = Text()
        diffs = data["max_abs_diff_vs_onnxruntime"]
        check.append("output check vs onnxruntime: ", "bold")
        for k, v in diffs.items():
            ok = v <= TOLERANCE
            check.append(f"{k} max |Δ| {v:.3g} ")
            check.append("✓ " if ok else "✗ ", "bold green" if ok else "bold red")
        if not diffs:
            check.append("not run")
        check.append(f"\nspeedup vs own serial {data['speedup_vs_serial']:.2f}× (predicted {analysis.predicted_speedup:.2f}×, "
                     f"makespan {data['predicted_makespan_ms']:.2f} ms)")  # fmt: skip
        if data.get("ratio_to_best_onnxruntime") is not None:
            check.append(f" · time / best onnxruntime {data['ratio_to_best_onnxruntime']:.2f}")
        self.query_one("#run-check", Static).update(check)
        if not self.history and result.per_run_workers:
            for run in result.per_run_workers:
                for w in run:
                    self.history.setdefault(w.worker, []).append(w)
        if result.workers:
            self._fill_workers(result.workers)

    def stopped(self, message: str, style: str = "yellow") -> None:
        self.query_one("#run-stage", Static).update(Text(message, style))
