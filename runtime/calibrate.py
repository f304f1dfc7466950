"""Measure this machine's hand-off cost between worker processes, once, into the machine profile.

One-way wake-up latency: a semaphore ping-pong between this process and a spawned one (the
mechanism the pool uses), half the median round trip. Copy bandwidth: numpy copies of a
784 KiB tensor into and out of shared memory. The result lands in the cached
:class:`core.cost.MachineProfile`, whose ``sources["handoff"]`` then reads ``measured``.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from multiprocessing import shared_memory

import numpy as np

from core.cost import MachineProfile


def _echo(ping, pong, rounds: int) -> None:
    for _ in range(rounds):
        if not ping.acquire(timeout=10):
            return
        pong.release()


def wakeup_latency_us(rounds: int = 300) -> float:
    from runtime.pool import _no_main_reimport

    ctx = mp.get_context("spawn")
    ping, pong = ctx.Semaphore(0), ctx.Semaphore(0)
    proc = ctx.Process(target=_echo, args=(ping, pong, rounds + 20), daemon=True)
    with _no_main_reimport():
        proc.start()
    try:
        samples = []
        for i in range(rounds + 20):
            t0 = time.perf_counter()
            ping.release()
            while not pong.acquire(timeout=0.5):
                if not proc.is_alive():
                    raise RuntimeError(f"calibration process exited (code {proc.exitcode})")
            if i >= 20:  # warm-up
                samples.append(time.perf_counter() - t0)
        return statistics.median(samples) / 2 * 1e6
    finally:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()


def copy_gbps(nbytes: int = 784 * 1024, rounds: int = 200) -> float:
    shm = shared_memory.SharedMemory(create=True, size=nbytes)
    try:
        src = np.random.default_rng(0).random(nbytes // 4, dtype=np.float32)
        dst = np.ndarray(src.shape, src.dtype, shm.buf)
        out = np.empty_like(src)
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            np.copyto(dst, src)
            np.copyto(out, dst)
            samples.append((time.perf_counter() - t0) / 2)
        del dst
        return nbytes / statistics.median(samples) / 1e9
    finally:
        shm.close()
        shm.unlink()


def ensure_profile(force: bool = False) -> MachineProfile:
    """The machine profile with measured hand-off costs (measured now if not cached)."""
    prof = MachineProfile.load()
    if force or prof.sources.get("handoff") != "measured":
        prof.handoff_latency_us = round(wakeup_latency_us(), 1)
        prof.copy_gbps = round(copy_gbps(), 2)
        prof.sources = {**prof.sources, "handoff": "measured"}
        prof.save()
    return prof


if __name__ == "__main__":
    from runtime import calibrate  # the worker function must come from the module, not __main__

    p = calibrate.ensure_profile(force=True)
    print(f"hand-off: {p.handoff_latency_us} µs one way + bytes at {p.copy_gbps} GB/s (saved to {p.path()})")
