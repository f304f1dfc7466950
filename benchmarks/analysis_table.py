"""Analysis figures for the zoo: nodes, W/CP, clusters before/after merging, predicted speedup,
decision, and compile time (load → clusters → plan, excluding cost measurement).

    python benchmarks/analysis_table.py [--zoo .zoo] [--workers 2] [--cost measured|analytic] [MODEL ...]

Compile time is measured with the cost model already in hand (costs are measured once,
cached, and not counted), median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.graph import Graph  # noqa: E402
from core.onnx_io import load_model  # noqa: E402
from core.pipeline import plan_model  # noqa: E402
from core.plan import PlanOptions, costs_for, prepare_model  # noqa: E402

# the paper's suite, then the other CNNs of the zoo
ZOO = ["squeezenet1_1", "googlenet", "inception_v3", "inception_v4", "bert_base", "yolov5s", "retinanet", "nasnetalarge",
       "resnet50", "densenet121", "mobilenet_v2"]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="model files (default: the zoo)")
    ap.add_argument("--zoo", default=str(ROOT / ".zoo"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cost", default="measured", choices=["measured", "ort", "analytic"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = [Path(p) for p in args.models] or [Path(args.zoo) / f"{m}.onnx" for m in ZOO]
    opts = PlanOptions(workers=args.workers, cost=args.cost)
    header = ("model", "nodes", "analysed", "W ms", "CP ms", "W/CP", "linear", "spans", "final", "pred. speedup",
              "decision", "compile s")  # fmt: skip
    print(" | ".join(header))
    print("|".join("---" for _ in header))
    for path in paths:
        if not path.is_file():
            print(f"{path.stem} | missing ({path})")
            continue
        model = load_model(path)
        prepared, _, _ = prepare_model(model, True, str(path))
        cost = costs_for(Graph.from_model(prepared), opts, model=prepared)  # measured once and cached
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            _, _, plan = plan_model(path, opts, cost)
            times.append(time.perf_counter() - t0)
        cp = plan.cp
        row = (path.stem, str(len(Graph.from_model(model).nodes)), str(len(plan.graph.nodes)), f"{cp.work / 1e3:.1f}",
               f"{cp.length / 1e3:.1f}", f"{cp.parallelism:.2f}", str(len(plan.linear)), str(len(plan.spans)),
               str(len(plan.clusters)), f"{plan.predicted_speedup:.2f}x",
               "parallel" if plan.decision.parallel else "sequential", f"{statistics.median(times):.2f}")  # fmt: skip
        print(" | ".join(row), flush=True)
    print(f"\ncost source: {cost.source}; workers {args.workers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
