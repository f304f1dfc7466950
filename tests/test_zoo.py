"""The benchmark zoo (``.zoo/``, built by ``sample_models/build_zoo.py``): generated
serial code against ONNX Runtime.

The zoo is not checked in, so each model's test skips when its file is missing (CI).
``RAMIEL_ZOO`` names another folder.

Tolerance: rtol 1e-3, atol 1e-4 times max(1, max |ONNX Runtime output|). Deep models
accumulate float32 rounding: on Inception-v3 (logits up to ~7) ONNX Runtime's own
optimised and unoptimised graphs differ by 3e-4, which a fixed atol of 1e-4 would call
a mismatch on logits near zero.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_samples import ATOL, RTOL, compare_with_ort

ZOO_DIR = Path(os.environ.get("RAMIEL_ZOO") or Path(__file__).resolve().parent.parent / ".zoo")
ZOO_MODELS = ["squeezenet1_1", "googlenet", "inception_v3", "resnet50", "densenet121", "mobilenet_v2", "nasnetalarge"]


def _zoo_path(name: str) -> Path:
    if not ZOO_DIR.is_dir():
        pytest.skip(f"no zoo folder {ZOO_DIR} (build it with sample_models/build_zoo.py)")
    path = ZOO_DIR / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not built (sample_models/build_zoo.py --only {name})")
    return path


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_matches_onnxruntime(name: str):
    path = _zoo_path(name)
    cmp = compare_with_ort(path)
    bad = cmp.mismatches(rtol=RTOL, atol=ATOL, scale_atol=True)
    note = f" (nodes run by onnx.reference: {', '.join(cmp.fallback_ops)})" if cmp.fallback_ops else ""
    assert not bad, f"{path.name}: " + "; ".join(bad) + note
    print(f"{path.name}: {cmp.summary()}{note}")


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_uses_own_op_table(name: str):
    import core

    path = _zoo_path(name)
    g = core.Graph.from_model(core.load_model(path))
    gen = core.generate_serial(g, source_model=str(path))
    ops = sorted({g.node_by_name[n].op_type for n in gen.fallback_nodes})
    assert not gen.fallback_nodes, f"{path.name}: ops without a converter: {', '.join(ops)}"
