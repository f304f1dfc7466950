"""The headless report: a versioned JSON-able dict, rendered as text (rich), markdown or JSON.

Never imports Textual (a test checks it in a subprocess).
"""

from __future__ import annotations

import json
from typing import Any

from core.pipeline import Compiled

SCHEMA_VERSION = "1.0"


def _tensor_entry(c: Compiled, name: str) -> dict[str, Any]:
    info = c.graph.info(name)
    return {
        "name": name,
        "dtype": str(info.dtype) if info.dtype is not None else None,
        "shape": list(info.shape) if info.shape is not None else None,
    }


def build_report(c: Compiled) -> dict[str, Any]:
    g = c.graph
    return {
        "schema": "ramiel-report",
        "schema_version": SCHEMA_VERSION,
        "model": {
            "path": c.source,
            "graph_name": g.name,
            "opsets": {k or "ai.onnx": v for k, v in g.opsets.items()},
            "nodes": len(g.nodes),
            "op_histogram": g.op_histogram(),
            "parameters": g.param_count(),
            "inputs": [_tensor_entry(c, t) for t in g.inputs],
            "outputs": [_tensor_entry(c, t) for t in g.outputs],
        },
        "codegen": {
            "fallback_nodes": list(c.serial.fallback_nodes),
            "weights_tensors": len(c.serial.weights),
            "source_lines": c.serial.source.count("\n"),
        },
        "compile_time_s": {k: round(v, 4) for k, v in c.timings_s.items()},
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2)


def _shape(entry: dict[str, Any]) -> str:
    shape = entry["shape"]
    return "?" if shape is None else "x".join(str(d) for d in shape) or "scalar"


def render_markdown(report: dict[str, Any]) -> str:
    m = report["model"]
    lines = [f"# Ramiel report: {m['path'] or m['graph_name']}", ""]
    lines += ["| | |", "|---|---|"]
    lines.append(f"| nodes | {m['nodes']} |")
    lines.append(f"| parameters | {m['parameters']:,} |")
    lines.append(f"| opsets | {', '.join(f'{k} {v}' for k, v in m['opsets'].items())} |")
    for kind in ("inputs", "outputs"):
        for e in m[kind]:
            lines.append(f"| {kind[:-1]} `{e['name']}` | {e['dtype']} {_shape(e)} |")
    fb = report["codegen"]["fallback_nodes"]
    lines.append(f"| onnx.reference fallback | {', '.join(fb) if fb else 'none'} |")
    lines += ["", "## Operators", "", "| op | count |", "|---|---|"]
    lines += [f"| {op} | {n} |" for op, n in m["op_histogram"].items()]
    return "\n".join(lines) + "\n"


def render_text(report: dict[str, Any], console) -> None:
    """Print the report with rich tables."""
    from rich.table import Table

    m = report["model"]
    summary = Table(title=f"Ramiel report: {m['path'] or m['graph_name']}", show_header=False)
    summary.add_column("what", style="bold")
    summary.add_column("value")
    summary.add_row("nodes", str(m["nodes"]))
    summary.add_row("parameters", f"{m['parameters']:,}")
    summary.add_row("opsets", ", ".join(f"{k} {v}" for k, v in m["opsets"].items()))
    for kind in ("inputs", "outputs"):
        for e in m[kind]:
            summary.add_row(f"{kind[:-1]} {e['name']}", f"{e['dtype']} {_shape(e)}")
    fb = report["codegen"]["fallback_nodes"]
    summary.add_row("onnx.reference fallback", ", ".join(fb) if fb else "none")
    console.print(summary)
    hist = Table(title="Operators")
    hist.add_column("op")
    hist.add_column("count", justify="right")
    for op, n in m["op_histogram"].items():
        hist.add_row(op, str(n))
    console.print(hist)
