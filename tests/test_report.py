"""The headless report: schema, pass toggles, CLI formats, --run; and the generated serial code
against ONNX Runtime for every sample model with CP/DCE on and off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.codegen import run_module
from core.pipeline import compile_model
from core.plan import PlanOptions
from core.verify import allclose, max_abs_diff, ort_session, random_feeds
from ramiel_tui.report import build_report, render_markdown

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_models").glob("*.onnx"))


def report(path: Path, **opts) -> dict:
    return build_report(compile_model(path, PlanOptions(cost="analytic", **opts)))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
@pytest.mark.parametrize("cp_dce", [True, False], ids=["cp", "no-cp"])
def test_serial_code_matches_ort_with_and_without_cp_dce(path, cp_dce):
    c = compile_model(path, PlanOptions(cost="analytic", cp_dce=cp_dce))
    feeds = random_feeds(c.graph)
    ours = run_module(c.serial.load(), feeds)
    ref = ort_session(str(path)).run(None, dict(zip(c.graph.inputs, feeds)))
    for a, b in zip(ours, ref):
        assert allclose(a, b), f"max abs diff {max_abs_diff(a, b):.3g}"


def test_toggles_change_the_report_as_expected():
    path = ROOT / "sample_models" / "nasnet_cell_mini.onnx"
    on = report(path)
    passes = {p["name"]: p for p in on["passes"]}
    assert passes["cp_dce"]["nodes_after"] < passes["cp_dce"]["nodes_before"]
    assert passes["merging"]["clusters_after"] < passes["merging"]["clusters_before"]
    no_cp = {p["name"]: p for p in report(path, cp_dce=False)["passes"]}
    assert no_cp["cp_dce"]["nodes_after"] == no_cp["cp_dce"]["nodes_before"] and not no_cp["cp_dce"]["enabled"]
    no_merge = report(path, merging=False)
    assert len(no_merge["clusters"]) == {p["name"]: p for p in no_merge["passes"]}["linear_clustering"]["clusters"]
    no_clone = {p["name"]: p for p in report(path, cloning=False)["passes"]}
    assert no_clone["cloning"]["clones"] == [] and not no_clone["cloning"]["enabled"]
    four = report(path, workers=4)
    assert len(four["clusters"]) <= 4 and four["options"]["workers"] == 4
    batch = {p["name"]: p for p in report(path, batch=3)["passes"]}["hyperclustering"]
    assert batch["enabled"] and batch["variant"] in ("plain", "switched", "samples") and len(batch["makespans_us"]) == 3


def test_report_schema_and_invariants():
    r = report(ROOT / "sample_models" / "inception_mini.onnx")
    assert r["schema"] == "ramiel-report" and r["schema_version"].startswith("1.")
    a = r["analysis"]
    assert a["parallelism"] == pytest.approx(a["work_us"] / a["critical_path_us"], rel=1e-2)
    assert a["predicted_makespan_us"] >= a["lower_bound_us"] - 1e-6
    nodes = [n for c in r["clusters"] for n in c["nodes"]]
    assert len(nodes) == a["nodes"]
    assert any(n["critical"] for n in nodes)
    assert r["decision"]["mode"] in ("parallel", "sequential") and r["decision"]["reason"]
    assert r["cost"]["source"].startswith("analytic")
    md = render_markdown(r)
    assert "## Clusters" in md and "W/CP" in md


def test_chain_is_reported_sequential():
    r = report(ROOT / "sample_models" / "chain_mini.onnx")
    assert r["decision"]["mode"] == "sequential"
    assert "chain" in r["decision"]["reason"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ramiel_tui.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_cli_json_markdown_text():
    path = str(ROOT / "sample_models" / "detector_mini.onnx")
    j = cli(path, "--report", "--format", "json", "--cost", "analytic", "--no-merging")
    assert j.returncode == 0, j.stderr
    data = json.loads(j.stdout)
    assert data["options"]["merging"] is False
    md = cli(path, "--report", "--format", "markdown", "--cost", "analytic")
    assert md.returncode == 0 and md.stdout.startswith("# Ramiel report")
    txt = cli(path, "--report", "--cost", "analytic", "--workers", "3")
    assert txt.returncode == 0 and "W/CP" in txt.stdout


def test_cli_report_run_measures_and_checks_against_ort():
    path = str(ROOT / "sample_models" / "detector_mini.onnx")
    p = cli(path, "--report", "--run", "--repeat", "3", "--format", "json", "--cost", "analytic")
    assert p.returncode == 0, p.stderr
    run = json.loads(p.stdout)["run"]
    assert run["repeats"] == 3 and run["serial_ms"]["median"] > 0 and run["parallel_ms"]["median"] > 0
    assert all(v < 1e-3 for v in run["max_abs_diff_vs_onnxruntime"].values())
    assert len(run["per_worker_last_run"]) == run["workers"]


def test_report_and_base_costs_when_cloning_replaced_a_node_everywhere():
    """Cloning drops an original that every consumer now reads a copy of (BERT-base's token-type
    Gather): the plan's costs no longer name it, and the report and the app's base costs must cope."""
    import dataclasses

    from ramiel_tui.analysis import base_costs

    c = compile_model(ROOT / "sample_models" / "inception_mini.onnx", PlanOptions(cost="analytic"))
    gone = c.plan.base_graph.nodes[1].name
    cost = c.plan.cost
    without = dataclasses.replace(
        cost,
        node_us={k: v for k, v in cost.node_us.items() if k != gone},
        stats={k: v for k, v in cost.stats.items() if k != gone},
    )
    clone = dataclasses.replace(c.plan.clones[0], original=gone, cost_us=cost.node_us[gone]) if c.plan.clones else None
    if clone is None:
        from core.passes.clone import Clone

        clone = Clone(gone, f"{gone}~c1", 1, cost.node_us[gone], 0.0)
    clusters = [[n for n in cl if n != gone] for cl in c.plan.clusters]  # only its copies run
    plan = dataclasses.replace(c.plan, cost=without, clones=[clone], clusters=clusters)
    full = build_report(c)
    rep = build_report(dataclasses.replace(c, plan=plan))
    assert rep["model"]["flops"] == full["model"]["flops"]
    base = base_costs(plan)
    assert base.node_us[gone] == cost.node_us[gone] and base.stats[gone].flops == cost.stats[gone].flops


def test_cli_report_scaling_simulates_core_counts():
    """--scaling: curves from the profiler at 1 and 2 threads, a row per core count, the extrapolated
    ones flagged; markdown shows the table."""
    path = str(ROOT / "sample_models" / "inception_mini.onnx")
    p = cli(path, "--report", "--scaling", "--format", "json", "--cost", "analytic")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["scaling"]
    assert 0.0 <= s["parallel_fraction"] <= 1.0 and "simulated" in s["source"]
    rows = {r["cores"]: r for r in s["rows"]}
    assert {2, 4, 8, 16} <= set(rows) and rows[16]["extrapolated"] and not rows[2]["extrapolated"]
    for r in rows.values():
        assert r["best_ms"] <= r["intra_op_ms"] + 1e-9 and r["best_vs_intra_op"] <= 1.0 + 1e-9
    md = cli(path, "--report", "--scaling", "--format", "markdown", "--cost", "analytic")
    assert md.returncode == 0 and "## Scaling (simulated)" in md.stdout and "| 16* |" in md.stdout
