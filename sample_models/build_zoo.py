"""Build the benchmark zoo: torchvision and timm models exported to ONNX, in a cache folder.

    /work/main/.venv-zoo/bin/python sample_models/build_zoo.py            # all models into .zoo/
    /work/main/.venv-zoo/bin/python sample_models/build_zoo.py --only resnet50 --force
    /work/main/.venv-zoo/bin/python sample_models/build_zoo.py --out /tmp/zoo --list

Models (random weights from a fixed seed, ``weights=None`` / ``pretrained=False``, eval
mode, batch 1, input ``input``, output ``logits``), exported with the legacy exporter,
``torch.onnx.export(..., dynamo=False, opset_version=17)``. The BatchNorm statistics
are set from a few forward passes on random images (see ``calibrate_batchnorm``) so
that outputs are O(1) instead of vanishing or exploding; ``--no-calibrate`` skips that.

    squeezenet1_1   224x224   torchvision
    googlenet       224x224   torchvision, aux_logits=False, init_weights=True
    inception_v3    299x299   torchvision, aux_logits=False, init_weights=True
    resnet50        224x224   torchvision
    densenet121     224x224   torchvision
    mobilenet_v2    224x224   torchvision
    nasnetalarge    331x331   timm.create_model("nasnetalarge", pretrained=False)

A model whose file already exists is skipped unless ``--force``. The folder (default
``.zoo/`` at the repository root) is git-ignored: nothing here is checked in, and the
tests that use it (``tests/test_zoo.py``) skip when it is missing.

Environment. This needs the ``zoo`` extra (torchvision 0.29 + timm), which does not
install next to the project virtualenv's torch 2.13, so it runs from a separate,
git-ignored virtualenv with torch 2.14.1 (a CUDA build from the local wheel cache,
about 5.5 GB and two minutes to install; it runs on the CPU)::

    python -m venv /work/main/.venv-zoo
    /work/main/.venv-zoo/bin/pip install torch==2.14.1 torchvision==0.29.1 timm onnx

The exported files are plain ONNX (opset 17) and are read by the project's own
virtualenv like any other model.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".zoo"
OPSET = 17
SEED = 0


def _tv(name: str, **kwargs) -> Callable[[], object]:
    def make():
        import torchvision

        return getattr(torchvision.models, name)(weights=None, **kwargs)

    return make


def _timm(name: str) -> Callable[[], object]:
    def make():
        import timm

        return timm.create_model(name, pretrained=False)

    return make


# name -> (factory, input size); the file is <name>.onnx
ZOO: dict[str, tuple[Callable[[], object], int]] = {
    "squeezenet1_1": (_tv("squeezenet1_1"), 224),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=True), 224),
    "inception_v3": (_tv("inception_v3", aux_logits=False, init_weights=True), 299),
    "resnet50": (_tv("resnet50"), 224),
    "densenet121": (_tv("densenet121"), 224),
    "mobilenet_v2": (_tv("mobilenet_v2"), 224),
    "nasnetalarge": (_timm("nasnetalarge"), 331),
}

# Exported node counts in shared/MEASUREMENTS.md (torch 2.14.1, opset 17, BatchNorm statistics
# left as initialised): (all nodes, Identity nodes). Those Identity nodes only alias duplicate
# initializers (the exporter de-duplicates the many identical folded Conv biases); with
# calibrated statistics the biases differ, the Identity nodes go and every other node stays.
# ``--no-calibrate`` reproduces the measured files node for node.
EXPECTED_NODES = {
    "squeezenet1_1": (83, 18),
    "googlenet": (179, 40),
    "inception_v3": (298, 83),
    "resnet50": (169, 47),
    "densenet121": (617, 245),
    "mobilenet_v2": (209, 39),
    "nasnetalarge": (2881, 266),
}


def calibrate_batchnorm(model, size: int, batches: int = 2, batch: int = 4) -> int:
    """Set every BatchNorm's running statistics from random [0, 1) images; returns how many.

    Freshly initialised BatchNorms (mean 0, variance 1) let activations vanish or explode
    through a deep random network: GoogLeNet, MobileNet-v2 and NASNet-A Large then output
    only their classifier bias and Inception-v3 outputs ~1e11, which makes comparing
    outputs meaningless. With statistics from real forward passes every normalised
    activation is O(1). The graph (node count, shapes, cost) does not change.
    """
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
        m.train()
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for _ in range(batches):
            model(torch.rand(batch, 3, size, size, generator=gen))
    model.eval()
    return len(bns)


def export(name: str, path: Path, calibrate: bool = True) -> None:
    import torch

    factory, size = ZOO[name]
    torch.manual_seed(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = factory().eval()
        if calibrate:
            calibrate_batchnorm(model, size)
        x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(SEED))
        buf = io.BytesIO()
        with torch.no_grad():
            torch.onnx.export(
                model,
                (x,),
                buf,
                dynamo=False,
                opset_version=OPSET,
                input_names=["input"],
                output_names=["logits"],
                do_constant_folding=True,
            )
    tmp = path.with_suffix(".onnx.part")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)  # never leave a half-written model behind


def describe(name: str, path: Path) -> str:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    n = len(model.graph.node)
    hist = Counter(node.op_type for node in model.graph.node)
    top = ", ".join(f"{op} {k}" for op, k in hist.most_common(8))
    note = ""
    if name in EXPECTED_NODES:
        total, identity = EXPECTED_NODES[name]
        ours = n - hist.get("Identity", 0)
        if n == total:
            note = " (= MEASUREMENTS.md)"
        elif ours == total - identity:
            note = f" (MEASUREMENTS.md: {total} with {identity} Identity; same {ours} other nodes)"
        else:
            note = f" (MEASUREMENTS.md: {total}, {total - identity} without Identity; here {ours})"
    return f"{name}: {n} nodes{note}, {path.stat().st_size / 2**20:.1f} MiB; {top}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument(
        "--only",
        action="append",
        choices=sorted(ZOO),
        metavar="NAME",
        help=f"build only this model (repeatable): {', '.join(ZOO)}",
    )
    ap.add_argument("--force", action="store_true", help="rebuild models whose file exists")
    ap.add_argument("--list", action="store_true", help="describe the models already built and stop")
    ap.add_argument(
        "--no-calibrate",
        action="store_true",
        help="keep the freshly initialised BatchNorm statistics (outputs then vanish or explode)",
    )
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    names = a.only or list(ZOO)
    if a.list:
        for name in names:
            path = a.out / f"{name}.onnx"
            print(describe(name, path) if path.exists() else f"{name}: not built")
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print(
            "error: torch is not installed here; see this script's docstring for the .venv-zoo setup", file=sys.stderr
        )
        return 2
    failed = []
    for name in names:
        path = a.out / f"{name}.onnx"
        if path.exists() and not a.force:
            print(f"{describe(name, path)} [exists, skipped]")
            continue
        t0 = time.perf_counter()
        try:
            export(name, path, calibrate=not a.no_calibrate)
        except ImportError as exc:
            print(f"{name}: cannot build, {exc} (needs the zoo extra, see the docstring)", file=sys.stderr)
            failed.append(name)
            continue
        except Exception as exc:  # noqa: BLE001  (report and go on with the others)
            print(f"{name}: export failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{describe(name, path)} [built in {time.perf_counter() - t0:.1f} s]")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
