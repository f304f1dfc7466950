"""The nine model-zoo graphs that ship in onnx/backend/test/data/light, against their expected outputs
and against ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from core.codegen import generate_serial, run_module
from core.graph import Graph
from core.onnx_io import load_model
from core.verify import allclose, max_abs_diff, ort_session

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = sorted(p.stem for p in LIGHT.glob("light_*.onnx"))


def dummy_input(vi: onnx.ValueInfoProto) -> np.ndarray:
    """The inputs onnx's backend runner uses for these models: arange(n) / n."""
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def test_nine_light_models_exist():
    assert len(MODELS) == 9


@pytest.mark.parametrize("name", MODELS)
def test_light_model_matches_expected_and_ort(name):
    path = LIGHT / f"{name}.onnx"
    graph = Graph.from_model(load_model(path))
    proto = onnx.load(path)
    by_name = {vi.name: vi for vi in proto.graph.input}
    feeds = [dummy_input(by_name[t]) for t in graph.inputs]
    ours = run_module(generate_serial(graph).load(), feeds)
    expected = [numpy_helper.to_array(onnx.load_tensor(str(LIGHT / f"{name}_output_{i}.pb"))) for i in range(len(ours))]
    ref = ort_session(str(path)).run(None, dict(zip(graph.inputs, feeds)))
    for a, e, r in zip(ours, expected, ref):
        assert allclose(a, e), f"vs expected: max abs diff {max_abs_diff(a, e):.3g}"
        assert allclose(a, r), f"vs ORT: max abs diff {max_abs_diff(a, r):.3g}"
