"""Thread-scaling curves and the simulator that chooses inter × intra-op configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cost import MachineProfile, analytic_costs
from core.graph import Graph
from core.onnx_io import load_model
from core.scaling import ScalingCurves, choose, fit_parallel_fraction, measure_scaling

SAMPLE = Path(__file__).resolve().parents[1] / "sample_models" / "inception_mini.onnx"


def test_amdahl_fit():
    assert fit_parallel_fraction({1: 100.0, 2: 50.0}) == pytest.approx(1.0)
    assert fit_parallel_fraction({1: 100.0, 2: 100.0}) == 0.0
    assert fit_parallel_fraction({1: 100.0, 2: 75.0}) == pytest.approx(0.5)
    assert fit_parallel_fraction({1: 100.0, 2: 120.0}) == 0.0  # slower with threads: serial
    assert fit_parallel_fraction({1: 100.0, 2: 40.0}) == 1.0  # noise beyond linear: clipped
    assert fit_parallel_fraction({1: 100.0, 2: 75.0, 4: 62.5}) == pytest.approx(0.5)  # least squares, exact
    assert fit_parallel_fraction({2: 10.0}) == 0.0  # no one-thread time
    c = ScalingCurves({"a": 100.0}, {"a": 0.5})
    assert c.time("a", 1) == 100.0 and c.time("a", 4) == pytest.approx(62.5)


@pytest.fixture(scope="module")
def graph_and_cost():
    graph = Graph.from_model(load_model(str(SAMPLE)))
    return graph, analytic_costs(graph, MachineProfile())


def curves_with(graph_and_cost, p: float) -> ScalingCurves:
    _, cost = graph_and_cost
    return ScalingCurves({n: max(v, 1.0) * 100 for n, v in cost.node_us.items()}, {n: p for n in cost.node_us})


def test_kernels_that_do_not_scale_make_branches_pay(graph_and_cost):
    """p = 0: threads are useless inside a kernel, so independent branches on workers win."""
    graph, cost = graph_and_cost
    curves = curves_with(graph_and_cost, 0.0)
    cfg = choose(graph, curves, curves.cost_model(cost), cores=4)
    assert cfg["intra-op"].makespan_us == pytest.approx(curves.total(1))
    assert cfg["best"].kind in ("inter-op", "hybrid") and cfg["best"].workers >= 2
    assert cfg["best"].makespan_us < 0.9 * cfg["intra-op"].makespan_us
    assert sum(cfg["hybrid"].threads) == 4


def test_perfectly_scaling_kernels_leave_intra_op_best(graph_and_cost):
    """p = 1: every kernel speeds up linearly, hand-offs only cost: ORT-style intra-op is best."""
    graph, cost = graph_and_cost
    curves = curves_with(graph_and_cost, 1.0)
    cfg = choose(graph, curves, curves.cost_model(cost), cores=4)
    assert cfg["best"].kind == "intra-op"
    assert cfg["intra-op"].makespan_us == pytest.approx(curves.total(1) / 4)


def test_contention_slows_only_multi_worker_schedules(graph_and_cost):
    graph, cost = graph_and_cost
    curves = curves_with(graph_and_cost, 0.0)
    cfg = choose(graph, curves, curves.cost_model(cost), cores=2)
    slow = choose(graph, curves, curves.cost_model(cost), cores=2, contention=1.3)
    assert slow["intra-op"].makespan_us == cfg["intra-op"].makespan_us
    assert slow["inter-op"].makespan_us > 1.2 * cfg["inter-op"].makespan_us


def test_measured_curves_predict_ort_at_two_threads():
    """The profiler at 1 and 2 threads: every node gets a curve, p in [0, 1]; the simulator's
    one-worker time at 1 thread is the profiled total."""
    model = load_model(str(SAMPLE))
    graph = Graph.from_model(model)
    curves, cost = measure_scaling(graph, model, MachineProfile(), threads=(1, 2), repeats=3)
    assert set(curves.t1) == {n.name for n in graph.nodes} and curves.measured == (1, 2)
    assert all(0.0 <= p <= 1.0 for p in curves.parallel.values())
    assert curves.total(1) == pytest.approx(sum(cost.node_us.values()))
    cfg = choose(graph, curves, cost, cores=2)
    assert cfg["intra-op"].makespan_us == pytest.approx(curves.total(2))
    assert cfg["best"].makespan_us <= min(c.makespan_us for c in cfg.values())


def test_spare_cores_go_to_the_worker_on_the_critical_path(graph_and_cost):
    """Two workers, four cores, perfectly scaling kernels: the two spare threads go where they shorten
    the makespan, and the simulated makespan is below the one-thread-per-worker plan's."""
    from core.scaling import plan_for, simulate_threads, worker_threads

    graph, cost = graph_and_cost
    curves = curves_with(graph_and_cost, 1.0)
    plan = plan_for(graph, curves.cost_model(cost), 2)
    threads, makespan = worker_threads(plan, curves, cores=4)
    assert len(threads) == 2 and sum(threads) == 4 and min(threads) >= 1
    assert makespan == pytest.approx(simulate_threads(plan, curves, threads))
    assert makespan < simulate_threads(plan, curves, [1, 1])


def test_clones_scale_like_their_originals():
    from core.passes.clone import Clone

    c = ScalingCurves({"a": 100.0}, {"a": 0.5}, (1, 2))
    extended = c.with_clones([Clone("a", "a__clone1", 0, 100.0, 40.0)])
    assert extended.time("a__clone1", 2) == c.time("a", 2) == pytest.approx(75.0)
    assert c.with_clones([]) is c


def test_auto_configuration_plans_for_the_workers_it_chose():
    """workers auto: the simulator's winner is planned (again, with the costs already measured) and
    its threads fit that plan's workers and the core budget."""
    from core.cost import cpu_budget
    from core.plan import PlanOptions
    from core.scaling import auto_configuration

    choice = auto_configuration(str(SAMPLE), PlanOptions(backend="ort"))
    assert choice.compiled.plan.options.workers == choice.workers >= 1
    assert choice.reason.startswith("simulated for")
    if choice.threads is not None:
        used = max(choice.compiled.plan.cluster_worker) + 1
        assert len(choice.threads) == used and sum(choice.threads) == max(cpu_budget(), used)


def test_curves_are_cached_per_graph_and_machine(tmp_path, monkeypatch):
    from core.scaling import graph_curves

    monkeypatch.setenv("RAMIEL_CACHE", str(tmp_path))
    graph = Graph.from_model(load_model(str(SAMPLE)))
    curves, cost = graph_curves(graph)
    assert len(list(tmp_path.glob("curves-*.json"))) == 1 and "cached" not in cost.source
    again, cost2 = graph_curves(graph)
    assert again.t1 == curves.t1 and again.parallel == curves.parallel and cost2.source.endswith("cached")
