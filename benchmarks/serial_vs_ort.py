"""Generated serial code vs ONNX Runtime, one thread each, side by side in one process.

    python benchmarks/serial_vs_ort.py                      # every model built in .zoo/
    python benchmarks/serial_vs_ort.py --samples --no-zoo   # only sample_models/*.onnx
    python benchmarks/serial_vs_ort.py --only googlenet -n 40 --json out/serial_vs_ort.json
    python benchmarks/serial_vs_ort.py --backend ort        # the ort backend's serial module instead

For each model: PyTorch at one thread (``torch.set_num_threads(1)``) running the serial
module that Ramiel generates for it — after constant folding and dead-code elimination, as
``ramiel-tui --emit`` does (``--no-cp-dce``: for the graph as loaded, shape arithmetic and
all) — and ONNX Runtime with a sequential session, one intra-op
thread and its default (full) graph optimisation (``core.verify.ort_session(path,
threads=1)``). Both warm up first, then the runs alternate (ORT first on even pairs,
the generated code first on odd ones) so that a noisy machine affects both alike.
The table gives each side's median [min-max] in ms and the median of the per-pair
ratios generated/ORT (below 1: the generated code is faster). The max abs difference
between the two sides' outputs is shown too; ``nodes`` counts the operator nodes that the
generated code executes (the model's Constant nodes become weights).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ZOO_MODELS = ["squeezenet1_1", "googlenet", "inception_v3", "inception_v4", "bert_base", "yolov5s", "retinanet",
              "nasnetalarge", "resnet50", "densenet121", "mobilenet_v2"]  # fmt: skip


@dataclass
class Result:
    model: str
    path: str
    nodes: int
    repeats: int
    ort_ms: list[float]
    generated_ms: list[float]
    ratios: list[float]
    max_abs_diff: float
    fallback_ops: list[str]

    @property
    def ort_median(self) -> float:
        return statistics.median(self.ort_ms)

    @property
    def generated_median(self) -> float:
        return statistics.median(self.generated_ms)

    @property
    def ratio_median(self) -> float:
        return statistics.median(self.ratios)

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(
            ort_median_ms=self.ort_median,
            ort_min_ms=min(self.ort_ms),
            ort_max_ms=max(self.ort_ms),
            generated_median_ms=self.generated_median,
            generated_min_ms=min(self.generated_ms),
            generated_max_ms=max(self.generated_ms),
            ratio_median=self.ratio_median,
        )
        return d


def bench(path: Path, repeats: int, warmup: int, backend: str = "torch", cp_dce: bool = True) -> Result:
    import core
    import core.verify

    model = core.load_model(path)
    if cp_dce:  # what the pipeline generates code for: ORT's offline constant folding, then DCE
        from core.plan import prepare_model

        model = prepare_model(model, True, str(path))[0]
    g = core.Graph.from_model(model)
    feeds = core.verify.random_feeds(g)
    feed_dict = dict(zip(g.inputs, feeds, strict=True))
    sess = core.verify.ort_session(str(path), threads=1)

    def run_ort():
        return sess.run(None, feed_dict)

    with contextlib.ExitStack() as stack:
        if backend == "ort":  # the ort backend's serial module: the whole (CP/DCE'd) graph in one session
            from runtime.session import ParallelSession

            own = stack.enter_context(ParallelSession(str(path), workers=1, backend="ort"))
            fallback_ops: list[str] = []

            def run_generated():
                return own.run_serial(feed_dict, threads=1)

        else:
            gen = core.generate_serial(g, source_model=str(path))
            mod = gen.load()
            fallback_ops = sorted({g.node_by_name[n].op_type for n in gen.fallback_nodes})

            def run_generated():
                return core.run_module(mod, feeds)

        ours = run_generated()
        ref = run_ort()
        diff = max((core.verify.max_abs_diff(a, e) for a, e in zip(ours, ref, strict=True)), default=0.0)
        for _ in range(max(0, warmup - 1)):
            run_ort()
            run_generated()

        def timed(fn) -> float:
            t0 = time.perf_counter()
            fn()
            return (time.perf_counter() - t0) * 1e3

        ort_ms: list[float] = []
        gen_ms: list[float] = []
        for i in range(repeats):
            if i % 2 == 0:
                o = timed(run_ort)
                m = timed(run_generated)
            else:
                m = timed(run_generated)
                o = timed(run_ort)
            ort_ms.append(o)
            gen_ms.append(m)
    return Result(
        model=path.stem,
        path=str(path),
        nodes=len(g.nodes),
        repeats=repeats,
        ort_ms=ort_ms,
        generated_ms=gen_ms,
        ratios=[m / o for m, o in zip(gen_ms, ort_ms, strict=True)],
        max_abs_diff=diff,
        fallback_ops=fallback_ops,
    )


def _span(xs: list[float]) -> str:
    return f"{statistics.median(xs):9.2f} [{min(xs):.2f}–{max(xs):.2f}]"


def print_header() -> None:
    print(
        f"{'model':<18} {'nodes':>5}  {'ORT ms median [min–max]':<28} {'generated ms median [min–max]':<30} "
        f"{'gen/ORT':>7}  {'max diff':>8}"
    )


def print_row(r: Result) -> None:
    note = f"  onnx.reference: {', '.join(r.fallback_ops)}" if r.fallback_ops else ""
    print(
        f"{r.model:<18} {r.nodes:>5}  {_span(r.ort_ms):<28} {_span(r.generated_ms):<30} "
        f"{r.ratio_median:>7.2f}  {r.max_abs_diff:>8.1e}{note}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zoo", type=Path, default=ROOT / ".zoo", help="zoo folder (default .zoo/)")
    ap.add_argument("--no-zoo", action="store_true", help="skip the zoo models")
    ap.add_argument("--samples", action="store_true", help="also the models in sample_models/")
    ap.add_argument("--only", action="append", metavar="NAME", help="only this model (file stem; repeatable)")
    ap.add_argument("-n", "--repeats", type=int, default=20, help="timed pairs per model (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs of each side first (default 3)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--no-cp-dce", action="store_true",
                    help="generate code for the model as loaded (default: after constant folding and DCE, as the pipeline does)")  # fmt: skip
    ap.add_argument("--backend", choices=["torch", "ort"], default="torch",
                    help="torch: the generated serial PyTorch module (default); ort: the ort backend's serial module")  # fmt: skip
    a = ap.parse_args(argv)

    import onnxruntime
    import torch

    torch.set_num_threads(1)
    paths: list[Path] = []
    if not a.no_zoo:
        missing = []
        for name in ZOO_MODELS:
            p = a.zoo / f"{name}.onnx"
            (paths if p.is_file() else missing).append(p if p.is_file() else name)
        if missing:
            print(
                f"zoo models not built in {a.zoo} (sample_models/build_zoo.py): {', '.join(missing)}", file=sys.stderr
            )
    if a.samples:
        paths += sorted((ROOT / "sample_models").glob("*.onnx"))
    if a.only:
        paths = [p for p in paths if p.stem in a.only]
    if not paths:
        print("no models to measure (build the zoo, or pass --samples)", file=sys.stderr)
        return 2

    print(
        f"1 thread each; torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"{platform.machine()}, {a.repeats} interleaved pairs after {a.warmup} warm-up runs"
    )
    print_header()
    results: list[Result] = []
    failed = 0
    for path in paths:
        try:
            r = bench(path, a.repeats, a.warmup, a.backend, not a.no_cp_dce)
        except Exception as exc:  # noqa: BLE001  (report and go on with the other models)
            print(
                f"{path.stem:<18} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                flush=True,
            )
            failed += 1
            continue
        results.append(r)
        print_row(r)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "benchmark": "serial_vs_ort",
            "threads": 1,
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "machine": platform.machine(),
            "repeats": a.repeats,
            "warmup": a.warmup,
            "models": [r.to_json() for r in results],
        }
        a.json.write_text(json.dumps(doc, indent=2))
        print(f"wrote {a.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
