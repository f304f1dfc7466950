"""The overview: model summary, critical-path statistics and verdict, passes, operator histogram.

Every number comes from the report's own row helpers (ramiel_tui.report), so the app and
``--report`` always agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import Static

from ramiel_tui.charts import fmt_ms, hbar

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis

OPS_SHOWN = 12


def _kv_table(title: str, rows: list[tuple[str, str | Text]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold underline", show_header=False, box=None,
                  padding=(0, 1), expand=True)  # fmt: skip
    table.add_column("what", style="bold", no_wrap=True, ratio=None)
    table.add_column("value", overflow="fold", ratio=1)
    for k, v in rows:
        table.add_row(k, v)
    return table


class OverviewPane(VerticalScroll):
    """Four blocks: two columns on wide terminals, one on narrow ones."""

    def compose(self) -> ComposeResult:
        with Container(id="overview-cols"):
            with Vertical(classes="ov-col"):
                yield Static("Loading the model…", id="ov-model", classes="block")
                yield Static(id="ov-cp", classes="block")
            with Vertical(classes="ov-col"):
                yield Static(id="ov-passes", classes="block")
                yield Static(id="ov-ops", classes="block")
        yield Static(id="ov-timings")

    def show(self, analysis: Analysis, previous: Analysis | None, timings: str = "") -> None:
        from ramiel_tui.report import pass_rows, summary_rows  # loaded by the analysis thread already

        report = analysis.report
        rows = summary_rows(report)
        split = next(k for k, (label, _) in enumerate(rows) if label == "cost source")
        model_rows: list[tuple[str, str | Text]] = [("file", report["model"]["path"] or report["model"]["graph_name"])]
        model_rows += rows[:split]
        self.model_rows = model_rows
        self.query_one("#ov-model", Static).update(_kv_table("Model", model_rows))

        cp_rows: list[tuple[str, str | Text]] = []
        for label, value in rows[split:]:
            if label == "decision":
                style = "bold green" if analysis.parallel else "bold yellow"
                mode, _, reason = value.partition(": ")
                value = Text.assemble((mode, style), ": " + reason)
            elif label == "predicted makespan" and previous is not None:
                old = previous.makespan_us / 1e3
                value = Text.assemble(f"{value}  ", (f"(was {fmt_ms(old)} ms)", "italic"))
            cp_rows.append((label, value))
        hyper = analysis.plan.hyper
        if hyper is not None:
            cp_rows.append((f"batch {analysis.options.batch} ({hyper.variant})",
                            f"{fmt_ms(hyper.makespan_us / 1e3)} ms, {hyper.predicted_speedup:.2f}x"))  # fmt: skip
        if not analysis.final:
            cp_rows.append(("note", Text("analytic costs shown while the requested cost source is measured", "italic")))
        self.cp_rows = cp_rows
        self.query_one("#ov-cp", Static).update(_kv_table("Critical path and decision", cp_rows))

        passes = Table(title="Passes", title_justify="left", title_style="bold underline", box=None, show_header=False,
                       padding=(0, 1), expand=True)  # fmt: skip
        passes.add_column("pass", style="bold", no_wrap=True)
        passes.add_column("on", no_wrap=True)
        passes.add_column("result", overflow="fold", ratio=1)
        self.pass_rows = pass_rows(report)
        for name, on, what in self.pass_rows:
            passes.add_row(name, Text(on, "green" if on == "on" else "red"), what)
        self.query_one("#ov-passes", Static).update(passes)

        hist = report["model"]["op_histogram"]
        ops = Table(title=f"Operators ({sum(hist.values())} nodes as loaded)", title_justify="left",
                    title_style="bold underline", box=None, show_header=False, padding=(0, 1), expand=True)  # fmt: skip
        ops.add_column("op", no_wrap=True)
        ops.add_column("n", justify="right", no_wrap=True)
        ops.add_column("bar", ratio=1, no_wrap=True, style="cyan")
        top = sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))
        biggest = top[0][1] if top else 1
        for op, n in top[:OPS_SHOWN]:
            ops.add_row(op, str(n), hbar(n, biggest, 20))
        if len(top) > OPS_SHOWN:
            rest = top[OPS_SHOWN:]
            ops.add_row(f"{len(rest)} more", str(sum(n for _, n in rest)), "")
        self.query_one("#ov-ops", Static).update(ops)
        self.query_one("#ov-timings", Static).update(Text(timings, "italic bright_black"))

    def show_error(self, message: str) -> None:
        self.query_one("#ov-model", Static).update(
            Text.assemble(("Could not analyse the model\n\n", "bold red"), message, "\n\npress o to open another model")
        )
        for k in ("#ov-cp", "#ov-passes", "#ov-ops"):
            self.query_one(k, Static).update("")
