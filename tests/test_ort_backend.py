"""The onnxruntime backend: each worker's clusters cut into ONNX subgraphs run by onnxruntime.

Same plan, same exchange through shared memory, ONNX Runtime's kernels. Checked against
ONNX Runtime on the whole model, like the torch backend.
"""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest

from core.ort_codegen import segment_model
from core.parallel_codegen import generate_parallel
from core.pipeline import compile_model
from core.plan import PlanOptions
from runtime import ParallelSession
from tests.test_runtime import ROOT, SAMPLES, alive, check, no_leaks  # noqa: F401  (fixture)


def worker_maps(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as f:
        return f.read()


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_ort_backend_matches_onnxruntime(path):
    with ParallelSession(path, workers=2, cost="analytic", backend="ort", force_parallel=True) as sess:
        assert sess.backend == "ort" and sess.module.backend == "ort"
        check(sess, path)
        for pid in sess.worker_pids:  # the workers run onnxruntime only: torch is never loaded there
            assert "libtorch" not in worker_maps(pid)
        pids = sess.worker_pids
    assert not any(alive(p) for p in pids)


def test_segments_cover_every_node_once_and_are_valid_models():
    path = ROOT / "sample_models" / "nasnet_cell_mini.onnx"
    c = compile_model(path, PlanOptions(workers=2, cost="analytic", backend="ort"))
    pm = generate_parallel(c.plan, source_model=str(path), backend="ort")
    seen = []
    for name, blob in pm.segments.items():
        m = onnx.load_from_string(blob)
        onnx.checker.check_model(m)
        if name != "all":
            seen += [n.name for n in m.graph.node]
    assert sorted(seen) == sorted(n.name for n in c.plan.graph.nodes)
    assert sum(len(v) for v in pm.worker_weights.values()) == len(pm.segments) - 1
    # a worker waits only between segments: every X.wait is followed by a segment reading it
    assert "X.wait(" in pm.source and "S['w0_s0']" in pm.source


def test_segment_model_holds_only_its_weights():
    path = ROOT / "sample_models" / "inception_mini.onnx"
    c = compile_model(path, PlanOptions(workers=2, cost="analytic"))
    g = c.plan.graph
    node = next(n for n in g.nodes if n.op_type == "Conv")
    m = segment_model(g, [node], [node.inputs[0]], node.outputs, "one")
    assert {i.name for i in m.graph.initializer} == {t for t in node.inputs[1:] if t}


def test_emitted_ort_module_runs_standalone(tmp_path):
    path = ROOT / "sample_models" / "two_io.onnx"
    c = compile_model(path, PlanOptions(workers=2, cost="analytic", backend="ort"))
    pm = generate_parallel(c.plan, source_model=str(path.resolve()), backend="ort")
    out = pm.write(tmp_path, "two_io_ort")
    r = subprocess.run([sys.executable, str(out), "--check"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    diffs = [float(line.rsplit("=", 1)[1]) for line in r.stdout.splitlines() if "max_abs_diff" in line]
    assert diffs and max(diffs) < 1e-4


def test_auto_backend_picks_the_cheaper_measured_kernels():
    path = ROOT / "sample_models" / "inception_mini.onnx"
    c = compile_model(path, PlanOptions(workers=2, backend="auto"))
    assert c.plan.backend in ("torch", "ort")
    assert "ms of work against" in c.plan.backend_reason


@pytest.mark.usefixtures("no_leaks")
def test_sequential_fallback_with_ort_backend_is_one_segment():
    path = ROOT / "sample_models" / "chain_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", backend="ort") as sess:
        assert not sess.parallel and list(sess.module.worker_weights) == [0]
        assert sess.module.worker_weights[0] == ["w0_s0"]
        # nothing to hand off: the whole graph runs in this process, at the faster timed thread count
        assert sess.worker_pids == [] and sess._inprocess_threads == min(
            sess.fallback_timings_ms, key=sess.fallback_timings_ms.get
        )
        check(sess, path)


@pytest.mark.usefixtures("no_leaks")
def test_serial_run_is_the_whole_graph_in_one_session():
    path = ROOT / "sample_models" / "detector_mini.onnx"
    from core.verify import allclose, ort_session
    from tests.test_runtime import feeds_for

    with ParallelSession(path, workers=2, cost="analytic", backend="ort", force_parallel=True) as sess:
        feeds = feeds_for(sess)
        ref = ort_session(str(path)).run(None, feeds)
        for a, b in zip(sess.run_serial(feeds), ref):
            assert allclose(a, b)


@pytest.mark.usefixtures("no_leaks")
def test_parallel_plan_is_timed_against_intra_op_at_start():
    """With the ort backend the parallel plan must beat ONNX Runtime's own intra-op run of the whole
    graph, timed at start; whichever wins, results match ONNX Runtime."""
    from runtime.session import cpu_budget

    path = ROOT / "sample_models" / "inception_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", backend="ort") as sess:
        if cpu_budget() > 1 and sess.plan.decision.parallel:
            assert set(sess.plan_choice_ms) == {"parallel", f"intra-op, {cpu_budget()} threads"}
            assert "measured at start" in sess.decision.reason
            assert sess.parallel == (len(sess.worker_pids) == 2)
        check(sess, path)
        sess._inprocess_threads = 1  # the intra-op path, whatever won here
        check(sess, path)


def test_tensors_made_by_constant_folding_fusions_are_renamed():
    """ORT names a fusion's new tensors ``gemm_input_shape``, ``gemm_input_shape_token_<n>`` with a counter
    per session: left as they are, a segment session fusing again clashes with them (bert_mini)."""
    from core.passes.constprop import fold_constants

    path = ROOT / "sample_models" / "bert_mini.onnx"
    source = onnx.load(str(path))
    folded, raw, report = fold_constants(source, str(path))
    known = {t for n in source.graph.node for t in (*n.input, *n.output)} | {t.name for t in source.graph.initializer}
    made = {t for n in folded.graph.node for t in (*n.input, *n.output)} - known - {""}
    assert report.added_ops.get("Gemm") and made  # MatMul+Add fused, with new shape tensors
    assert all(t.endswith("_cp") for t in made), sorted(made)
    assert onnx.load_from_string(raw).graph.initializer[0].name == folded.graph.initializer[0].name


def test_hybrid_segments_get_every_core_only_when_the_others_idle():
    """Inter x intra-op: segments that the simulated schedule runs while the other worker waits get
    every core; the rest one thread. The module lists them."""
    from core.ort_codegen import Segment, hybrid_threads

    path = ROOT / "sample_models" / "inception_mini.onnx"
    c = compile_model(path, PlanOptions(workers=2, cost="analytic", backend="ort"))
    plan = c.plan
    pm = generate_parallel(plan, source_model=str(path), backend="ort", cores=4)
    assert "SEGMENT_THREADS = {" in pm.source
    g = plan.graph
    nodes = {n: g.node_by_name[n] for n in plan.graph.node_by_name}
    lone = [nodes[n] for n in plan.clusters[0]]  # a made-up segment alone on worker 0: nothing overlaps it
    assert hybrid_threads(plan, [Segment("x", 0, lone)], cores=4, min_us=0.0) == {"x": 4}
    assert hybrid_threads(plan, [Segment("x", 0, lone)], cores=1) == {}
