"""Export from the app: the report (same schema as ``--report``), the generated code, a Chrome trace. No Textual."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis
    from ramiel_tui.execution import RunResult


def default_export_dir(analysis: Analysis) -> Path:
    return Path("ramiel-export") / analysis.compiled.module_name


def export_all(directory: str | Path, analysis: Analysis, run: RunResult | None = None) -> list[Path]:
    """Write report.md, report.json, the serial and parallel modules (+ weights) and, after a run, trace.json."""
    from ramiel_tui.execution import chrome_trace
    from ramiel_tui.report import render_json, render_markdown

    out = Path(directory).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    report = dict(analysis.report)
    if run is not None and run.options == analysis.options:
        report["run"] = run.data
    written = []
    md = out / "report.md"
    md.write_text(render_markdown(report))
    written.append(md)
    js = out / "report.json"
    js.write_text(render_json(report) + "\n")
    written.append(js)
    name = analysis.compiled.module_name
    serial = analysis.compiled.serial.write(out, name)
    written += [serial, serial.with_suffix(".safetensors")]
    par = analysis.module.write(out, f"{name}_parallel")
    written += [par, par.with_suffix(".safetensors")]
    if run is not None:
        trace = out / "trace.json"
        trace.write_text(json.dumps(chrome_trace(run, analysis if run.options == analysis.options else None)))
        written.append(trace)
    return written
