"""The headless report: a versioned, JSON-able dict, rendered as text (rich), markdown or JSON.

The schema is documented in docs/report-schema.md. Never imports Textual (a test checks it
in a subprocess).
"""

from __future__ import annotations

import json
from typing import Any

from core.cost import node_stats
from core.pipeline import Compiled
from ramiel_tui.execution import where_it_ran

SCHEMA_VERSION = "1.3"


def _r(x: float, nd: int = 1) -> float:
    return round(float(x), nd)


def _tensor_entry(c: Compiled, name: str) -> dict[str, Any]:
    info = c.input_graph.info(name)
    return {
        "name": name,
        "dtype": str(info.dtype) if info.dtype is not None else None,
        "shape": list(info.shape) if info.shape is not None else None,
    }


def _clusters(plan, clusters: list[list[str]], detail: bool) -> list[dict[str, Any]]:
    out = []
    sched, cost, cp, g = plan.schedule, plan.cost, plan.cp, plan.graph
    for i, nodes in enumerate(clusters):
        entry: dict[str, Any] = {
            "index": i,
            "size": len(nodes),
            "work_us": _r(sum(cost.node_us.get(n, 0.0) for n in nodes)),
        }
        if detail:
            entry["worker"] = plan.cluster_worker[i]
            entry["start_us"] = _r(min(sched.start[n] for n in nodes))
            entry["end_us"] = _r(max(sched.end[n] for n in nodes))
            entry["nodes"] = [
                {
                    "name": n,
                    "op": g.node_by_name[n].op_type,
                    "shape": g.info(g.node_by_name[n].outputs[0]).shape_str() if g.node_by_name[n].outputs else "",
                    "cost_us": _r(cost.node_us[n]),
                    "flops": cost.stats[n].flops,
                    "start_us": _r(sched.start[n]),
                    "end_us": _r(sched.end[n]),
                    "slack_us": _r(cp.slack.get(n, 0.0)),
                    "critical": cp.on_path(n),
                }
                for n in nodes
            ]
        else:
            entry["nodes"] = list(nodes)
        out.append(entry)
    return out


def build_report(c: Compiled) -> dict[str, Any]:
    plan, g0 = c.plan, c.input_graph
    o = plan.options
    fold = plan.fold
    passes: list[dict[str, Any]] = [
        {
            "name": "cp_dce",
            "enabled": o.cp_dce,
            "tool": "onnxruntime basic-level offline optimizer + ramiel DCE" if o.cp_dce else None,
            "nodes_before": len(g0.nodes),
            "nodes_after": len(plan.base_graph.nodes),
            "removed_ops": fold.removed_ops if fold else {},
            "added_ops": fold.added_ops if fold else {},
            "dead_nodes_removed": list(plan.dead),
        },
        {"name": "linear_clustering", "enabled": True, "clusters": len(plan.linear)},
        {
            "name": "merging",
            "enabled": o.merging,
            "clusters_before": len(plan.linear),
            "clusters_after_span_merging": len(plan.spans),
            "clusters_after": len(plan.clusters),
        },
        {
            "name": "cloning",
            "enabled": o.cloning,
            "clones": [
                {
                    "original": k.original,
                    "clone": k.name,
                    "cluster": k.cluster,
                    "cost_us": _r(k.cost_us),
                    "saved_us": _r(k.saved_us),
                }
                for k in plan.clones
            ],
        },
    ]
    hyper = plan.hyper
    passes.append(
        {
            "name": "hyperclustering",
            "enabled": hyper is not None,
            "batch": o.batch,
            "variant": getattr(hyper, "variant", None),
            "makespans_us": {k: _r(v) for k, v in hyper.makespans.items()} if hyper else {},
            "predicted_speedup": _r(hyper.predicted_speedup, 3) if hyper else None,
        }
    )
    # cloning replaces a cheap node that every consumer now reads a copy of: the plan's costs no longer
    # hold the original (BERT's token-type Gather), so its figures come from the base graph
    stats = [plan.cost.stats.get(n.name) or node_stats(plan.base_graph, n) for n in plan.base_graph.nodes]
    cp = plan.cp
    return {
        "schema": "ramiel-report",
        "schema_version": SCHEMA_VERSION,
        "model": {
            "path": c.source,
            "graph_name": g0.name,
            "opsets": {k or "ai.onnx": v for k, v in g0.opsets.items()},
            "nodes": len(g0.nodes),
            "op_histogram": g0.op_histogram(),
            "parameters": g0.param_count(),
            "flops": int(sum(s.flops for s in stats)),
            "inputs": [_tensor_entry(c, t) for t in g0.inputs],
            "outputs": [_tensor_entry(c, t) for t in g0.outputs],
        },
        "options": {
            "workers": o.workers,
            "batch": o.batch,
            "cp_dce": o.cp_dce,
            "cloning": o.cloning,
            "merging": o.merging,
            "cost": o.cost,
            "backend": o.backend,
            "threshold": o.threshold,
        },  # fmt: skip
        "backend": {"name": plan.backend, "reason": plan.backend_reason},
        "passes": passes,
        "cost": {
            "source": plan.cost.source,
            "handoff": {
                "latency_us": _r(plan.cost.machine.handoff_latency_us),
                "copy_gbps": _r(plan.cost.machine.copy_gbps),
                "source": plan.cost.machine.sources.get("handoff", "default"),
            },
        },
        "analysis": {
            "nodes": len(plan.graph.nodes),
            "work_us": _r(cp.work),
            "critical_path_us": _r(cp.length),
            "parallelism": _r(cp.parallelism, 3),
            "ideal_speedup": _r(cp.ideal_speedup(o.workers), 3),
            "lower_bound_us": _r(cp.lower_bound(o.workers)),
            "predicted_makespan_us": _r(plan.makespan_us),
            "predicted_speedup": _r(plan.predicted_speedup, 3),
            "idle_us_per_worker": [_r(x) for x in plan.schedule.idle()],
            "critical_path": list(cp.path),
        },
        "decision": {"mode": "parallel" if plan.decision.parallel else "sequential", "reason": plan.decision.reason},
        "clusters_before_merging": _clusters(plan, plan.linear, detail=False),
        "clusters": _clusters(plan, plan.clusters, detail=True),
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


def _ms(us: float) -> str:
    return f"{us / 1000:.2f} ms"


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the text and markdown renderings."""
    m, a, d = report["model"], report["analysis"], report["decision"]
    o = report["options"]
    rows = [
        ("nodes (loaded → analysed)", f"{m['nodes']} → {a['nodes']}"),
        ("parameters", f"{m['parameters']:,}"),
        ("FLOPs", f"{m['flops'] / 1e9:.3f} G"),
        ("opsets", ", ".join(f"{k} {v}" for k, v in m["opsets"].items())),
    ]
    rows += [(f"input {e['name']}", f"{e['dtype']} {_shape(e)}") for e in m["inputs"]]
    rows += [(f"output {e['name']}", f"{e['dtype']} {_shape(e)}") for e in m["outputs"]]
    h = report["cost"]["handoff"]
    rows += [
        ("backend", report["backend"]["reason"] or report["backend"]["name"]),
        ("cost source", report["cost"]["source"]),
        ("hand-off cost", f"{h['latency_us']} µs + bytes at {h['copy_gbps']} GB/s ({h['source']})"),
        ("workers / batch", f"{o['workers']} / {o['batch']}"),
        ("W (total work)", _ms(a["work_us"])),
        ("CP (critical path)", _ms(a["critical_path_us"])),
        ("W/CP", f"{a['parallelism']:.2f}"),
        ("ideal speedup min(P, W/CP)", f"{a['ideal_speedup']:.2f}x"),
        ("lower bound max(CP, W/P)", _ms(a["lower_bound_us"])),
        ("predicted makespan", _ms(a["predicted_makespan_us"])),
        ("predicted speedup", f"{a['predicted_speedup']:.2f}x"),
        ("decision", f"{d['mode']}: {d['reason']}"),
    ]
    if report.get("workers_auto"):
        auto = report["workers_auto"]
        threads = "/".join(map(str, auto["threads"])) or "all"
        rows.append(("workers auto", f"{auto['workers']} worker(s) × {threads} thread(s): {auto['reason']}"))
    fb = report["codegen"]["fallback_nodes"]
    rows.append(("onnx.reference fallback", ", ".join(fb) if fb else "none"))
    return rows


def pass_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for p in report["passes"]:
        on = "on" if p["enabled"] else "off"
        if p["name"] == "cp_dce":
            removed = sum(p["removed_ops"].values())
            what = (f"{p['nodes_before']} → {p['nodes_after']} nodes ({removed} folded/fused away, "
                    f"{sum(p['added_ops'].values())} created by fusion, {len(p['dead_nodes_removed'])} dead)")  # fmt: skip
        elif p["name"] == "linear_clustering":
            what = f"{p['clusters']} linear clusters"
        elif p["name"] == "merging":
            what = (
                f"{p['clusters_before']} → {p['clusters_after_span_merging']} (spans) → {p['clusters_after']} clusters"
            )
        elif p["name"] == "cloning":
            what = f"{len(p['clones'])} clones" + "".join(
                f"; {k['original']} into cluster {k['cluster']} ({k['cost_us']} µs, saves {k['saved_us']} µs)"
                for k in p["clones"][:3]
            )
        else:
            what = (f"batch {p['batch']}: {p['variant']} ({', '.join(f'{k} {_ms(v)}' for k, v in p['makespans_us'].items())})"
                    if p["enabled"] else "batch 1")  # fmt: skip
        out.append((p["name"], on, what))
    return out


def cluster_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    out = []
    for c in report["clusters"]:
        nodes = c["nodes"]
        crit = sum(1 for n in nodes if n["critical"])
        out.append((str(c["index"]), str(c["worker"]), str(c["size"]), _ms(c["work_us"]),
                    f"{_ms(c['start_us'])} – {_ms(c['end_us'])}", str(crit), f"{nodes[0]['name']} … {nodes[-1]['name']}"))  # fmt: skip
    return out


CLUSTER_HEADER = ("cluster", "worker", "nodes", "work", "span", "on CP", "first … last node")


def run_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    r = report.get("run")
    if not r:
        return []

    def fmt(s: dict) -> str:
        return f"{s['median']:.2f} ms (min {s['min']:.2f}, max {s['max']:.2f}, {s['runs']} runs)" if s else "-"

    rows = [
        ("mode", f"{r['mode']} ({where_it_ran(r, times='x')})"),
        ("serial (same code, 1 thread)", fmt(r["serial_ms"])),
        ("parallel" if r["mode"] == "parallel" else "sequential fallback", fmt(r["parallel_ms"])),
    ]
    rows += [(f"onnxruntime {k}", fmt(v)) for k, v in r["onnxruntime_ms"].items()]
    rows.append(
        (
            "speedup vs own serial",
            f"{r['speedup_vs_serial']:.2f}x (predicted makespan {r['predicted_makespan_ms']:.2f} ms)",
        )
    )
    if r.get("ratio_to_best_onnxruntime") is not None:
        rows.append(("time / best onnxruntime", f"{r['ratio_to_best_onnxruntime']:.2f}"))
    rows += [(f"max abs diff {k} vs onnxruntime", f"{v:.3g}") for k, v in r["max_abs_diff_vs_onnxruntime"].items()]
    for w in r["per_worker_last_run"]:
        rows.append((f"worker {w['worker']} ({w['function']})",
                     f"{w['start_ms']:.2f}–{w['end_ms']:.2f} ms, busy {w['busy_ms']:.2f} (copying {w.get('copy_ms', 0):.2f}), "
                     f"waiting {w['wait_ms']:.2f} ({w['waits']} waits), predicted work {w['predicted_work_ms']:.2f}"))  # fmt: skip
        for c in w.get("clusters", []):
            rows.append((f"  cluster {c['cluster']}", f"{c['start_ms']:.2f}–{c['end_ms']:.2f} ms: {c['measured_ms']:.2f} "
                                                      f"measured, {c['predicted_work_ms']:.2f} predicted"))  # fmt: skip
    return rows


SCALING_HEADER = ("cores", "intra-op (ORT-style) ms", "inter-op ms", "hybrid ms", "best", "best / intra-op")


def scaling_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    s = report.get("scaling")
    if not s:
        return []

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    return [
        (
            f"{r['cores']}{'*' if r['extrapolated'] else ''}",
            ms(r["intra_op_ms"]),
            ms(r["inter_op_ms"]),
            ms(r["hybrid_ms"]),
            r["best"],
            f"{r['best_vs_intra_op']:.2f}",
        )
        for r in s["rows"]
    ]


def render_markdown(report: dict[str, Any]) -> str:
    m = report["model"]
    lines = [f"# Ramiel report: {m['path'] or m['graph_name']}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(report)]
    lines += ["", "## Passes", "", "| pass | | result |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in pass_rows(report)]
    lines += ["", "## Clusters", "", "| " + " | ".join(CLUSTER_HEADER) + " |", "|" + "---|" * len(CLUSTER_HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in cluster_rows(report)]
    if report.get("run"):
        lines += ["", "## Measured run", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in run_rows(report)]
    if report.get("scaling"):
        lines += ["", "## Scaling (simulated)", "", report["scaling"]["source"] + "; * extrapolated beyond it", ""]
        lines += ["| " + " | ".join(SCALING_HEADER) + " |", "|" + "---|" * len(SCALING_HEADER)]
        lines += ["| " + " | ".join(r) + " |" for r in scaling_rows(report)]
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
    for k, v in summary_rows(report):
        summary.add_row(k, v)
    console.print(summary)
    passes = Table(title="Passes")
    for h in ("pass", "", "result"):
        passes.add_column(h)
    for row in pass_rows(report):
        passes.add_row(*row)
    console.print(passes)
    clusters = Table(title="Clusters after merging (simulated schedule)")
    for h in CLUSTER_HEADER:
        clusters.add_column(h)
    for row in cluster_rows(report):
        clusters.add_row(*row)
    console.print(clusters)
    if report.get("run"):
        run = Table(title="Measured run", show_header=False)
        run.add_column("what", style="bold")
        run.add_column("value")
        for k, v in run_rows(report):
            run.add_row(k, v)
        console.print(run)
    if report.get("scaling"):
        table = Table(title="Scaling (simulated)", caption=report["scaling"]["source"] + "; * extrapolated beyond it")
        for h in SCALING_HEADER:
            table.add_column(h)
        for row in scaling_rows(report):
            table.add_row(*row)
        console.print(table)
    hist = Table(title="Operators (as loaded)")
    hist.add_column("op")
    hist.add_column("count", justify="right")
    for op, n in m["op_histogram"].items():
        hist.add_row(op, str(n))
    console.print(hist)
