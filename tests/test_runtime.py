"""ParallelSession: outputs against ONNX Runtime, pass combinations, bad feeds, and faults
(an exception in a worker, a worker killed with SIGKILL) that must end in a clear error, never
a hang, with no process and nothing in /dev/shm left behind."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputFeedError
from core.verify import allclose, max_abs_diff, ort_session
from runtime import ParallelSession, WorkerDiedError, WorkerRunError
from runtime.session import cpu_budget

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_models").glob("*.onnx"))


def shm_entries() -> set[str]:
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def feeds_for(sess: ParallelSession, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for arg in sess.get_inputs():
        if arg.type == "tensor(float)":
            out[arg.name] = rng.random(arg.shape, dtype=np.float32)
        else:
            out[arg.name] = rng.integers(0, 2, size=arg.shape).astype(np.int64)
    return out


def check(sess: ParallelSession, path: Path) -> None:
    feeds = feeds_for(sess)
    ref = ort_session(str(path)).run(None, feeds)
    for _ in range(2):  # twice: the pool is reused
        outs = sess.run(None, feeds)
        for a, b in zip(outs, ref):
            assert allclose(a, b), f"max abs diff {max_abs_diff(a, b):.3g}"


def left_behind(before: set[str], pid: int) -> set[str]:
    """New /dev/shm entries that process ``pid`` left: its segments, and semaphores (which carry no pid)
    when no other process made ramiel segments meanwhile (other test runs may share /dev/shm)."""
    new = shm_entries() - before
    mine = {e for e in new if e.startswith(f"ramiel_{pid}_")}
    foreign = {e for e in new if e.startswith("ramiel_") and e not in mine}
    return mine if foreign else new


@pytest.fixture
def no_leaks(monkeypatch):
    """Nothing new in /dev/shm after the test. Segments are named ramiel_<pid>_…; semaphores carry no
    pid, so the names this process gives its semaphores are recorded, and other processes' (another
    test run beside this one) are not counted."""
    import multiprocessing.synchronize as mps

    made: set[str] = set()
    make_name = mps.SemLock._make_name

    def recorded() -> str:
        name = make_name()
        made.add("sem." + name.lstrip("/"))
        return name

    monkeypatch.setattr(mps.SemLock, "_make_name", staticmethod(recorded))
    before = shm_entries()
    yield
    import gc

    gc.collect()  # semaphores are unlinked when their last reference goes
    new = shm_entries() - before
    mine = {e for e in new if e.startswith(f"ramiel_{os.getpid()}_") or e in made}
    assert not mine, f"left in /dev/shm: {mine}"


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_two_workers_match_onnxruntime(path, no_leaks):
    with ParallelSession(path, workers=2, cost="analytic", force_parallel=True) as sess:
        chain = len(sess.plan.clusters) == 1  # one cluster: nothing to run in parallel
        assert sess.parallel != chain and len(sess.worker_pids) == (1 if chain else 2)
        check(sess, path)
        pids = sess.worker_pids
    assert not any(alive(p) for p in pids)


@pytest.mark.parametrize(
    "toggles", list(itertools.product([True, False], repeat=3)), ids=lambda t: "cp{:d}-clone{:d}-merge{:d}".format(*t)
)
def test_every_pass_combination_matches_onnxruntime(toggles, no_leaks):
    cp_dce, cloning, merging = toggles
    path = ROOT / "sample_models" / "nasnet_cell_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", cp_dce=cp_dce, cloning=cloning, merging=merging,
                         force_parallel=True) as sess:  # fmt: skip
        check(sess, path)


def test_sequential_fallback_runs_on_one_worker_with_the_faster_thread_count(no_leaks):
    path = ROOT / "sample_models" / "chain_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic") as sess:
        assert not sess.parallel and len(sess.worker_pids) == 1
        cores = cpu_budget()
        if cores > 1:  # every thread and one thread were both timed; the faster one is kept
            timings = sess.fallback_timings_ms
            assert set(timings) == {cores, 1}
            assert sess.threads_per_worker == min(timings, key=timings.get)
        assert "threshold" in sess.decision.reason or "chain" in sess.decision.reason
        check(sess, path)


@pytest.fixture(scope="module")
def session():
    with ParallelSession(
        ROOT / "sample_models" / "detector_mini.onnx", workers=2, cost="analytic", force_parallel=True
    ) as s:
        yield s


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda f: {**f, "nope": f["images"]}, "unknown input 'nope'"),
        (lambda f: {}, "missing input 'images'"),
        (lambda f: {"images": f["images"].astype(np.float64)}, "dtype float64, expected float32"),
        (lambda f: {"images": f["images"][:, :2]}, "has shape [1, 2, 64, 64], expected [1, 3, 64, 64]"),
        (lambda f: {"images": "abc"}, "cannot be made a float32 array: could not convert string to float"),
    ],
    ids=["extra", "missing", "dtype", "shape", "text"],
)
def test_bad_feeds_are_clear_errors(session, mutate, needle):
    with pytest.raises(InputFeedError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        session.run(None, mutate(feeds_for(session)))
    with pytest.raises(InputFeedError, match="unknown output"):
        session.run(["nope"], feeds_for(session))


def test_non_contiguous_feed_is_accepted(session):
    f = feeds_for(session)
    wide = np.zeros((1, 3, 64, 128), np.float32)
    wide[..., ::2] = f["images"]
    out = session.run(None, {"images": wide[..., ::2]})
    ref = session.run(None, f)
    assert allclose(out[0], ref[0], 0, 0)


def test_exception_in_a_worker_is_an_error_and_the_pool_restarts(monkeypatch, tmp_path, no_leaks):
    monkeypatch.setenv("RAMIEL_TEST_FAULT", f"raise:1:1:{tmp_path / 'fired'}")
    path = ROOT / "sample_models" / "detector_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", force_parallel=True) as sess:
        pids = sess.worker_pids
        with pytest.raises(WorkerRunError, match="injected fault"):
            sess.run(None, feeds_for(sess))
        assert not any(alive(p) for p in pids)
        check(sess, path)  # a fresh pool; the fault was for run 1 only


def test_worker_killed_mid_run_is_an_error_within_a_second(monkeypatch, no_leaks):
    monkeypatch.setenv("RAMIEL_TEST_FAULT", "sleep:0:1")
    path = ROOT / "sample_models" / "detector_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", force_parallel=True) as sess:
        pids = sess.worker_pids
        killed_at = []

        def kill_soon():
            time.sleep(0.5)
            killed_at.append(time.monotonic())
            os.kill(pids[0], signal.SIGKILL)

        threading.Thread(target=kill_soon, daemon=True).start()
        with pytest.raises(WorkerDiedError, match="worker 0 .* died during a run"):
            sess.run(None, feeds_for(sess))
        assert time.monotonic() - killed_at[0] < 1.0
        assert not any(alive(p) for p in pids)


def test_interrupted_caller_leaves_nothing_behind(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(
        "import os, signal, threading, numpy as np\n"
        "from runtime import ParallelSession\n"
        f"s = ParallelSession({str(ROOT / 'sample_models' / 'detector_mini.onnx')!r}, workers=2, cost='analytic', force_parallel=True)\n"
        "print(' '.join(map(str, s.worker_pids)), flush=True)\n"
        "p = s._pool\n"
        "names = [p.arena.name] + ['sem.' + x._semlock.name.lstrip('/') for x in p.edge_sems + p.start_sems + [p.done_sem]]\n"
        "print(' '.join(names), flush=True)\n"
        "threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    s.run(None, {'images': np.zeros((1, 3, 64, 64), np.float32)})\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
    )
    env = {**os.environ, "RAMIEL_TEST_FAULT": "sleep:1:1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stdout.split("\n")
    assert "interrupted" in proc.stdout, f"exit code {proc.returncode}, stderr: {proc.stderr!r}"
    assert not any(alive(int(p)) for p in lines[0].split())
    made = set(lines[1].split())  # its segment and semaphores
    assert len(made) > 3 and not made & shm_entries()


@pytest.mark.parametrize("backend", ["torch", "ort"])
def test_batch_runs_the_hyperclustered_plan(backend, no_leaks):
    """Batch 3 of a batch-1 model: B copies of the plan on the hyperclusters' workers; each sample
    equals ONNX Runtime's result for that sample alone."""
    path = ROOT / "sample_models" / "inception_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", backend=backend, batch=3, force_parallel=True) as sess:
        (arg,) = sess.get_inputs()
        assert arg.shape[0] == 3 and sess.get_outputs()[0].shape[0] == 3
        x = np.random.default_rng(1).random(arg.shape, dtype=np.float32)
        ort = ort_session(str(path))
        ref = np.concatenate([ort.run(None, {arg.name: x[s : s + 1]})[0] for s in range(3)])
        (out,) = sess.run(None, {arg.name: x})
        assert out.shape == ref.shape and allclose(out, ref), f"max abs diff {max_abs_diff(out, ref):.3g}"
        (ser,) = sess.run_serial({arg.name: x})
        assert allclose(ser, ref)
        assert sess.plan.hyper.variant in sess.decision.reason and len(sess.worker_pids) == 2
        for t in sess.last_run_timings.workers:  # a worker running several clusters marks each one's start
            mine = sess.module.clusters_of_worker[t.worker]
            if len(mine) > 1:
                assert sorted(t.cluster_times()) == sorted(mine)
                assert all(t.start_ms <= a <= b <= t.end_ms for _, a, b in t.cluster_spans())
        with pytest.raises(InputFeedError, match="shape"):
            sess.run(None, {arg.name: x[:1]})


def os_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.parametrize("backend", ["torch", "ort"])
def test_each_worker_runs_at_its_own_thread_count(backend, no_leaks):
    """Inter × intra-op: worker 0 at 2 intra-op threads, worker 1 at 1 (given per worker)."""
    from ramiel_tui.execution import where_it_ran
    from runtime.measure import measure, measurement_dict

    path = ROOT / "sample_models" / "inception_mini.onnx"
    with ParallelSession(path, workers=2, backend=backend, threads_per_worker=(2, 1), force_parallel=True) as sess:
        assert sess.parallel and sess.worker_threads == (2, 1) and sess.threads_label == "2/1"
        check(sess, path)
        if sys.platform == "linux":  # worker 0 has started its extra intra-op thread(s); worker 1 has none
            pid0, pid1 = sess.worker_pids
            assert os_threads(pid0) > os_threads(pid1)
        run = measurement_dict(measure(sess, repeats=1), sess)
        if not sess.in_process:  # intra-op did not win the start-time comparison (force_parallel skips it)
            assert run["worker_threads"] == [2, 1]
            assert where_it_ran(run) == "2 worker(s) × 2/1 thread(s)"


def test_simulated_thread_counts_use_the_core_budget(no_leaks):
    path = ROOT / "sample_models" / "inception_mini.onnx"
    with ParallelSession(path, workers=2, backend="ort", threads_per_worker="simulate", force_parallel=True) as sess:
        assert len(sess.worker_threads) == 2 and min(sess.worker_threads) >= 1
        assert sum(sess.worker_threads) == max(cpu_budget(), 2)
        assert sess.thread_choice.startswith("simulated for")
        check(sess, path)


@pytest.mark.parametrize("threads", [(1, 1, 1), (2, 0), "fastest"])
def test_bad_thread_counts_are_clear_errors(threads, no_leaks):
    path = ROOT / "sample_models" / "inception_mini.onnx"
    with pytest.raises(ValueError, match="threads_per_worker|thread counts"):
        ParallelSession(path, workers=2, backend="ort", threads_per_worker=threads, force_parallel=True)


def test_workers_auto_runs_the_simulated_choice(no_leaks):
    path = ROOT / "sample_models" / "inception_mini.onnx"
    with ParallelSession(path, workers="auto", backend="ort") as sess:
        assert sess.decision.reason.startswith("workers auto, simulated for")
        check(sess, path)
    with pytest.raises(ValueError, match="workers"):
        ParallelSession(path, workers="many")


def test_workers_run_onednn_linear_and_fused_biases(monkeypatch, no_leaks):
    """bert_mini's MatMuls are too small for oneDNN's linear (LINEAR_MIN_MACS); lowered here so that the
    worker modules run ``linear_onednn`` with fused biases across clusters, checked against onnxruntime."""
    import core.codegen

    monkeypatch.setattr(core.codegen, "LINEAR_MIN_MACS", 0)
    path = ROOT / "sample_models" / "bert_mini.onnx"
    with ParallelSession(path, workers=2, cost="analytic", backend="torch", force_parallel=True) as sess:
        assert sess.parallel and "= linear_onednn(" in sess.module.source and "Add applied by" in sess.module.source
        check(sess, path)
