"""Details of the highlighted tree line: a node (attributes, inputs/outputs, generated code) or a cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ramiel_tui.charts import fmt_ms, fmt_us
from ramiel_tui.widgets.clusters.cluster_tree import CP_MARK, CP_STYLE, Item, short_name

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis

SYNTAX_THEME = "ansi_dark"  # ANSI colours: right on 16-colour terminals


def _attr(v) -> str:
    if hasattr(v, "dtype") and hasattr(v, "shape") and hasattr(v, "tolist"):  # a numpy array
        return f"tensor {v.dtype}[{'x'.join(map(str, v.shape)) or 'scalar'}]" if v.size > 8 else repr(v.tolist())
    if isinstance(v, bytes):
        v = v.decode(errors="replace")
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _tensor_lines(analysis: Analysis, title: str, names: list[str], inputs: bool) -> Text:
    """One line per tensor: name, dtype and shape, where it comes from or goes to."""
    g = analysis.plan.graph
    text = Text(title + "\n", "bold")
    for t in names:
        info = g.info(t)
        if inputs:
            p = g.producer(t)
            where = ("graph input" if t in g.inputs else "weight" if t in g.initializers else
                     f"← {p.op_type} {short_name(p.name)}" if p else "constant")  # fmt: skip
        else:
            cons = g.consumers(t)
            where = ", ".join(f"→ {c.op_type} {short_name(c.name)}" for c in cons[:3]) + (" …" if len(cons) > 3 else "")
            if t in g.outputs:
                where = ("graph output; " + where) if where else "graph output"
        text.append(f"  {t}  ")
        text.append(f"{info.dtype} {info.shape_str()}", "cyan")
        text.append(f"  {where}\n", "bright_black")
    text.rstrip()
    return text


class NodeDetail(VerticalScroll, can_focus=True):
    def compose(self) -> ComposeResult:
        yield Static("Highlight a node in the tree to see its details.", id="detail-body")

    def clear(self, message: str = "") -> None:
        self.query_one("#detail-body", Static).update(message)

    def show_item(self, analysis: Analysis, item: Item | None) -> None:
        if item is None:
            self.clear("Highlight a cluster or a node in the tree.")
        elif item.node and item.node in analysis.plan.graph.node_by_name:
            self.show_node(analysis, item.node)
        else:
            self.show_cluster(analysis, item.group, item.cluster)
        self.scroll_home(animate=False)

    def show_node(self, analysis: Analysis, name: str) -> None:
        self.shown = name
        plan = analysis.plan
        g = plan.graph
        node = g.node_by_name[name]
        on_cp = plan.cp.on_path(name)
        cluster = analysis.cluster_of.get(name)
        head = Text()
        head.append(name + "\n", "bold")
        head.append(f"{node.op_type}", "bold cyan")
        head.append(f" ({node.domain or 'ai.onnx'} v{node.since_version})")
        if cluster is not None:
            head.append(f" · cluster {cluster} on worker {analysis.run_worker_of_cluster(cluster)}")
        head.append(" · ")
        head.append(f"{CP_MARK} on the critical path" if on_cp else "off the critical path", CP_STYLE if on_cp else "")
        head.append("\n")
        stats = plan.cost.stats.get(name)
        head.append(f"cost {fmt_us(plan.cost.node_us.get(name, 0.0))}")
        if stats is not None:
            head.append(f" · {stats.flops / 1e6:.2f} MFLOPs")
        start, end = plan.schedule.start.get(name), plan.schedule.end.get(name)
        if start is not None:
            head.append(f" · simulated {fmt_ms(start / 1e3)}–{fmt_ms(end / 1e3)} ms")
        head.append(f" · slack {fmt_ms(plan.cp.slack.get(name, 0.0) / 1e3)} ms")
        clone = next((k for k in plan.clones if k.name == name), None)
        if clone is not None:
            head.append(f"\nclone of {clone.original}: {clone.reason}", "italic")
        parts: list = [head]
        if node.attrs:
            attrs = Text("attributes: ", "bold")
            attrs.append("  ".join(f"{k}={_attr(v)}" for k, v in node.attrs.items()))
            parts.append(attrs)
        parts.append(_tensor_lines(analysis, "inputs", node.present_inputs, inputs=True))
        parts.append(_tensor_lines(analysis, "outputs", node.present_outputs, inputs=False))
        stmt = analysis.node_statement(name)
        where = analysis.node_lines_in_function(name)
        if stmt:
            worker = analysis.run_worker_of_cluster(cluster) if cluster is not None else 0
            fname = analysis.module.functions.get(worker, "?")
            loc = f" (parallel module lines {where[0]}–{where[1]}, in {fname})" if where else ""
            parts.append(Text(f"generated code{loc}:", "bold"))
            parts.append(Syntax("\n".join(stmt), "python", theme=SYNTAX_THEME, word_wrap=True,
                                start_line=where[0] if where else 1, line_numbers=where is not None))  # fmt: skip
        self.query_one("#detail-body", Static).update(Group(*parts))

    def show_cluster(self, analysis: Analysis, group: str, i: int) -> None:
        self.shown = f"{group} cluster {i}"
        plan = analysis.plan
        nodes = plan.clusters[i] if group == "final" else plan.linear[i]
        work = sum(plan.cost.node_us.get(n, 0.0) for n in nodes)
        crit = [n for n in nodes if n in plan.cp.slack and plan.cp.on_path(n)]
        text = Text()
        title = f"cluster {i}" + (" (after merging)" if group == "final" else " (linear clustering, before merging)")
        text.append(title + "\n", "bold")
        text.append(f"{len(nodes)} nodes · predicted work {fmt_ms(work / 1e3)} ms · ")
        text.append(f"{len(crit)} {CP_MARK} on the critical path\n", CP_STYLE if crit else "")
        if group == "final":
            w = analysis.run_worker_of_cluster(i)
            s, e = plan.cluster_span(i)
            text.append(
                f"runs on worker {w} as {analysis.module.functions.get(w, '?')}() · simulated {fmt_ms(s / 1e3)}–{fmt_ms(e / 1e3)} ms\n"
            )
            text.append("press 3 to read its generated code\n", "italic")
        else:
            merged = sorted({analysis.cluster_of[n] for n in nodes if n in analysis.cluster_of})
            text.append(
                f"ends up in cluster{'s' if len(merged) != 1 else ''} {', '.join(map(str, merged)) or '-'} after merging\n"
            )
        ops: dict[str, int] = {}
        for n in nodes:
            op = plan.graph.node_by_name[n].op_type if n in plan.graph.node_by_name else "?"
            ops[op] = ops.get(op, 0) + 1
        text.append("ops: ", "bold")
        text.append(", ".join(f"{op} {k}" for op, k in sorted(ops.items(), key=lambda kv: -kv[1])))
        self.query_one("#detail-body", Static).update(text)
