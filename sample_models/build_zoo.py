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
    inception_v4    299x299   timm.create_model("inception_v4", pretrained=False)
    bert_base       seq 128   transformers BertModel(BertConfig()), random init, eager attention,
                              no pooler; inputs input_ids / attention_mask / token_type_ids
                              (int64, 1x128), output last_hidden_state (1x128x768)
    yolov5s         640x640   sample_models/yolov5.py: the yolov5s v6+ layout in plain torch,
                              three Detect heads decoded as in inference, no NMS; output
                              ``output`` (1x25200x85)
    retinanet       512x512   torchvision retinanet_resnet50_fpn(weights=None,
                              weights_backbone=None): normalisation, ResNet-50 + FPN, the
                              classification and box heads; no resize transform, no anchor
                              decoding, no NMS; outputs cls_logits (1xAx91), bbox_regression (1xAx4)

``--samples`` instead rebuilds the small test models checked into ``sample_models/``
(``bert_mini.onnx``: the same BertModel with 2 layers, hidden 64, 4 heads, sequence 16,
vocabulary 512); the same torch and transformers versions give the same bytes.

A model whose file already exists is skipped unless ``--force``. The folder (default
``.zoo/`` at the repository root) is git-ignored: nothing here is checked in, and the
tests that use it (``tests/test_zoo.py``) skip when it is missing.

Environment. This needs the ``zoo`` extra (torchvision 0.29 + timm), which does not
install next to the project virtualenv's torch 2.13, so it runs from a separate,
git-ignored virtualenv with torch 2.14.1 (a CUDA build from the local wheel cache,
about 5.5 GB and two minutes to install; it runs on the CPU)::

    python -m venv /work/main/.venv-zoo
    /work/main/.venv-zoo/bin/pip install torch==2.14.1 torchvision==0.29.1 timm onnx transformers

(``bert_base`` and ``bert_mini`` were built with transformers 5.23.0.)

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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".zoo"
OPSET = 17
SEED = 0
# RetinaNet's side: torchvision resizes to 800 on the short side; 512 keeps one CPU run near a
# second on the shared 2-core machine (the graph is the same, only the feature maps shrink).
RETINANET_SIZE = 512


@dataclass(frozen=True)
class Spec:
    """One zoo model: a factory for the eval-mode torch module and how to feed it.

    ``kind`` "image": one input ``input`` of shape (1, 3, size, size) in [0, 1);
    "text": ``input_ids``, ``attention_mask``, ``token_type_ids`` of shape (1, size), int64.
    """

    factory: Callable[[], object]
    size: int
    kind: str = "image"
    outputs: tuple[str, ...] = ("logits",)

    @property
    def inputs(self) -> tuple[str, ...]:
        return ("input",) if self.kind == "image" else ("input_ids", "attention_mask", "token_type_ids")


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


def _bert(**config) -> Callable[[], object]:
    """transformers ``BertModel`` (random init) returning only ``last_hidden_state``."""

    def make():
        import torch
        from transformers import BertConfig, BertModel

        class LastHiddenState(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = BertModel(BertConfig(**config, attn_implementation="eager"), add_pooling_layer=False)

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        return LastHiddenState()

    return make


def _yolov5s() -> object:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from yolov5 import yolov5s

    return yolov5s(ZOO["yolov5s"].size)


def _retinanet() -> object:
    """torchvision RetinaNet-ResNet50-FPN: input normalisation, backbone + FPN, both heads; no
    resizing transform, no anchor decoding or NMS (the head outputs are the model's outputs)."""
    import torch
    import torchvision

    full = torchvision.models.detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None)

    class RetinaNetHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = full.backbone, full.head
            self.register_buffer("mean", torch.tensor(full.transform.image_mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(full.transform.image_std).view(1, 3, 1, 1))

        def forward(self, x):
            features = list(self.backbone((x - self.mean) / self.std).values())
            out = self.head(features)
            return out["cls_logits"], out["bbox_regression"]

    return RetinaNetHeads()


# name -> Spec; the file is <name>.onnx
ZOO: dict[str, Spec] = {
    "squeezenet1_1": Spec(_tv("squeezenet1_1"), 224),
    "googlenet": Spec(_tv("googlenet", aux_logits=False, init_weights=True), 224),
    "inception_v3": Spec(_tv("inception_v3", aux_logits=False, init_weights=True), 299),
    "resnet50": Spec(_tv("resnet50"), 224),
    "densenet121": Spec(_tv("densenet121"), 224),
    "mobilenet_v2": Spec(_tv("mobilenet_v2"), 224),
    "nasnetalarge": Spec(_timm("nasnetalarge"), 331),
    "inception_v4": Spec(_timm("inception_v4"), 299),
    "bert_base": Spec(_bert(), 128, kind="text", outputs=("last_hidden_state",)),
    "yolov5s": Spec(_yolov5s, 640, outputs=("output",)),
    "retinanet": Spec(_retinanet, RETINANET_SIZE, outputs=("cls_logits", "bbox_regression")),
}

# The small BERT checked in for the test suite (``--samples`` writes it into sample_models/).
SAMPLES: dict[str, Spec] = {
    "bert_mini": Spec(
        _bert(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128, vocab_size=512,
              max_position_embeddings=64),
        16, kind="text", outputs=("last_hidden_state",),
    ),
}  # fmt: skip

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


def example_inputs(spec: Spec) -> tuple:
    import torch

    gen = torch.Generator().manual_seed(SEED)
    if spec.kind == "image":
        return (torch.rand(1, 3, spec.size, spec.size, generator=gen),)
    ids = torch.randint(0, 100, (1, spec.size), generator=gen)
    return ids, torch.ones(1, spec.size, dtype=torch.int64), torch.zeros(1, spec.size, dtype=torch.int64)


def export(name: str, path: Path, calibrate: bool = True, spec: Spec | None = None) -> None:
    import torch

    spec = spec or ZOO[name]
    torch.manual_seed(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = spec.factory().eval()
        if calibrate and spec.kind == "image":
            calibrate_batchnorm(model, spec.size)
        buf = io.BytesIO()
        with torch.no_grad():
            torch.onnx.export(
                model,
                example_inputs(spec),
                buf,
                dynamo=False,
                opset_version=OPSET,
                input_names=list(spec.inputs),
                output_names=list(spec.outputs),
                do_constant_folding=True,
            )
    tmp = path.with_suffix(".onnx.part")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)  # never leave a half-written model behind


def describe(name: str, path: Path, full: bool = False) -> str:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    n = len(model.graph.node)
    hist = Counter(node.op_type for node in model.graph.node)
    top = ", ".join(f"{op} {k}" for op, k in hist.most_common(None if full else 8))
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
    ap.add_argument("--hist", action="store_true", help="print every op type of the histogram, not the top 8")
    ap.add_argument(
        "--samples",
        action="store_true",
        help=f"(re)build the checked-in test samples ({', '.join(SAMPLES)}) into sample_models/ instead",
    )
    ap.add_argument(
        "--no-calibrate",
        action="store_true",
        help="keep the freshly initialised BatchNorm statistics (outputs then vanish or explode)",
    )
    a = ap.parse_args(argv)
    specs = ZOO
    if a.samples:
        specs, a.out, a.force, a.only = SAMPLES, Path(__file__).resolve().parent, True, None
    a.out.mkdir(parents=True, exist_ok=True)
    names = a.only or list(specs)
    if a.list:
        for name in names:
            path = a.out / f"{name}.onnx"
            print(describe(name, path, a.hist) if path.exists() else f"{name}: not built")
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
            print(f"{describe(name, path, a.hist)} [exists, skipped]")
            continue
        t0 = time.perf_counter()
        try:
            export(name, path, calibrate=not a.no_calibrate, spec=specs[name])
        except ImportError as exc:
            print(f"{name}: cannot build, {exc} (needs the zoo extra, see the docstring)", file=sys.stderr)
            failed.append(name)
            continue
        except Exception as exc:  # noqa: BLE001  (report and go on with the others)
            print(f"{name}: export failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{describe(name, path, a.hist)} [built in {time.perf_counter() - t0:.1f} s]")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
