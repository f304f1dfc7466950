"""The file picker: a directory tree that lists folders and .onnx files only."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DirectoryTree, Footer, Static


class OnnxTree(DirectoryTree):
    # plain glyphs: emoji icons are double width or missing on many SSH terminals
    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "
    ICON_FILE = "  "

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        out = []
        for p in paths:
            if p.name.startswith(".") or p.name == "__pycache__":
                continue
            try:
                if p.is_dir() or p.suffix.lower() == ".onnx":
                    out.append(p)
            except OSError:
                continue
        return out


class FilePickerScreen(Screen[Path | None]):
    """Choose a model; dismisses with its path (or None on escape)."""

    BINDINGS = [
        Binding("escape", "cancel", "Back"),
        Binding("backspace", "up", "Parent dir"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, root: str | Path = ".") -> None:
        super().__init__()
        self.root = Path(root).resolve()

    def compose(self) -> ComposeResult:
        yield Static(
            f"Open an ONNX model: arrows move, enter opens a folder or a model\n{self.root}", id="picker-title"
        )
        yield OnnxTree(self.root, id="picker-tree")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(OnnxTree).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(Path(event.path))

    def action_up(self) -> None:
        tree = self.query_one(OnnxTree)
        self.root = self.root.parent
        tree.path = self.root
        self.query_one("#picker-title", Static).update(
            f"Open an ONNX model: arrows move, enter opens a folder or a model\n{self.root}"
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
