"""Side-by-side latency of this project's plans against ONNX Runtime, one process, interleaved.

    python benchmarks/parallel_vs_ort.py [--workers 2] [--repeat 10] [--zoo .zoo] [MODEL ...]
    python benchmarks/parallel_vs_ort.py --backend ort --workers 3 --threads simulate   # inter x intra-op

Per model, every round runs each variant once, in this order: ORT sequential intra=1,
ORT sequential intra=P (ORT's best CPU configuration), ORT_PARALLEL (inter=P, intra=1),
this project's serial run (the generated torch code, one thread, in process), and this
project's plan (ParallelSession: the worker pool, or the in-process fallback when the
analysis says parallelism cannot pay). Prints median [min–max] ms and the ratios that
matter: own parallel / own serial (speedup), measured / simulated makespan, and own / ORT best.

``--eager`` adds plain PyTorch eager, the baseline users compare with: per zoo model, once its
sessions are built and just before its warm-up and interleaved rounds, a subprocess of the zoo
virtualenv (``--zoo-python``, default ``.venv-zoo/bin/python``) runs ``benchmarks/torch_eager.py``
at 1 and P threads (the original torchvision/timm/transformers module, eval mode, no_grad; also
channels-last for the CNNs) with as many timed runs as ``--repeat``. Extra columns: eager and
eager channels-last (1 / P threads), and eager best / ORT best (the fastest eager median of
the four over the faster of ORT intra=1 and intra=P; below 1: eager is faster). Without the
zoo virtualenv those columns are skipped, with one line saying so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.verify import max_abs_diff  # noqa: E402
from runtime.session import ParallelSession, cpu_budget  # noqa: E402

# the paper's suite, then the other CNNs of the zoo
ZOO = ["squeezenet1_1", "googlenet", "inception_v3", "inception_v4", "bert_base", "yolov5s", "retinanet", "nasnetalarge",
       "resnet50", "densenet121", "mobilenet_v2"]  # fmt: skip


def ort(path: str, intra: int, parallel: bool = False):
    import onnxruntime as rt

    so = rt.SessionOptions()
    so.intra_op_num_threads = intra
    so.inter_op_num_threads = cpu_budget() if parallel else 1
    so.execution_mode = rt.ExecutionMode.ORT_PARALLEL if parallel else rt.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return rt.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def where(sess: ParallelSession) -> str:
    """ "2w × 3/1t": workers × intra-op threads each, or "in process × 2t" (intra-op won)."""
    if sess.in_process:
        return f"in process × {sess.threads_per_worker}t"
    return f"{len(sess.module.functions)}w × {sess.threads_label}t"


def stats(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} [{min(xs):.1f}–{max(xs):.1f}]"


def eager(python: Path, model: str, repeat: int) -> dict:
    """PyTorch eager times of a zoo model from benchmarks/torch_eager.py, run by the zoo virtualenv."""
    threads = sorted({1, cpu_budget()})
    cmd = [str(python), str(ROOT / "benchmarks" / "torch_eager.py"), model, "--repeat", str(repeat), "--json",
           "--threads", *map(str, threads)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines or not lines[-1].startswith("{"):
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"torch_eager.py exit {proc.returncode}: {err}"}
    return json.loads(lines[-1])


def bench(
    path: Path, workers: int, repeat: int, backend: str = "auto", zoo_python: Path | None = None, settle: float = 0.05,
    threads: int | tuple[int, ...] | str | None = None, force_parallel: bool = False,
) -> dict:  # fmt: skip
    p = cpu_budget()
    sess = ParallelSession(path, workers=workers, backend=backend, threads_per_worker=threads,
                           force_parallel=force_parallel)  # fmt: skip
    try:
        rng = np.random.default_rng(0)  # floats in [0, 1); integer inputs (BERT's ids and masks) in {0, 1}
        feeds = {
            a.name: rng.random(a.shape, dtype=np.float32)
            if a.type == "tensor(float)"
            else rng.integers(0, 2, size=a.shape).astype(np.int64)
            for a in sess.get_inputs()
        }
        o1, op, opar = ort(str(path), 1), ort(str(path), p), ort(str(path), 1, True)
        variants = {
            "ort_intra1": (lambda: o1.run(None, feeds)),
            f"ort_intra{p}": (lambda: op.run(None, feeds)),
            "ort_parallel": (lambda: opar.run(None, feeds)),
            "own_serial": (lambda: sess.run_serial(feeds, threads=1)),
            "own_plan": (lambda: sess.run(None, feeds)),
        }
        ref = variants["ort_intra1"]()
        out = variants["own_plan"]()
        diff = max(max_abs_diff(a, b) for a, b in zip(out, ref))
        eager_times = eager(zoo_python, path.stem, repeat) if zoo_python else None
        for fn in variants.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {k: [] for k in variants}
        ratios: list[float] = []
        for _ in range(repeat):
            for k, fn in variants.items():
                time.sleep(settle)  # a spinning thread pool of the previous variant must not share the cores
                t0 = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t0) * 1e3)
            ratios.append(times["own_serial"][-1] / times["own_plan"][-1])
        best_ort = min(statistics.median(times["ort_intra1"]), statistics.median(times[f"ort_intra{p}"]))
        med = {k: statistics.median(v) for k, v in times.items()}
        r = {
            "model": path.stem,
            "mode": f"{'parallel' if sess.parallel else 'sequential'}, {sess.backend}, {where(sess)}",
            "clusters": len(sess.plan.clusters),
            "predicted_ms": sess.plan.makespan_us / 1e3,
            "predicted_speedup": sess.plan.predicted_speedup,
            "times": times,
            "median": med,
            "speedup": statistics.median(ratios),
            "speedup_spread": (min(ratios), max(ratios)),
            "vs_predicted": med["own_plan"] / (sess.plan.makespan_us / 1e3) if sess.parallel else None,
            "vs_ort_best": med["own_plan"] / best_ort,
            "max_abs_diff": diff,
        }
        if eager_times is not None:
            r["eager"] = eager_times
            meds = [statistics.median(v) for k in ("threads", "channels_last") for v in eager_times.get(k, {}).values()]
            r["eager_vs_ort_best"] = min(meds) / best_ort if meds else None
        return r
    finally:
        sess.close()


def eager_cells(e: dict | None, ratio: float | None, p: int) -> str:
    """The three eager cells of a row: "-" for a model outside the zoo, the error for a failed run."""
    if e is None:
        return "- | - | - |"
    if "error" in e:
        return f"{e['error']} | - | - |"

    def pair(key: str) -> str:
        runs = e.get(key, {})
        return " / ".join(stats(runs[str(t)]) for t in sorted({1, p})) if runs else "-"

    return f"{pair('threads')} | {pair('channels_last')} | {f'{ratio:.2f}' if ratio else '-'} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--zoo", default=str(ROOT / ".zoo"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--backend", default="auto", choices=["torch", "ort", "auto"], help="what computes each cluster")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--settle-ms", type=float, default=50.0,
                    help="idle time before each timed run, so that the previous variant's spinning pool has stopped")  # fmt: skip
    ap.add_argument("--eager", action="store_true", help="add PyTorch eager columns (needs the zoo virtualenv)")
    ap.add_argument("--zoo-python", type=Path, default=ROOT / ".venv-zoo" / "bin" / "python",
                    help="the zoo virtualenv's python, for --eager (default .venv-zoo/bin/python)")  # fmt: skip
    ap.add_argument(
        "--threads",
        help="intra-op threads per worker: N, one count per worker (e.g. 9,4,3), or "
        "'simulate' (from per-node scaling curves, the whole core budget); default: cores / workers",
    )
    ap.add_argument("--force-parallel", action="store_true",
                    help="keep the parallel plan even where the session would run sequentially or intra-op")  # fmt: skip
    args = ap.parse_args()
    threads = args.threads
    if threads and threads != "simulate":
        counts = tuple(int(t) for t in threads.split(","))
        threads = counts[0] if len(counts) == 1 else counts
    paths = [Path(m) for m in args.models] or [Path(args.zoo) / f"{m}.onnx" for m in ZOO]
    p = cpu_budget()
    cols = ["model", "mode", "ORT intra=1", f"ORT intra={p}", "ORT_PARALLEL", "own serial", "own plan",
            "speedup vs serial", "measured/predicted", "own/ORT best", "max abs diff"]  # fmt: skip
    zoo_python = None
    if args.eager:
        if args.zoo_python.is_file():
            zoo_python = args.zoo_python
            cols += [
                f"PyTorch eager (1 / {p} threads)",
                f"eager channels-last (1 / {p} threads)",
                "eager best/ORT best",
            ]
        else:
            print(f"PyTorch eager columns skipped: no zoo virtualenv at {args.zoo_python}")
    print(
        f"workers={args.workers}, threads={args.threads or 'cores / workers'}, cores={p}, backend={args.backend}, "
        f"{args.repeat} interleaved rounds; ms as median [min–max]"
    )
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    results = []
    for path in paths:
        if not path.is_file():
            print(f"| {path.stem} | missing |")
            continue
        r = bench(
            path,
            args.workers,
            args.repeat,
            args.backend,
            zoo_python if path.stem in ZOO else None,
            args.settle_ms / 1e3,
            threads,
            args.force_parallel,
        )
        results.append(r)
        t = r["times"]
        lo, hi = r["speedup_spread"]
        vp = f"{r['vs_predicted']:.2f}" if r["vs_predicted"] else "-"
        row = (f"| {r['model']} | {r['mode']} ({r['clusters']}) | {stats(t['ort_intra1'])} | {stats(t[f'ort_intra{p}'])} | "
               f"{stats(t['ort_parallel'])} | {stats(t['own_serial'])} | {stats(t['own_plan'])} | "
               f"{r['speedup']:.2f}x [{lo:.2f}–{hi:.2f}] (pred. {r['predicted_speedup']:.2f}x) | {vp} | "
               f"{r['vs_ort_best']:.2f} | {r['max_abs_diff']:.2g} |")  # fmt: skip
        if zoo_python:
            row += " " + eager_cells(r.get("eager"), r.get("eager_vs_ort_best"), p)
        print(row, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
