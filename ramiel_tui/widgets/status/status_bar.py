"""Top of the screen: the model and settings, the predicted makespan (previous and new), what is running."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from ramiel_tui.charts import fmt_ms, progress_bar

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis


def _flag(text: Text, name: str, on: bool) -> None:
    text.append(f"{name} ", "bold")
    text.append("on" if on else "off", "green" if on else "red")
    text.append("  ")


class StatusBar(Static):
    """Two lines: settings, then the verdict (or what is being computed)."""

    def show(
        self,
        path: str | None,
        options: Any,
        analysis: Analysis | None,
        previous: Analysis | None,
        busy: tuple[str, int, int] | None = None,
        error: str | None = None,
        run: str | None = None,
    ) -> None:
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(Path(path).name if path else "no model", "bold reverse")
        top.append("  ")
        if options is not None:
            top.append("workers ", "bold")
            top.append(str(options.workers))
            top.append("  batch ", "bold")
            top.append(str(options.batch))
            top.append("  ")
            _flag(top, "cp/dce", options.cp_dce)
            _flag(top, "cloning", options.cloning)
            _flag(top, "merging", options.merging)
        line = Text(no_wrap=True, overflow="ellipsis")
        if error:
            line.append("error: ", "bold red")
            line.append(error)
        elif busy is not None:
            stage, step, total = busy
            line.append(f"[{progress_bar(step, total, 8)}] ", "cyan")
            line.append(f"{step}/{total} {stage}…")
        if analysis is not None and not error:
            if busy is not None:
                line.append("  │  ")
            new = analysis.makespan_us / 1e3
            line.append("makespan ", "bold")
            if previous is not None:
                old = previous.makespan_us / 1e3
                change = (new - old) / old * 100 if old > 0 else 0.0
                line.append(f"was {fmt_ms(old)} → now ")
                line.append(f"{fmt_ms(new)} ms", "bold")
                line.append(f" ({change:+.1f}%)", "green" if change < -0.05 else "red" if change > 0.05 else "")
            else:
                line.append(f"{fmt_ms(new)} ms", "bold")
            plan = analysis.plan
            n = len(plan.clusters)
            line.append(f"  {analysis.predicted_speedup:.2f}×  {n} cluster{'s' if n != 1 else ''}  ")
            if analysis.parallel:
                line.append("parallel", "bold green")
            else:
                line.append("sequential", "bold yellow")
            if not analysis.final:
                line.append("  (analytic costs; measuring)", "italic")
        if run:
            line.append("  │  ")
            line.append(run, "bold cyan")
        text = Text("\n", no_wrap=True, overflow="ellipsis").join([top, line])
        text.no_wrap, text.overflow = True, "ellipsis"
        self.update(text)
