"""Inter × intra-op plans at 2/4/8/16 cores, simulated from per-node thread-scaling curves.

    python benchmarks/scaling_sim.py                       # every model built in .zoo/
    python benchmarks/scaling_sim.py googlenet --cores 2 4 8 16 --json out/scaling.json

Per model: onnxruntime's profiler times every node at 1 and 2 intra-op threads; each node's
Amdahl curve T(t) = T1·((1−p) + p/t) is fitted to those (``core.scaling``). Then, on this
machine (2 cores), three things are *measured* to check the simulator, median of ``--repeat``
runs after warm-ups: ORT sequential intra=2 (ORT's best configuration here), and this project's
2-worker plan on the ort backend forced parallel, one thread per worker, and the same plan with
the runtime's per-segment thread counts (hybrid). Each runs alone, one after the other (an idle
spinning pool would slow whatever runs beside it). The ratio measured /
simulated of that plan is the contention factor (two workers share caches and memory bandwidth)
that the simulation then applies to every schedule with more than one worker.

For each core count the table gives the simulated makespans of: ORT's best configuration (every
node at P intra-op threads), pure inter-op (P workers, one thread each), and the hybrid the
simulator chooses (W workers, threads handed out greedily where they shorten the makespan), and
hybrid / ORT best. Above 2 cores these are extrapolations of curves measured on 2 cores, labelled
``sim``: the curves know each kernel's serial part, not the memory bandwidth 16 cores share.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.cost import MachineProfile, cpu_budget  # noqa: E402
from core.graph import Graph  # noqa: E402
from core.onnx_io import load_model  # noqa: E402
from core.plan import prepare_model  # noqa: E402
from core.scaling import choose, measure_scaling, plan_for, simulate_threads, worker_plans  # noqa: E402

ZOO = ["squeezenet1_1", "googlenet", "inception_v3", "inception_v4", "bert_base", "yolov5s", "retinanet", "nasnetalarge",
       "resnet50", "densenet121", "mobilenet_v2"]  # fmt: skip


def timed(fn, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def measure_at_two(path: str, repeat: int) -> dict[str, list[float]]:
    """ORT intra=2, and the forced 2-worker ort-backend plan with one thread per worker and hybrid."""
    import onnxruntime as ort

    from core.verify import random_feeds
    from runtime.session import ParallelSession

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = random_feeds(Graph.from_model(load_model(path)))
    names = [i.name for i in sess.get_inputs()]
    fd = dict(zip(names, feeds))
    out = {"ort_intra2": timed(lambda: sess.run(None, fd), repeat)}
    sess = None  # one configuration alive at a time: an idle spinning pool would slow the next one
    for key, hybrid in (("plan_2w", False), ("hybrid_2w", True)):
        with ParallelSession(path, workers=2, backend="ort", hybrid=hybrid, force_parallel=True) as ps:
            out[key] = timed(lambda: ps.run(None, fd), repeat)
    return out


def run(path: str, cores: list[int], repeat: int, measure: bool) -> dict:
    model = load_model(path)
    prepared, _, _ = prepare_model(model, True, path)
    graph = Graph.from_model(prepared)
    machine = MachineProfile.load()
    curves, cost = measure_scaling(graph, prepared, machine, threads=(1, 2))
    row: dict = {"model": Path(path).stem, "nodes": len(graph.nodes), "p": curves.parallel_fraction,
                 "serial_ms": curves.total(1) / 1e3}  # fmt: skip
    contention = 1.0
    if measure:
        m = measure_at_two(path, repeat)
        plan2 = plan_for(graph, cost, 2)
        sim_plan = simulate_threads(plan2, curves, [1] * (max(plan2.cluster_worker) + 1)) / 1e3
        med = {k: statistics.median(v) for k, v in m.items()}
        contention = max(1.0, med["plan_2w"] / sim_plan) if sim_plan > 0 else 1.0
        row["measured_2"] = {k: [min(v), med[k], max(v)] for k, v in m.items()}
        row["sim_2"] = {"ort_intra2": curves.total(2) / 1e3, "plan_2w": sim_plan}
        row["contention"] = contention
    row["cores"] = {}
    plans = worker_plans(graph, cost, max(cores))
    for p in cores:
        cfg = choose(graph, curves, cost, p, contention, plans)
        row["cores"][p] = {k: {"label": c.label, "ms": c.makespan_us / 1e3} for k, c in cfg.items()}
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="zoo names or .onnx paths (default: every model in --zoo)")
    ap.add_argument("--zoo", default=str(ROOT / ".zoo"))
    ap.add_argument("--cores", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-measure", action="store_true", help="skip the 2-core measurements (no contention factor)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args(argv)
    names = args.models or [m for m in ZOO if os.path.exists(os.path.join(args.zoo, m + ".onnx"))]
    rows = []
    print(
        f"machine: {cpu_budget()} cores. Every P row is simulated from the fitted curves (sim); sim* rows "
        f"extrapolate them beyond the {cpu_budget()} cores they were measured on. Measured figures: the model lines."
    )
    for name in names:
        path = name if name.endswith(".onnx") else os.path.join(args.zoo, name + ".onnx")
        row = run(path, args.cores, args.repeat, not args.no_measure)
        rows.append(row)
        head = f"{row['model']}: {row['nodes']} nodes, work-weighted parallel fraction p={row['p']:.2f}"
        if "measured_2" in row:
            me, si = row["measured_2"], row["sim_2"]
            head += (
                f"; at 2 cores measured / simulated: ORT intra=2 {me['ort_intra2'][1]:.1f} / {si['ort_intra2']:.1f} ms, "
                f"2-worker plan {me['plan_2w'][1]:.1f} / {si['plan_2w']:.1f} ms (contention {row['contention']:.2f}); "
                f"measured hybrid (runtime's per-segment threads) {me['hybrid_2w'][1]:.1f} ms"
            )
        print(head, flush=True)
        for p, cfg in row["cores"].items():
            sim = " sim" if p <= cpu_budget() else " sim*"  # *: beyond the cores measured
            ort_best = cfg["intra-op"]["ms"]
            inter = cfg.get("inter-op", {"ms": float("nan"), "label": "-"})
            hyb = cfg.get("hybrid", cfg["intra-op"])
            best = cfg["best"]
            print(
                f"  P={p:<2}{sim:6} ORT best (intra={p}) {ort_best:8.1f} ms | inter-op {inter['ms']:8.1f} ms "
                f"| hybrid {hyb['ms']:8.1f} ms [{hyb['label']}] | best/ORT {best['ms'] / ort_best:.2f} [{best['label']}]",
                flush=True,
            )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
