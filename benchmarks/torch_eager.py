"""Plain PyTorch eager latency of a zoo model: the baseline users compare against.

    /work/main/.venv-zoo/bin/python benchmarks/torch_eager.py squeezenet1_1
    /work/main/.venv-zoo/bin/python benchmarks/torch_eager.py resnet50 --threads 1 2 --repeat 20 --json

Runs from the zoo virtualenv (torchvision, timm and transformers do not import in the
project's own one; see ``sample_models/build_zoo.py``). The model is the original module that
``build_zoo.py`` exports, built the same way: the same ``ZOO`` factory and seed, random weights,
BatchNorm statistics calibrated as for the export, eval mode, and ``example_inputs`` (batch 1,
the exported input shape). Every forward runs under ``torch.no_grad()``.

Two variants, timed at each thread count (``torch.set_num_threads``): "eager", the module and
its input as built, and, for the models with a 4-D image input, "eager channels-last", the
module and input converted with ``.to(memory_format=torch.channels_last)`` (what a
knowledgeable PyTorch user does for a CNN on the CPU; oneDNN convolutions then skip the layout
reorders). Per thread count both warm up first, then the timed runs alternate (eager first on
even rounds, channels-last first on odd ones). Prints each variant's median [min–max] in ms;
``--json`` adds one last line, e.g.::

    {"model": "resnet50", "torch": "2.14.1", "input": [[1, 3, 224, 224]], "repeat": 20, "warmup": 3,
     "threads": {"1": [ms, ...], "2": [...]}, "channels_last": {"1": [...], "2": [...]}}

``threads`` holds the plain eager times; ``channels_last`` is absent for text models (BERT).
``benchmarks/parallel_vs_ort.py --eager`` runs this script per model and reads that line.

Caveat: torch's OpenMP threads spin while they wait, so when another process holds one of
the P cores the P-thread times collapse rather than degrade (squeezenet1_1 at 2 threads on
the shared 2-core machine: 23 ms idle, 940 ms beside another busy process; ORT's pool
barely notices). A P-thread median far above the 1-thread one means a busy machine: rerun.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sample_models"))
sys.path.insert(0, str(ROOT))

from build_zoo import SEED, ZOO, calibrate_batchnorm, example_inputs  # noqa: E402

from core.cost import cpu_budget  # noqa: E402


def build(name: str):
    """The eval-mode module and its example inputs, exactly as ``build_zoo.export`` makes them."""
    import torch

    spec = ZOO[name]
    torch.manual_seed(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = spec.factory().eval()
        if spec.kind == "image":
            calibrate_batchnorm(model, spec.size)
    return model, example_inputs(spec)


def stats(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} [{min(xs):.1f}–{max(xs):.1f}]"


def max_abs_diff(a, b) -> float:
    import torch

    a = a if isinstance(a, tuple | list) else (a,)
    b = b if isinstance(b, tuple | list) else (b,)
    return max(float(torch.max(torch.abs(x.float() - y.float()))) for x, y in zip(a, b))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=list(ZOO), metavar="MODEL", help=", ".join(ZOO))
    ap.add_argument("--threads", type=int, nargs="+", help="torch.set_num_threads values (default: 1 and all cores)")
    ap.add_argument("--repeat", type=int, default=10, help="timed runs per variant and thread count (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs of each variant first (default 3)")
    ap.add_argument("--json", action="store_true", help="also print the times as one JSON line, last")
    a = ap.parse_args(argv)

    import torch

    threads = list(dict.fromkeys(a.threads or [1, cpu_budget()]))
    model, inputs = build(a.model)
    variants = {"eager": (model, inputs)}
    if ZOO[a.model].kind == "image" and all(x.dim() == 4 for x in inputs):
        cl = torch.channels_last
        try:  # a deep copy: Module.to(memory_format=...) converts the parameters in place
            variants["eager channels-last"] = (
                copy.deepcopy(model).to(memory_format=cl),
                tuple(x.to(memory_format=cl) for x in inputs),
            )
        except RuntimeError as exc:  # a buffer that is not 4-D (YOLOv5's anchor grids)
            print(f"{a.model}: no channels-last variant: {exc}", file=sys.stderr)
    names = list(variants)

    times: dict[str, dict[str, list[float]]] = {k: {} for k in names}
    with torch.no_grad():
        outs = {k: m(*x) for k, (m, x) in variants.items()}
        diff = max_abs_diff(outs["eager"], outs[names[-1]]) if len(names) > 1 else None
        for t in threads:
            torch.set_num_threads(t)
            for m, x in variants.values():
                for _ in range(a.warmup):
                    m(*x)
            for k in names:
                times[k][str(t)] = []
            for i in range(a.repeat):
                for k in names if i % 2 == 0 else reversed(names):
                    m, x = variants[k]
                    t0 = time.perf_counter()
                    m(*x)
                    times[k][str(t)].append((time.perf_counter() - t0) * 1e3)

    shape = " ".join("x".join(map(str, x.shape)) for x in inputs)
    print(
        f"{a.model}: torch {torch.__version__}, input {shape}, {a.repeat} alternating rounds after "
        f"{a.warmup} warm-up runs; ms as median [min–max]"
        + (f"; channels-last max abs diff {diff:.2g}" if diff is not None else "")
    )
    for t in threads:
        print(f"  {t} thread{'s' if t > 1 else ''}: " + ", ".join(f"{k} {stats(times[k][str(t)])}" for k in names))
    if a.json:
        doc = {
            "model": a.model,
            "torch": torch.__version__,
            "input": [list(x.shape) for x in inputs],
            "repeat": a.repeat,
            "warmup": a.warmup,
            "threads": times["eager"],
        }
        if "eager channels-last" in times:
            doc["channels_last"] = times["eager channels-last"]
        print(json.dumps(doc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
