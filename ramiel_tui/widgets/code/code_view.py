"""The generated code of one worker's function (what that worker process runs), with the selected node marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ramiel_tui.widgets.clusters.node_detail import SYNTAX_THEME

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis


class CodeScroll(VerticalScroll, can_focus=True):
    BINDINGS = [
        Binding("left_square_bracket", "app.code_worker(-1)", "fn", group=Binding.Group("fn", compact=True)),
        Binding("right_square_bracket", "app.code_worker(1)", "fn", group=Binding.Group("fn", compact=True)),
    ]


class CodeView(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("The generated code appears once the model is analysed.", id="code-title")
        with CodeScroll(id="code-scroll"):
            yield Static(id="code-body")

    def show(self, analysis: Analysis, worker: int, highlight: tuple[int, int] | None = None,
             focus_line: int | None = None) -> None:  # fmt: skip
        first, lines = analysis.function_lines(worker)
        fname = analysis.module.functions.get(worker, "?")
        clusters = analysis.module.clusters_of_worker.get(worker, [])
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f"worker {worker}/{len(analysis.module.functions)}: ", "bold")
        title.append(f"def {fname}(W, X)", "bold cyan")
        title.append(f"  clusters {', '.join(map(str, clusters)) or '-'}  lines {first}–{first + len(lines) - 1}")
        if not analysis.parallel:
            title.append("  (sequential fallback: one worker runs every cluster)", "yellow")
        title.append("  [ ] other workers", "bright_black")
        self.query_one("#code-title", Static).update(title)
        hl = set(range(highlight[0], highlight[1] + 1)) if highlight else set()
        syntax = Syntax("\n".join(lines), "python", theme=SYNTAX_THEME, line_numbers=True, start_line=first,
                        highlight_lines=hl, word_wrap=False, indent_guides=False)  # fmt: skip
        self.current = (worker, first, len(lines))
        self.query_one("#code-body", Static).update(syntax)
        target = highlight[0] if highlight else focus_line
        self._scroll_y = max(0, target - first - 3) if target is not None else 0
        self.call_after_refresh(self.apply_scroll)

    def apply_scroll(self) -> None:
        """Scroll to the marked lines (again when the view becomes visible: hidden, it cannot scroll)."""
        self.query_one("#code-scroll", CodeScroll).scroll_to(y=getattr(self, "_scroll_y", 0), animate=False)
