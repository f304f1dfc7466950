"""Export dialog: where to write the report, the generated code and the trace of the last run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ExportScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default_dir: str, has_run: bool) -> None:
        super().__init__()
        self.default_dir = default_dir
        self.has_run = has_run

    def compose(self) -> ComposeResult:
        files = "report.md, report.json, <model>.py + .safetensors, <model>_parallel.py + .safetensors"
        files += ", trace.json (the last run, for Perfetto)" if self.has_run else " (run first for trace.json)"
        with Vertical(id="export-dialog"):
            yield Static("Export to folder (enter writes, escape cancels)", classes="dialog-title")
            yield Input(self.default_dir, id="export-dir")
            yield Static(files, classes="dialog-note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
