"""The Textual app: analysis and runs in named thread workers that post messages back to the UI.

``create_app`` is the one factory that the CLI and the tests use. Nothing here imports
torch, onnxruntime or the compiler at import time: the analysis thread does, so the
first screen paints at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tree
from textual.worker import Worker, WorkerState, get_current_worker

from ramiel_tui import messages as msg
from ramiel_tui.analysis import Analysis, analyse
from ramiel_tui.execution import Runner, RunResult, run_measured
from ramiel_tui.widgets.clusters.cluster_tree import TREE_HEADER, ClusterTree, Item
from ramiel_tui.widgets.clusters.node_detail import NodeDetail
from ramiel_tui.widgets.code.code_view import CodeScroll, CodeView
from ramiel_tui.widgets.overview.summary import OverviewPane
from ramiel_tui.widgets.run.run_pane import RunPane, SpeedupTable
from ramiel_tui.widgets.run.timeline import TimelinePane
from ramiel_tui.widgets.status.status_bar import StatusBar

MAX_WORKERS = 16
MAX_BATCH = 64
REPEAT_CHOICES = (3, 5, 10, 20, 50, 100)
PROGRESS_REFRESH_S = 0.1
TABS = ("overview", "clusters", "code", "run", "timeline")


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), for time-to-first-paint."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, while ``sys.stderr`` is the real one.

    The tracker is started on first use and hands ``sys.stderr.fileno()`` to its process; while
    a Textual app runs, ``sys.stderr`` is a capture object whose ``fileno()`` is -1, and the first
    ParallelSession would fail with "bad value(s) in fds_to_keep".
    """
    with contextlib.suppress(Exception):
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()


def one_line(exc: BaseException) -> str:
    """A user-facing line: the message of the project's own errors, the type and first line otherwise."""
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    mod = type(exc).__module__
    if mod.startswith(("core.", "runtime.")):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclasses.dataclass(frozen=True)
class Options:
    """The app's settings; mirrors core.plan.PlanOptions without importing it on the UI thread."""

    workers: int = 2
    batch: int = 1
    cp_dce: bool = True
    cloning: bool = True
    merging: bool = True
    cost: str = "auto"
    backend: str = "torch"


class RamielApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Ramiel TUI"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide"), (160, "-xwide")]
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "run", "Run"),
        Binding("x,escape", "cancel_run", "Stop"),
        Binding("d", "toggle('cp_dce')", "DCE"),
        Binding("c", "toggle('cloning')", "Clone"),
        Binding("m", "toggle('merging')", "Merge"),
        Binding("plus,equals_sign", "workers(1)", "more workers", group=Binding.Group("workers", compact=True)),
        Binding("minus", "workers(-1)", "fewer workers", group=Binding.Group("workers", compact=True)),
        Binding("b", "batch(2)", "bigger batch", group=Binding.Group("batch", compact=True)),
        Binding("B", "batch(-2)", "smaller batch", group=Binding.Group("batch", compact=True)),
        Binding("e", "export", "Export"),
        Binding("o", "open", "Open"),
        *(Binding(str(k + 1), f"show_tab('{t}')", t.capitalize(), show=False) for k, t in enumerate(TABS)),
    ]

    def __init__(
        self,
        model_path: str | os.PathLike | None,
        options: Options | None = None,
        *,
        repeats: int = 20,
        runner: Runner | None = None,
        frozen: bool = False,
        picker_root: str | os.PathLike = ".",
    ) -> None:
        super().__init__()
        start_resource_tracker()
        self.model_path = os.fspath(model_path) if model_path is not None else None
        self.options = options or Options()
        self.repeats = repeats
        self.runner: Runner = runner or run_measured
        self.frozen = frozen
        self.picker_root = picker_root
        self.analysis: Analysis | None = None
        self.previous: Analysis | None = None
        self.generation = 0
        self.applied: list[int] = []  # generations whose results were shown
        self.busy: tuple[str, int, int] | None = None
        self.error: str | None = None
        self.running = False
        self.workers_cancelling = False
        self.run_status: str | None = None
        self.last_run: RunResult | None = None
        self.run_analysis: Analysis | None = None
        self.first_paint_s: float | None = None
        self.ready_s: float | None = None
        self.load_failed = False
        self.key_times: dict[str, float] = {}  # action → perf_counter when last handled (for latency tests)
        self._costs: dict = {}
        self._selected: Item | None = None
        self._code_worker = 0
        self._code_request: tuple | None = None  # (worker, highlight, focus line) not drawn yet
        self._pending: list = []  # run updates not drawn yet
        self._flush_scheduled = False

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with TabbedContent(id="tabs", initial="overview"):
            with TabPane("1 Overview", id="overview"):
                yield OverviewPane(id="overview-pane")
            with TabPane("2 Clusters", id="clusters"):
                with Container(id="cluster-split"):
                    with Vertical(id="tree-col"):
                        yield Static(Text(TREE_HEADER, style="bright_black"), id="tree-header")
                        yield ClusterTree(id="cluster-tree")
                    yield NodeDetail(id="node-detail")
            with TabPane("3 Code", id="code"):
                yield CodeView(id="code-view")
            with TabPane("4 Run", id="run"):
                yield RunPane(id="run-pane")
            with TabPane("5 Timeline", id="timeline"):
                yield TimelinePane(id="timeline-pane")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        if not self.is_headless and self.console.color_system in (None, "standard", "windows"):
            self.theme = "ansi-dark"  # 16 colours: the terminal's own palette reads better than approximations
        self._refresh_status()
        self.query_one(RunPane).set_idle(None, self.repeats)
        if self.model_path is None:
            self.action_open()
        else:
            self.busy = ("starting", 0, 4)
            self._refresh_status()
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        """After the first frame: only now start the analysis, whose imports would compete for the GIL."""
        self.first_paint_s = process_age_s()
        if self.model_path is not None and self.generation == 0:
            self.request_analysis()

    # -- analysis --------------------------------------------------------------------------------
    def request_analysis(self) -> None:
        """(Re)compute everything for the current model and options; a running analysis becomes stale."""
        if self.model_path is None:
            return
        self.generation += 1
        self.busy = ("queued", 0, 4)
        self._refresh_status()
        self._analysis_job(self.generation, self.model_path, self.options)

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False, name="analysis", description="analysis")
    def _analysis_job(self, generation: int, path: str, options: Options) -> None:
        worker = get_current_worker()
        post = self.post_message
        post(msg.AnalysisStarted(generation, path, options))
        try:
            result = analyse(
                path,
                options,
                progress=lambda stage, step, total: post(msg.AnalysisProgress(generation, stage, step, total)),
                cancelled=lambda: worker.is_cancelled,
                costs=self._costs,
                partial=lambda a: post(msg.AnalysisDone(generation, a)),
            )
        except Exception as exc:  # noqa: BLE001  (any failure becomes the error view)
            post(msg.AnalysisFailed(generation, one_line(exc)))
            return
        if result is not None and not worker.is_cancelled:
            post(msg.AnalysisDone(generation, result))

    def on_analysis_progress(self, m: msg.AnalysisProgress) -> None:
        if m.generation == self.generation:
            self.busy = (m.stage, m.step, m.total)
            self._refresh_status()

    def on_analysis_done(self, m: msg.AnalysisDone) -> None:
        if m.generation != self.generation:
            return  # a newer request replaced this one
        a = m.analysis
        if a.final:
            if self.analysis is not None and self.analysis.final and self.analysis.options != a.options:
                self.previous = self.analysis
            self.busy = None
            if self.ready_s is None:
                self.ready_s = process_age_s()
                # torch, onnx and numpy are loaded now: a million long-lived objects that every full
                # garbage collection would walk (100 ms pauses on a small board). Freeze them.
                gc.freeze()
        self.error = None
        self.load_failed = False
        self.analysis = a
        self.applied.append(m.generation)
        self._show_analysis()

    def on_analysis_failed(self, m: msg.AnalysisFailed) -> None:
        if m.generation != self.generation:
            return
        self.busy = None
        self.error = m.error
        if self.analysis is None:
            self.load_failed = True
            self.query_one(OverviewPane).show_error(m.error)
        self.notify(m.error, title="analysis failed", severity="error", timeout=8)
        self._refresh_status()

    def _show_analysis(self) -> None:
        a = self.analysis
        if a is None:
            return
        self._refresh_status()
        self.query_one(OverviewPane).show(a, self.previous, self._timings_line())
        self.query_one(ClusterTree).show(a)
        if not self.running and self.last_run is None:
            self.query_one(RunPane).show_prediction(a)
        if self.last_run is None:
            self.query_one(TimelinePane).show_prediction(a)
        self._code_worker = min(self._code_worker, max(0, len(a.module.functions) - 1))
        self.call_after_refresh(self._show_selection)

    def _timings_line(self) -> str:
        if self.frozen or self.analysis is None:
            return ""
        a = self.analysis
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in a.steps_s.items())
        paint = f"first paint {self.first_paint_s:.2f} s after process start · " if self.first_paint_s else ""
        ready = f"analysis ready at {self.ready_s:.2f} s · " if self.ready_s else ""
        return f"{paint}{ready}this analysis {a.elapsed_s:.2f} s ({steps})"

    def _refresh_status(self) -> None:
        self._refresh_footer()
        with contextlib.suppress(Exception):
            self.query_one(StatusBar).show(self.model_path, self.options, self.analysis, self.previous, self.busy,
                                           self.error, self.run_status)  # fmt: skip

    # -- selection: tree → detail and code -----------------------------------------------------
    @on(Tree.NodeHighlighted, "#cluster-tree")
    def _tree_highlighted(self, event: Tree.NodeHighlighted) -> None:
        self._selected = event.node.data
        self._show_selection()

    def _show_selection(self) -> None:
        a = self.analysis
        if a is None:
            return
        tree = self.query_one(ClusterTree)
        item = tree.cursor_node.data if tree.cursor_node is not None else self._selected
        self._selected = item
        self.query_one(NodeDetail).show_item(a, item)
        highlight, focus_line = None, None
        if item is not None and item.group == "final" and item.cluster < len(a.plan.clusters):
            self._code_worker = a.run_worker_of_cluster(item.cluster)
            if item.node:
                highlight = a.node_lines_in_function(item.node)
            else:
                focus_line = a.cluster_marker_line(item.cluster)
        self._code_request = (self._code_worker, highlight, focus_line)
        self._show_code()

    def _show_code(self) -> None:
        """Draw the code view only when it is on screen (highlighting a function is not free)."""
        if self.analysis is None or self._code_request is None:
            return
        if self.query_one(TabbedContent).active != "code":
            return
        worker, highlight, focus_line = self._code_request
        self._code_request = None
        self.query_one(CodeView).show(self.analysis, worker, highlight, focus_line)

    def action_code_worker(self, delta: int) -> None:
        a = self.analysis
        if a is None or not a.module.functions:
            return
        self._code_worker = (self._code_worker + delta) % len(a.module.functions)
        self._code_request = (self._code_worker, None, None)
        self._show_code()

    # -- settings ---------------------------------------------------------------------------------
    def _set_options(self, **changes: Any) -> None:
        new = dataclasses.replace(self.options, **changes)
        if new == self.options:
            return
        self.options = new
        self.request_analysis()

    def action_toggle(self, name: str) -> None:
        self.key_times[f"toggle:{name}"] = time.perf_counter()
        self._set_options(**{name: not getattr(self.options, name)})

    def action_workers(self, delta: int) -> None:
        self._set_options(workers=max(1, min(MAX_WORKERS, self.options.workers + delta)))

    def action_batch(self, factor: int) -> None:
        b = self.options.batch
        self._set_options(batch=min(MAX_BATCH, b * 2) if factor > 0 else max(1, b // 2))

    def action_cycle_repeats(self) -> None:
        bigger = [r for r in REPEAT_CHOICES if r > self.repeats]
        self.repeats = bigger[0] if bigger else REPEAT_CHOICES[0]
        self.query_one(RunPane).set_idle(self.analysis, self.repeats)

    def action_show_tab(self, tab: str) -> None:
        self.key_times[f"tab:{tab}"] = time.perf_counter()
        self.query_one(TabbedContent).active = tab
        target = {"overview": OverviewPane, "clusters": ClusterTree, "code": CodeScroll, "run": SpeedupTable,
                  "timeline": TimelinePane}[tab]  # fmt: skip
        self.query_one(target).focus()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "code":
            self._show_code()
            self.call_after_refresh(self.query_one(CodeView).apply_scroll)

    def _refresh_footer(self) -> None:
        """Refresh the footer only when what it shows changes: it is rebuilt widget by widget."""
        state = (
            self.running,
            self.analysis is not None,
            self.analysis is not None and self.analysis.final,
            self.busy is None,
        )
        if state != getattr(self, "_footer_state", None):
            self._footer_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # True: enabled; None: shown greyed out; False: hidden
        if action == "run":
            return (
                False
                if self.running
                else (True if self.analysis is not None and self.analysis.final and self.busy is None else None)
            )
        if action == "cancel_run":
            return self.running
        if action == "export":
            return True if self.analysis is not None else None
        return True

    # -- run --------------------------------------------------------------------------------------
    def action_run(self) -> None:
        a = self.analysis
        if self.running or a is None:
            return
        if not a.final or self.busy is not None:
            self.notify("the analysis is still running", severity="warning")
            return
        self.running = True
        self.run_analysis = a
        self.run_status = f"run: starting ({self.repeats} repeats)"
        self.query_one(RunPane).start(a, self.repeats)
        self.query_one(TimelinePane).show_run(a, [], 0.0, {})
        self._refresh_status()
        self.action_show_tab("run")
        self._run_job(a, self.repeats)

    @work(thread=True, exclusive=True, group="run", exit_on_error=False, name="run", description="run")
    def _run_job(self, analysis: Analysis, repeats: int) -> None:
        worker = get_current_worker()
        post = self.post_message
        workers = analysis.options.workers if analysis.parallel else 1
        post(msg.RunStarted(repeats, workers))
        try:
            result = self.runner(analysis, repeats, lambda u: post(msg.RunProgress(u)), lambda: worker.is_cancelled)
        except Exception as exc:  # noqa: BLE001
            post(msg.RunFailed(one_line(exc)))
            return
        post(msg.RunCancelled() if result is None else msg.RunDone(result))

    def on_run_progress(self, m: msg.RunProgress) -> None:
        """Queue the update; the views redraw at most every PROGRESS_REFRESH_S, however fast updates come."""
        if not self.running:
            return
        self._pending.append(m.update)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.set_timer(PROGRESS_REFRESH_S, self._flush_progress)

    def _flush_progress(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, []
        if not self.running or not pending:
            return
        pane = self.query_one(RunPane)
        for u in pending[:-1]:
            pane.record(u)
        u = pending[-1]
        pane.progress(u)
        if self.workers_cancelling:
            pane.stopped(f"{u.done}/{u.total}: cancelling after this repeat…")
        else:
            self.run_status = f"run {u.done}/{u.total}: {u.stage}"
        walls = [p.wall_ms for p in pending if p.workers and p.wall_ms is not None]
        if walls and self.run_analysis is not None:
            tl = self.query_one(TimelinePane)
            series = dict(tl.series)
            key = "ramiel parallel (live)"
            series[key] = series.get(key, []) + walls
            last = next(p for p in reversed(pending) if p.workers)
            tl.show_run(self.run_analysis, list(last.workers), last.wall_ms or 0.0, series)
        self._refresh_status()

    def on_run_done(self, m: msg.RunDone) -> None:
        r = m.result
        self.last_run = r
        self._run_finished(
            f"run: {r.data['speedup_vs_serial']:.2f}× vs serial" + (" (cancelled)" if r.cancelled else "")
        )
        a = self.run_analysis or self.analysis
        if a is not None:
            self.query_one(RunPane).done(r, a)
            self.query_one(TimelinePane).show_run(a, r.workers, r.wall_ms, r.samples_ms)

    def on_run_cancelled(self, m: msg.RunCancelled) -> None:
        self._run_finished("run cancelled")
        self.query_one(RunPane).stopped("cancelled before the first repeat finished")

    def on_run_failed(self, m: msg.RunFailed) -> None:
        self._run_finished("run failed")
        self.query_one(RunPane).stopped(f"run failed: {m.error}", "bold red")
        self.notify(m.error, title="run failed", severity="error", timeout=8)

    def _run_finished(self, status: str) -> None:
        self.running = False
        self.workers_cancelling = False
        self._pending = []
        self.run_status = status
        self._refresh_status()

    def action_cancel_run(self) -> None:
        if not self.running:
            return
        self.key_times["cancel"] = time.perf_counter()
        self.workers.cancel_group(self, "run")
        self.workers_cancelling = True
        self.run_status = "run: cancelling after this repeat…"
        self.query_one(RunPane).stopped("cancelling after this repeat…")
        self._refresh_status()

    # -- export, open -------------------------------------------------------------------------
    def action_export(self) -> None:
        if self.analysis is None:
            return
        from ramiel_tui.export import default_export_dir
        from ramiel_tui.screens.export import ExportScreen

        def chosen(path: str | None) -> None:
            if path:
                self._export_job(path, self.analysis, self.last_run)

        self.push_screen(ExportScreen(str(default_export_dir(self.analysis)), self.last_run is not None), chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, name="export", description="export")
    def _export_job(self, path: str, analysis: Analysis, run: RunResult | None) -> None:
        from ramiel_tui.export import export_all

        try:
            written = export_all(path, analysis, run)
        except Exception as exc:  # noqa: BLE001
            self.post_message(msg.ExportFailed(one_line(exc)))
            return
        self.post_message(msg.ExportDone([str(p) for p in written]))

    def on_export_done(self, m: msg.ExportDone) -> None:
        folder = str(Path(m.paths[0]).parent) if m.paths else ""
        names = ", ".join(Path(p).name for p in m.paths)
        self.notify(f"{folder}: {names}", title="exported", timeout=8)

    def on_export_failed(self, m: msg.ExportFailed) -> None:
        self.notify(m.error, title="export failed", severity="error", timeout=8)

    def action_open(self) -> None:
        from ramiel_tui.screens.picker import FilePickerScreen

        def chosen(path: Path | None) -> None:
            if path is None:
                if self.model_path is None:
                    self.exit()
                return
            self.model_path = str(path)
            self.analysis = self.previous = None
            self.error = None
            self.last_run = None
            self.query_one(RunPane).has_result = False
            self.request_analysis()

        self.push_screen(FilePickerScreen(self.picker_root), chosen)

    # -- errors, exit -------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where an unexpected worker error becomes a message on screen."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            err = one_line(event.worker.error)
            if event.worker.group == "run":
                self.post_message(msg.RunFailed(err))
            elif event.worker.group == "analysis":
                self.post_message(msg.AnalysisFailed(self.generation, err))
            else:
                self.notify(err, title=f"{event.worker.name} failed", severity="error")

    async def action_quit(self) -> None:
        self.workers.cancel_group(self, "run")
        self.workers.cancel_group(self, "analysis")
        self.exit(return_code=2 if self.load_failed else 0)


def create_app(
    model_path: str | os.PathLike | None,
    options: Options | Any | None = None,
    *,
    repeats: int = 20,
    runner: Runner | None = None,
    frozen: bool = False,
    picker_root: str | os.PathLike = ".",
) -> RamielApp:
    """The app, as the CLI and the tests build it.

    ``options``: :class:`Options` or anything with the same fields (e.g. ``core.plan.PlanOptions``).
    ``runner``: replaces the executor (tests inject fixed results). ``frozen``: hide wall-clock
    timings (first paint, compile times) so that screenshots are deterministic.
    """
    if options is not None and not isinstance(options, Options):
        options = Options(**{f.name: getattr(options, f.name) for f in dataclasses.fields(Options)})
    return RamielApp(model_path, options, repeats=repeats, runner=runner, frozen=frozen, picker_root=picker_root)
