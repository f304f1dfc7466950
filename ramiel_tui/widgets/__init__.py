"""Widgets, grouped by the screen region they draw: status, overview, clusters, code, run."""
