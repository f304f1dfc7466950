"""Faults in the executor and concurrent callers: a worker killed mid-run, the caller terminated,
the shared-memory segment removed, the disk full while emitting code, four threads on one session.
Each ends in a clear error (or a correct result), a pool that can start again, and nothing left
in /dev/shm or the process table. (Worker exceptions and SIGINT are in test_runtime.py.)"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import EmitError
from core.verify import allclose, ort_session
from runtime import ParallelSession, WorkerDiedError
from tests import test_runtime
from tests.test_runtime import alive, check, feeds_for, left_behind, shm_entries

no_leaks = test_runtime.no_leaks  # the fixture: nothing new in /dev/shm after the test

ROOT = Path(__file__).resolve().parents[1]
DETECTOR = ROOT / "sample_models" / "detector_mini.onnx"


def wait_for(predicate, timeout_s: float = 10.0) -> bool:
    """Poll until ``predicate()`` holds (the deadline only bounds a failing test)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_worker_killed_mid_run_then_the_pool_restarts(monkeypatch, tmp_path, no_leaks):
    fired = tmp_path / "fired"
    monkeypatch.setenv("RAMIEL_TEST_FAULT", f"sleep:0:1:{fired}")  # worker 0 stalls in run 1, once
    with ParallelSession(DETECTOR, workers=2, cost="analytic", force_parallel=True) as sess:
        pids = sess.worker_pids
        killed_at = []

        def kill_when_stalled():
            wait_for(fired.exists)
            killed_at.append(time.monotonic())
            os.kill(pids[0], signal.SIGKILL)

        threading.Thread(target=kill_when_stalled, daemon=True).start()
        with pytest.raises(WorkerDiedError, match=rf"worker 0 \(pid {pids[0]}\) died during a run \(exit code -9\)"):
            sess.run(None, feeds_for(sess))
        assert time.monotonic() - killed_at[0] < 1.0
        assert not any(alive(p) for p in pids)
        check(sess, DETECTOR)  # a fresh pool, equal to ORT
        assert set(sess.worker_pids).isdisjoint(pids)
        new = sess.worker_pids
    assert not any(alive(p) for p in new)


CALLER = """
import os, sys, numpy as np
from runtime import ParallelSession
s = ParallelSession({model!r}, workers=2, cost="analytic", force_parallel=True)
print(" ".join(map(str, s.worker_pids)), s._pool.arena.name, flush=True)
s.run(None, {{"images": np.zeros((1, 3, 64, 64), np.float32)}})
print("finished", flush=True)
"""


def test_caller_terminated_mid_run_leaves_nothing(tmp_path):
    """SIGTERM with Python's default action ends the caller at once (no ``finally`` runs): the workers
    notice their parent is gone and exit, and the resource tracker unlinks the segment and semaphores."""
    fired = tmp_path / "fired"
    before = shm_entries()
    env = {**os.environ, "RAMIEL_TEST_FAULT": f"sleep:1:1:{fired}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CALLER.format(model=str(DETECTOR))], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    first = proc.stdout.readline().split()
    pids, segment = [int(p) for p in first[:-1]], first[-1]
    assert wait_for(fired.exists, 60)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM and "finished" not in out
    assert wait_for(lambda: not any(alive(p) for p in pids), 1.0), "a worker outlived its caller"
    assert wait_for(lambda: segment not in shm_entries() and not left_behind(before, proc.pid), 10), left_behind(
        before, proc.pid
    )


def test_cli_terminated_mid_run_is_one_line_exit_143(tmp_path):
    fired = tmp_path / "fired"
    before = shm_entries()
    env = {**os.environ, "RAMIEL_TEST_FAULT": f"sleep:0:1:{fired}"}
    proc = subprocess.Popen([sys.executable, "-m", "ramiel_tui.cli", str(DETECTOR), "--report", "--run", "--cost", "analytic"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert wait_for(fired.exists, 120)
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == ["ramiel-tui: error: terminated"], err
    assert wait_for(lambda: not any(alive(p) for p in children), 2.0)  # workers and the resource tracker
    assert wait_for(lambda: not left_behind(before, proc.pid), 10), left_behind(before, proc.pid)


# -- the segment removed under the pool ---------------------------------------------------------
def test_segment_removed_between_runs_keeps_working(no_leaks):
    """Unlinking removes only the name: the mapping stays, runs stay correct, close leaves nothing."""
    with ParallelSession(DETECTOR, workers=2, cost="analytic", force_parallel=True) as sess:
        sess.run(None, feeds_for(sess))
        name = sess._pool.arena.name
        os.unlink(f"/dev/shm/{name}")
        check(sess, DETECTOR)


def test_segment_removed_before_workers_attach_is_named(monkeypatch, no_leaks):
    import runtime.pool
    from runtime.shm import Arena

    class Vanishing(Arena):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            os.unlink(f"/dev/shm/{self.name}")

    monkeypatch.setattr(runtime.pool, "Arena", Vanishing)
    t0 = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"died during start-up \(exit code 3\); its shared-memory segment "
                                              r"/dev/shm/ramiel_\S+ was removed"):  # fmt: skip
        ParallelSession(DETECTOR, workers=2, cost="analytic", force_parallel=True)
    assert time.monotonic() - t0 < 60
    monkeypatch.undo()
    with ParallelSession(DETECTOR, workers=2, cost="analytic", force_parallel=True) as sess:  # starts again
        check(sess, DETECTOR)


# -- disk full ---------------------------------------------------------------------------------
class FullDisk:
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, f, room: int) -> None:
        self.f, self.room = f, room

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.fixture
def disk_full(monkeypatch):
    import core.codegen

    monkeypatch.setattr(core.codegen, "open", lambda path, mode="r": FullDisk(open(path, mode), 4096), raising=False)


def test_disk_full_when_emitting_is_an_error_and_leaves_no_partial_file(disk_full, tmp_path):
    from core.pipeline import compile_model
    from core.plan import PlanOptions

    compiled = compile_model(DETECTOR, PlanOptions(cost="analytic"))
    with pytest.raises(EmitError, match=r"cannot write the generated code to .*out: No space left on device"):
        compiled.serial.write(tmp_path / "out", "detector")
    assert list((tmp_path / "out").iterdir()) == []


def test_disk_full_when_a_session_starts_leaves_nothing(disk_full, no_leaks):
    import multiprocessing

    tmp_before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(EmitError, match="No space left on device"):
        ParallelSession(DETECTOR, workers=2, cost="analytic", force_parallel=True)
    assert not {d for d in os.listdir(tempfile.gettempdir()) if d.startswith("ramiel-")} - tmp_before
    assert multiprocessing.active_children() == []


def test_cli_emit_disk_full_is_one_line_exit_2(disk_full, tmp_path):
    from typer.testing import CliRunner

    from ramiel_tui.cli import app

    result = CliRunner().invoke(app, [str(DETECTOR), "--emit", str(tmp_path / "out"), "--cost", "analytic"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ramiel-tui: error: cannot write the generated code to"), (
        result.stderr
    )
    assert lines[0].endswith("No space left on device")
    assert list((tmp_path / "out").iterdir()) == []


# -- concurrent callers -------------------------------------------------------------------------
def test_four_threads_on_one_session_get_their_own_results(no_leaks):
    """``run`` is serialised by a lock: each thread's outputs are ORT's outputs for its own feeds."""
    path = ROOT / "sample_models" / "inception_mini.onnx"
    ort = ort_session(str(path))
    with ParallelSession(path, workers=2, cost="analytic", force_parallel=True) as sess:
        errors: list[str] = []
        start = threading.Barrier(4)

        def caller(seed: int) -> None:
            start.wait()
            for k in range(5):
                feeds = feeds_for(sess, seed=100 * seed + k)
                outs = sess.run(None, feeds)
                ref = ort.run(None, feeds)
                if not all(allclose(a, b) for a, b in zip(outs, ref)):
                    errors.append(f"thread {seed} run {k} differs from ORT")

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
        assert not any(t.is_alive() for t in threads)
        assert len({np.asarray(sess.run(None, feeds_for(sess, s))[0]).tobytes() for s in range(2)}) == 2
