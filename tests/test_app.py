"""The Textual app: Pilot tests on messages and table contents, a real run, responsiveness, snapshots.

Analysis uses the analytic cost model with the default machine profile (``RAMIEL_CACHE`` points
at an empty folder), so every number depends on the graph only and the snapshots are the same
on every machine. Snapshot runs inject fixed run results (``runner=``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from functools import partial
from pathlib import Path

import pytest

from ramiel_tui import messages as msg
from ramiel_tui.app import Options, RamielApp, create_app
from ramiel_tui.execution import RunResult, RunUpdate, WorkerRun

ROOT = Path(__file__).resolve().parents[1]
MODEL = Path("sample_models") / "inception_mini.onnx"  # relative: the path is on screen
ANALYTIC = Options(cost="analytic")


@pytest.fixture(autouse=True)
def default_machine_profile(tmp_path_factory, monkeypatch):
    """No cached machine profile: analytic costs come from FLOPs and bytes at the default rates."""
    monkeypatch.setenv("RAMIEL_CACHE", str(tmp_path_factory.mktemp("ramiel-cache")))
    monkeypatch.chdir(ROOT)


def fixed_runner(analysis, repeats, update, cancelled):
    """Stands in for the executor: fixed timings, same shapes as runtime.measure's results."""
    fns = analysis.module.functions
    last = [WorkerRun(w, fn, 0.1 + 0.2 * w, 30.0 - 2.0 * w, ((4.0, 6.5), (12.0, 13.0)) if w else ((20.0, 21.0),))
            for w, fn in fns.items()]  # fmt: skip
    done = 0
    for i in range(1, repeats + 1):
        if cancelled():
            break
        done = i
        update(RunUpdate(i, repeats, "measuring", 30.0 + i % 3, tuple(last)))
    if done == 0:
        return None
    par = [30.0 + i % 3 for i in range(done)]
    ser = [45.0 + i % 2 for i in range(done)]
    ort1 = [20.0 + 0.5 * (i % 4) for i in range(done)]
    ort2 = [14.0 + 0.5 * (i % 2) for i in range(done)]

    def summary(xs):
        s = sorted(xs)
        return {"median": s[len(s) // 2], "min": s[0], "max": s[-1], "runs": len(s)}

    workers = len(fns) if analysis.parallel else 1
    data = {
        "mode": "parallel" if analysis.parallel else "sequential",
        "workers": workers,
        "threads_per_worker": 1,
        "repeats": done,
        "serial_ms": summary(ser),
        "parallel_ms": summary(par),
        "onnxruntime_ms": {"intra=1": summary(ort1), "intra=2": summary(ort2)},
        "speedup_vs_serial": round(summary(ser)["median"] / summary(par)["median"], 3),
        "ratio_to_best_onnxruntime": round(summary(par)["median"] / summary(ort2)["median"], 3),
        "predicted_makespan_ms": round(analysis.plan.makespan_us / 1e3, 3),
        "max_abs_diff_vs_onnxruntime": {"logits": 1.79e-07},
        "per_worker_last_run": [],
    }
    samples = {"ramiel parallel": par, "ramiel serial": ser, "onnxruntime intra=1": ort1, "onnxruntime intra=2": ort2}
    return RunResult(data, samples, last, 31.0, repeats, done < repeats, analysis.options)


def make_app(**kw) -> RamielApp:
    kw.setdefault("frozen", True)
    return create_app(MODEL, kw.pop("options", ANALYTIC), **kw)


async def until(pilot, predicate, timeout: float = 60.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(step)


def ready(app: RamielApp) -> bool:
    return app.analysis is not None and app.analysis.final and app.busy is None or app.error is not None


async def press_and_wait(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await until(pilot, lambda: ready(pilot.app))
    await pilot.pause()


def table_rows(table) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


# -- analysis, toggles, settings -------------------------------------------------------------------
async def test_load_posts_messages_and_fills_overview():
    seen: list = []
    app = make_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: ready(app))
        await pilot.pause()
        kinds = [type(m) for m in seen if isinstance(m, (msg.AnalysisStarted, msg.AnalysisProgress, msg.AnalysisDone))]
        assert kinds[0] is msg.AnalysisStarted and kinds[-1] is msg.AnalysisDone
        assert msg.AnalysisProgress in kinds
        overview = app.query_one("OverviewPane")
        labels = dict(overview.cp_rows)
        for key in ("cost source", "W (total work)", "CP (critical path)", "W/CP", "ideal speedup min(P, W/CP)",
                    "predicted speedup", "decision"):  # fmt: skip
            assert key in labels
        assert str(labels["cost source"]).startswith("analytic")
        model = dict(overview.model_rows)
        assert model["input input"] == "float32 1x3x128x128" and "parameters" in model and "FLOPs" in model
        assert str(labels["decision"]).startswith("parallel")
        tree = app.query_one("ClusterTree")
        groups = [str(n.label) for n in tree.root.children]
        assert groups[0].startswith(f"after merging: {len(app.analysis.plan.clusters)} clusters")
        assert groups[1] == f"before merging: {len(app.analysis.plan.linear)} linear clusters"


async def test_each_toggle_recomputes_and_shows_previous_makespan():
    done: list[msg.AnalysisDone] = []
    app = make_app()
    async with app.run_test(
        size=(120, 40), message_hook=lambda m: isinstance(m, msg.AnalysisDone) and done.append(m)
    ) as pilot:
        await until(pilot, lambda: ready(app))
        merged = len(app.analysis.plan.clusters)
        makespan = app.analysis.makespan_us

        await press_and_wait(pilot, "m")  # merging off: the linear clusters stay
        assert app.analysis.options.merging is False
        assert len(app.analysis.plan.clusters) == len(app.analysis.plan.linear) > merged
        assert app.previous is not None and app.previous.makespan_us == makespan
        status = str(app.query_one("StatusBar").content)
        assert "merging off" in status and "was " in status and " → now " in status
        tree = app.query_one("ClusterTree")
        assert str(tree.root.children[0].label).startswith(f"after merging: {len(app.analysis.plan.clusters)} clusters")
        passes = {name: (on, what) for name, on, what in app.query_one("OverviewPane").pass_rows}
        assert passes["merging"][0] == "off"

        await press_and_wait(pilot, "m", "c")  # merging back on, cloning off
        assert app.analysis.options.merging is True and app.analysis.options.cloning is False
        assert len(app.analysis.plan.clusters) == merged
        assert app.analysis.report["passes"][3] == {"name": "cloning", "enabled": False, "clones": []}

        await press_and_wait(pilot, "d")  # CP/DCE off
        assert app.analysis.options.cp_dce is False
        cp_dce = app.analysis.report["passes"][0]
        assert cp_dce["enabled"] is False and cp_dce["tool"] is None
        assert "cp/dce off" in str(app.query_one("StatusBar").content)
        assert all(m.analysis.options == app.analysis.options for m in done[-1:])


async def test_workers_and_batch():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: ready(app))
        await press_and_wait(pilot, "plus")
        assert app.analysis.options.workers == 3 and max(app.analysis.plan.cluster_worker) <= 2
        assert dict(app.query_one("OverviewPane").cp_rows)["workers / batch"] == "3 / 1"
        await press_and_wait(pilot, "minus", "minus")
        a = app.analysis
        assert a.options.workers == 1 and not a.parallel and a.report["decision"]["mode"] == "sequential"
        assert "one worker" in a.report["decision"]["reason"]
        assert "sequential" in str(app.query_one("StatusBar").content)
        await press_and_wait(pilot, "plus", "b")
        a = app.analysis
        assert a.options.batch == 2 and a.plan.hyper is not None
        assert a.report["passes"][4]["enabled"] is True and a.makespan_us == pytest.approx(a.plan.hyper.makespan_us)


async def test_a_stale_analysis_is_dropped():
    posted: list[msg.AnalysisDone] = []
    app = make_app()
    async with app.run_test(
        size=(120, 40), message_hook=lambda m: isinstance(m, msg.AnalysisDone) and posted.append(m)
    ) as pilot:
        await until(pilot, lambda: ready(app))
        first = app.generation
        applied_before = len(app.applied)
        for name in ("merging", "cloning", "cp_dce"):  # three requests at once: only the last one counts
            app.action_toggle(name)
        await until(pilot, lambda: ready(app))
        await pilot.pause(0.3)
        assert app.generation == first + 3
        assert app.applied[applied_before:] == [first + 3]
        assert all(m.generation == first + 3 for m in posted if m.generation > first and m.analysis is app.analysis)
        o = app.analysis.options
        assert (o.merging, o.cloning, o.cp_dce) == (False, False, False)


async def test_node_detail_and_generated_code():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: ready(app))
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
        tree = app.query_one("ClusterTree")
        item = tree.cursor_node.data
        assert item.node, "the cursor is on a node"
        assert app.query_one("NodeDetail").shown == item.node
        lines = app.analysis.node_lines_in_function(item.node)
        assert lines is not None
        src = app.analysis.source_lines[lines[0] - 1]
        assert src.strip().startswith(f"# {item.node}: ")
        code = app.query_one("CodeView")
        await pilot.press("3")  # the code view draws when it is shown
        await pilot.pause()
        assert code.current[0] == app.analysis.run_worker_of_cluster(item.cluster)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert code.current[0] == (app.analysis.run_worker_of_cluster(item.cluster) + 1) % len(
            app.analysis.module.functions
        )


# -- runs ---------------------------------------------------------------------------------------------
async def test_run_fills_tables_with_injected_results():
    seen: list = []
    app = make_app(runner=fixed_runner, repeats=5)
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: ready(app))
        await pilot.press("r")
        await until(pilot, lambda: app.last_run is not None)
        await pilot.pause()
        progress = [m for m in seen if isinstance(m, msg.RunProgress)]
        assert [p.update.done for p in progress] == [1, 2, 3, 4, 5]
        assert any(isinstance(m, msg.RunDone) for m in seen)
        rows = table_rows(app.query_one("SpeedupTable"))
        assert [r[0] for r in rows] == ["ramiel parallel (2 workers)", "ramiel serial (1 thread)", "onnxruntime intra=1",
                                        "onnxruntime intra=2"]  # fmt: skip
        assert rows[0][1] == "31.00" and rows[1][4] == "1.00×"
        assert "✓" in str(app.query_one("#run-check").content)
        timing = table_rows(app.query_one("ClusterTimingTable"))
        assert [r[1] for r in timing] == list(app.analysis.module.functions.values())
        assert all(r[4] != "-" for r in timing)


async def test_export_writes_report_code_and_trace(tmp_path):
    app = make_app(runner=fixed_runner, repeats=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: ready(app))
        await pilot.press("r")
        await until(pilot, lambda: app.last_run is not None)
        await pilot.press("e")
        await pilot.pause()
        inp = app.screen.query_one("Input")
        inp.value = str(tmp_path / "out")
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "out" / "trace.json").exists(), timeout=30)
        await pilot.pause(0.2)
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "ramiel-report" and report["run"]["repeats"] == 3
    assert (out / "report.md").read_text().startswith("# Ramiel report")
    assert "def cluster_0(W, X):" in (out / "inception_mini_parallel.py").read_text()
    assert (out / "inception_mini.safetensors").exists() and (out / "inception_mini.py").exists()
    trace = json.loads((out / "trace.json").read_text())
    assert {e["cat"] for e in trace["traceEvents"] if e["ph"] == "X"} == {"compute", "wait", "predicted"}


async def test_real_run_stays_responsive_and_cleans_up():
    """The executor for real (a spawned measuring process and its spawned workers): key presses during
    the run are handled within 100 ms, the speedup table fills in, nothing is left running or in /dev/shm."""
    import multiprocessing

    from ramiel_tui.execution import run_measured

    pids: list[int] = []
    seen: list = []
    app = make_app(repeats=3, runner=partial(run_measured, on_process=pids.append))
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: ready(app))
        await pilot.press("r")
        assert app.running
        latencies = []
        tabs = ["timeline", "run", "overview", "run"]
        k = 0
        while app.running and k < 40:  # during worker start-up and the measured repeats
            tab = tabs[k % len(tabs)]
            t0 = time.perf_counter()
            await pilot.press(str(("overview", "clusters", "code", "run", "timeline").index(tab) + 1))
            handled = app.key_times.get(f"tab:{tab}", 0.0)
            assert handled >= t0
            latencies.append(handled - t0)
            k += 1
            await asyncio.sleep(0.15)
        await until(pilot, lambda: not app.running, timeout=120)
        await pilot.pause()
        assert app.last_run is not None, [m for m in seen if isinstance(m, msg.RunFailed)]
        assert len(latencies) >= 3
        print(f"key latencies during the run (ms): {[round(x * 1e3, 1) for x in latencies]}")
        assert max(latencies) < 0.1, latencies
        rows = table_rows(app.query_one("SpeedupTable"))
        assert len(rows) == 4 and all(r[1] != "-" for r in rows)
        data = app.last_run.data
        assert data["repeats"] == 3 and all(v < 1e-3 for v in data["max_abs_diff_vs_onnxruntime"].values())
        # worker progress shows up unless the start-time check found intra-op faster and ran in process
        parallel = data["mode"] == "parallel"
        assert any(isinstance(m, msg.RunProgress) and m.update.workers for m in seen) or not parallel, data["mode"]
    assert not multiprocessing.active_children()
    assert pids and not [n for n in os.listdir("/dev/shm") if n.startswith(f"ramiel_{pids[0]}_")]


async def test_cancel_stops_the_run_cleanly():
    app = make_app(runner=fixed_runner_slow, repeats=1000)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: ready(app))
        await pilot.press("r")
        await until(pilot, lambda: app.query_one("ProgressBar").progress >= 2)
        await pilot.press("x")
        await until(pilot, lambda: not app.running, timeout=10)
        assert app.last_run is not None and app.last_run.cancelled and app.last_run.done < 1000
        assert "(cancelled)" in str(app.query_one("#run-stage").content)


def fixed_runner_slow(analysis, repeats, update, cancelled):
    def slow_update(u):
        time.sleep(0.01)
        update(u)

    return fixed_runner(analysis, repeats, slow_update, cancelled)


# -- start-up --------------------------------------------------------------------------------------
async def test_file_picker_opens_the_chosen_model(tmp_path):
    (tmp_path / "models").mkdir()
    shutil.copy(ROOT / MODEL, tmp_path / "models" / "m.onnx")
    (tmp_path / "notes.txt").write_text("not a model")
    app = create_app(None, ANALYTIC, frozen=True, picker_root=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("OnnxTree")
        await until(pilot, lambda: len(tree.root.children) > 0)
        names = [str(n.label) for n in tree.root.children]
        assert names == ["models"]  # folders and .onnx files only
        await pilot.press("down", "enter")  # open the folder
        await until(pilot, lambda: len(tree.root.children[0].children) > 0)
        await pilot.press("down", "enter")  # choose m.onnx
        await until(pilot, lambda: ready(app))
        assert app.model_path.endswith("m.onnx") and app.analysis is not None


async def test_bad_model_shows_the_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    app = create_app(bad, ANALYTIC, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.error is not None)
        assert app.load_failed and "\n" not in app.error
        await pilot.press("q")
    assert app.return_code == 2


# -- snapshots (timings frozen: analytic costs at default rates, injected run results) ----------------
async def _ready(pilot) -> None:
    await until(pilot, lambda: ready(pilot.app))
    await pilot.pause()


def _after(*keys: str, run: bool = False):
    async def before(pilot) -> None:
        await _ready(pilot)
        if run:
            await pilot.press("r")
            await until(pilot, lambda: pilot.app.last_run is not None)
        await pilot.press(*keys)
        await pilot.pause()

    return before


VIEWS = {
    "overview": _after(),
    "clusters": _after("2", "down", "down"),
    "code": _after("2", "down", "down", "3"),
    "run": _after("4", run=True),
    "timeline": _after("5", run=True),
}


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot(snap_compare, view, size):
    assert snap_compare(make_app(runner=fixed_runner, repeats=5), terminal_size=size, run_before=VIEWS[view])
