"""The Timeline view: a Gantt of the last run per worker (compute vs waiting), the simulated schedule
on the same rows, and latency per run for every variant — all drawn with text characters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ramiel_tui.charts import compute_spans, fmt_ms, legend, sparkline, timeline
from ramiel_tui.execution import median

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis
    from ramiel_tui.execution import WorkerRun

LABEL_W = 27


def predicted_rows(analysis: Analysis) -> list[tuple[str, list, list, str]]:
    """Per worker: the simulated busy spans and the gaps between them (waiting for inputs)."""
    plan = analysis.plan
    rows = []
    for w, fn in analysis.module.functions.items():
        nodes = [n for i, c in enumerate(plan.clusters) if analysis.run_worker_of_cluster(i) == w for n in c]
        spans = sorted((plan.schedule.start[n] / 1e3, plan.schedule.end[n] / 1e3) for n in nodes)
        waits, t = [], spans[0][0] if spans else 0.0
        for s, e in spans:
            if s > t:
                waits.append((t, s))
            t = max(t, e)
        busy = sum(e - s for s, e in spans)
        rows.append((f"w{w} {fn}", spans, waits, f"busy {fmt_ms(busy)}"))
    return rows


def measured_rows(workers: list[WorkerRun]) -> list[tuple[str, list, list, str]]:
    return [(f"w{w.worker} {w.function}", compute_spans(w.start_ms, w.end_ms, w.waits), list(w.waits),
             f"busy {fmt_ms(w.busy_ms)} wait {fmt_ms(w.wait_ms)}") for w in workers]  # fmt: skip


class TimelinePane(VerticalScroll, can_focus=True):
    def on_mount(self) -> None:
        self.mount(Static(id="gantt"), Static(id="latency"))
        self.analysis: Analysis | None = None
        self.last_workers: list[WorkerRun] = []
        self.wall_ms = 0.0
        self.series: dict[str, list[float]] = {}

    def on_resize(self) -> None:
        self._draw()

    def show_prediction(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self._draw()

    def show_run(
        self, analysis: Analysis, workers: list[WorkerRun], wall_ms: float, series: dict[str, list[float]]
    ) -> None:
        self.analysis = analysis
        self.last_workers = list(workers)
        self.wall_ms = wall_ms
        self.series = {k: list(v) for k, v in series.items()}
        self._draw()

    def on_show(self) -> None:
        if getattr(self, "_dirty", False):
            self._draw()

    def _draw(self) -> None:
        if not self.is_mounted or self.analysis is None:
            return
        if not self.display or not self.is_on_screen:
            self._dirty = True  # drawn when shown: no work for a hidden view during a run
            return
        self._dirty = False
        width = max(40, self.size.width - 2)
        parts: list = []
        measured = measured_rows(self.last_workers)
        predicted = predicted_rows(self.analysis)
        label_w = max(len(r[0]) for r in measured + predicted) + 1
        note_w = max(len(r[3]) for r in measured + predicted)
        if self.last_workers:
            total = max([self.wall_ms] + [w.end_ms for w in self.last_workers])
            parts.append(Text(f"Last run, measured ({fmt_ms(total)} ms)", "bold underline"))
            parts.append(timeline(measured, total, width, label_w, note_w))
        else:
            parts.append(Text("Last run, measured: press r to run", "bold underline"))
        plan = self.analysis.plan
        parts.append(Text(f"Predicted, simulated schedule ({fmt_ms(plan.makespan_us / 1e3)} ms)", "bold underline"))
        parts.append(timeline(predicted, plan.makespan_us / 1e3, width, label_w, note_w))
        parts.append(legend())
        self.query_one("#gantt", Static).update(Group(*parts))

        lat: list = [Text("Latency per run (ms; bars from 0 to the slowest run)", "bold underline")]
        values = [v for s in self.series.values() for v in s]
        if values:
            hi = max(values)
            spark_w = min(max(10, width - LABEL_W - 24), max(len(v) for v in self.series.values()))
            for label, vals in self.series.items():
                line = Text(no_wrap=True)
                line.append(f"{label[: LABEL_W - 1]:<{LABEL_W}}", "bold")
                line.append(f"{sparkline(vals, spark_w, hi):<{spark_w}}", "cyan")
                line.append(f" med {fmt_ms(median(vals)):>6} max {fmt_ms(max(vals)):>6}")
                lat.append(line)
            lat.append(Text(f"scale: ▁ 0 ms … █ {fmt_ms(hi)} ms; last {min(spark_w, max(len(v) for v in self.series.values()))} runs",
                            "bright_black"))  # fmt: skip
        else:
            lat.append(Text("no runs yet", "bright_black"))
        self.query_one("#latency", Static).update(Group(*lat))
