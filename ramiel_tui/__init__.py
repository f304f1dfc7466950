"""Ramiel TUI: the Textual app, the CLI and report rendering."""
