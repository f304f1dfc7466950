"""Fuzz the loader and the compiler with mutated model files, for a bounded time.

    python benchmarks/fuzz_loader.py --minutes 10 --seed 1 [--out fuzz-findings/]

The corpus is seeded from ``sample_models/*.onnx`` and the hand-made hostile cases of
``tests/hostile.py``; each input is one to three mutations (byte-level, or structural where the
bytes still parse: random attribute values, absurd shapes, cycles, duplicate and shadowing names,
hostile names, other ops and opsets, thousands of copied nodes). The target
(``tests.hostile.target``) runs in a child process under a per-input time limit and a resident
memory limit; the child is restarted after any failure.

Outcomes: ``ok`` or a typed error (``ModelLoadError`` ...) are fine. ``bug`` (any other exception),
``crash`` (the child died), ``hang`` (over the time limit) and ``memory`` (over the memory limit) are
findings, and so is ``mismatch`` (the generated code fails or disagrees with ONNX Runtime on a
model ORT runs): their inputs are saved under ``--out`` with the traceback. Exit status 1 if any.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child() -> None:
    """Read one input path per line on stdin; answer one JSON line per input on the original stdout."""
    import warnings

    warnings.filterwarnings("ignore")
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library chatter goes to stderr
    from tests.hostile import Mismatch, target

    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        path = line.strip()
        try:
            outcome, detail = target(path), ""
        except Mismatch as exc:
            outcome, detail = "mismatch", str(exc)
        except BaseException as exc:  # noqa: BLE001  (a finding: report it, keep going)
            outcome, detail = "bug", "".join(traceback.format_exception(exc)[-12:])
        out.write(json.dumps({"outcome": outcome, "detail": detail}) + "\n")


class Child:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=env, bufsize=1,
        )  # fmt: skip
        first = self._read(timeout=120, mem_limit=None)
        if not first or not first.get("ready"):
            raise SystemExit("fuzz child did not start")

    def rss(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def _read(self, timeout: float, mem_limit: int | None) -> dict | None:
        deadline = time.monotonic() + timeout
        self.peak = 0
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.05)
            if ready:
                line = self.proc.stdout.readline()
                return json.loads(line) if line else {"outcome": "crash", "detail": f"exit {self.proc.wait()}"}
            rss = self.rss()
            self.peak = max(self.peak, rss)
            if mem_limit and rss > mem_limit:
                return {"outcome": "memory", "detail": f"resident memory {rss / 2**20:.0f} MiB"}
            if self.proc.poll() is not None:
                return {"outcome": "crash", "detail": f"exit {self.proc.returncode}"}
        return {"outcome": "hang", "detail": f"no answer within {timeout:.0f} s"}

    def run(self, path: str, timeout: float, mem_limit: int) -> dict:
        try:
            self.proc.stdin.write(path + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"outcome": "crash", "detail": "child gone"}
        return self._read(timeout, mem_limit)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--max-inputs", type=int, default=0, help="stop after this many inputs (0: time only)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per input before it counts as a hang")
    ap.add_argument("--mem-mib", type=int, default=3072, help="resident memory of the child that counts as unbounded")
    ap.add_argument("--out", type=Path, default=ROOT / "fuzz-findings")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child()
        return 0

    from tests.hostile import mutate, seed_corpus

    rng = random.Random(args.seed)
    seeds = seed_corpus()
    corpus = [data for _, data in seeds]
    counts: collections.Counter[str] = collections.Counter()
    findings = 0
    slowest = (0.0, "")
    worker = Child()
    t_start = time.monotonic()
    end = t_start + args.minutes * 60
    n = 0
    with tempfile.TemporaryDirectory(prefix="ramiel-fuzz-") as tmp:
        case = os.path.join(tmp, "case.onnx")
        while time.monotonic() < end and (not args.max_inputs or n < args.max_inputs):
            if n < len(seeds):  # every seed once, unchanged
                label, data = seeds[n]
            else:
                label, data = f"mutant {n}", mutate(rng.choice(corpus), rng, corpus)
            with open(case, "wb") as f:
                f.write(data)
            t0 = time.monotonic()
            result = worker.run(case, args.timeout, args.mem_mib << 20)
            took = time.monotonic() - t0
            slowest = max(slowest, (took, label))
            n += 1
            outcome = result["outcome"]
            counts[outcome] += 1
            if outcome in ("bug", "crash", "hang", "memory", "mismatch"):
                findings += 1
                args.out.mkdir(parents=True, exist_ok=True)
                stem = args.out / f"{outcome}-{n:06d}"
                stem.with_suffix(".onnx").write_bytes(data)
                stem.with_suffix(".txt").write_text(f"{label}\n{result['detail']}\n")
                print(f"[{n}] {outcome}: {label}: {result['detail'].strip().splitlines()[-1:]}", flush=True)
                if outcome not in ("bug", "mismatch"):
                    worker.kill()
                    worker = Child()
            elif outcome == "ok" and n > len(seeds) and rng.random() < 0.2 and len(corpus) < 400:
                corpus.append(data)  # a mutant that still compiles: a seed for further mutants
            if n % 200 == 0:
                print(f"{n} inputs, {time.monotonic() - t_start:.0f} s: {dict(counts)}", flush=True)
    worker.kill()
    elapsed = time.monotonic() - t_start
    print(f"\n{n} inputs in {elapsed:.0f} s ({n / elapsed:.1f}/s), seed {args.seed}: {dict(counts)}")
    print(f"slowest input: {slowest[1]} ({slowest[0]:.1f} s); findings: {findings}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
