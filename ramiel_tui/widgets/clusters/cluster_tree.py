"""Clusters (after and before merging) → nodes, with op, shape, cost, simulated span, CP membership and slack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ramiel_tui.charts import fmt_ms, fmt_us

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis

CP_MARK = "●"
OFF_MARK = "·"
CP_STYLE = "bold red"
TREE_HEADER = f"{CP_MARK} critical path   op, output shape, cost, simulated start–end (ms), slack (ms), node"


@dataclass(frozen=True)
class Item:
    """What a tree line stands for: a cluster of a group (``node`` empty) or a node in it."""

    group: str  # "final" | "linear"
    cluster: int
    node: str = ""


def short_name(name: str, keep: int = 2) -> str:
    parts = [p for p in name.split("/") if p]
    return "/".join(parts[-keep:]) if len(parts) > keep else name


def node_label(analysis: Analysis, name: str) -> Text:
    plan = analysis.plan
    g = plan.graph
    node = g.node_by_name[name]
    shape = g.info(node.outputs[0]).shape_str() if node.outputs else ""
    on_cp = plan.cp.on_path(name)
    start, end = plan.schedule.start.get(name), plan.schedule.end.get(name)
    span = f"{start / 1e3:6.2f}–{end / 1e3:<6.2f}" if start is not None and end is not None else " " * 13
    # columns: see TREE_HEADER
    text = Text(no_wrap=True)
    text.append(CP_MARK if on_cp else OFF_MARK, CP_STYLE if on_cp else "bright_black")
    text.append(f" {node.op_type:<11.11}", "bold" if on_cp else "")
    text.append(f" {shape:<11.11}")
    text.append(f" {fmt_us(plan.cost.node_us.get(name, 0.0)):>7}")
    text.append(f" {span}")
    text.append(f" {plan.cp.slack.get(name, 0.0) / 1e3:5.2f}")
    text.append(f"  {short_name(name)}", "bright_black")
    return text


def cluster_label(analysis: Analysis, group: str, i: int, nodes: list[str]) -> Text:
    plan = analysis.plan
    work = sum(plan.cost.node_us.get(n, 0.0) for n in nodes)
    crit = sum(1 for n in nodes if n in plan.cp.slack and plan.cp.on_path(n))
    text = Text(no_wrap=True)
    text.append(f"cluster {i}", "bold")
    if group == "final":
        text.append(f" → worker {analysis.run_worker_of_cluster(i)}", "cyan")
    text.append(f"  {len(nodes)} nodes  work {fmt_ms(work / 1e3)} ms")
    starts = [plan.schedule.start[n] for n in nodes if n in plan.schedule.start]
    ends = [plan.schedule.end[n] for n in nodes if n in plan.schedule.end]
    if group == "final" and starts:
        text.append(f"  {fmt_ms(min(starts) / 1e3)}–{fmt_ms(max(ends) / 1e3)} ms")
    if crit:
        text.append(f"  {crit} ", CP_STYLE)
        text.append(CP_MARK, CP_STYLE)
    return text


class ClusterTree(Tree[Item]):
    """The cluster tree; highlighting a line tells the app which node or cluster to detail."""

    def __init__(self, **kwargs) -> None:
        super().__init__("no model loaded", **kwargs)
        self.show_root = False
        self.guide_depth = 2

    def show(self, analysis: Analysis) -> None:
        keep = self.cursor_node.data if self.cursor_node is not None else None
        plan = analysis.plan
        self.clear()
        self.root.set_label(analysis.compiled.module_name)
        final = self.root.add(
            Text.assemble((f"after merging: {len(plan.clusters)} clusters", "bold"),
                          f" on {len(set(analysis.run_worker_of_cluster(i) for i in range(len(plan.clusters))))} worker(s)"),
            expand=True,
        )  # fmt: skip
        found: TreeNode | None = None
        for i, nodes in enumerate(plan.clusters):
            item = Item("final", i)
            branch = final.add(cluster_label(analysis, "final", i, nodes), data=item, expand=True)
            found = branch if item == keep else found
            for n in nodes:
                item = Item("final", i, n)
                leaf = branch.add_leaf(node_label(analysis, n), data=item)
                found = leaf if item == keep else found
        linear = self.root.add(Text(f"before merging: {len(plan.linear)} linear clusters", "bold"), expand=False)
        for i, nodes in enumerate(plan.linear):
            item = Item("linear", i)
            branch = linear.add(cluster_label(analysis, "linear", i, nodes), data=item)
            for n in nodes:
                if n in plan.graph.node_by_name:
                    linear_item = Item("linear", i, n)
                    leaf = branch.add_leaf(node_label(analysis, n), data=linear_item)
                    if linear_item == keep:
                        branch.expand()
                        linear.expand()
                        found = leaf
        if plan.clones:
            clones = self.root.add(Text(f"clones: {len(plan.clones)}", "bold"), expand=False)
            for k in plan.clones:
                clones.add_leaf(f"{short_name(k.original)} → cluster {k.cluster} ({k.reason})",
                                data=Item("final", k.cluster, k.name))  # fmt: skip
        self.root.expand()
        target = found
        if target is None and keep is not None and keep.node:  # the node moved to another cluster
            target = next((n for n in self._walk(final) if n.data and n.data.node == keep.node), None)
        self.call_after_refresh(self._restore_cursor, target)

    def _walk(self, node: TreeNode):
        for child in node.children:
            yield child
            yield from self._walk(child)

    def _restore_cursor(self, target: TreeNode | None) -> None:
        if target is not None:
            self.move_cursor(target)
        elif self.cursor_line < 0 or self.cursor_node is None or self.cursor_node.data is None:
            self.cursor_line = 1
