"""Shared test helpers: build small models with onnx.helper and check them against ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from core.codegen import GeneratedModule, generate_serial, run_module
from core.graph import Graph
from core.onnx_io import load_model
from core.verify import allclose, max_abs_diff, ort_session, random_feeds

F32 = TensorProto.FLOAT
I64 = TensorProto.INT64


def vi(name: str, elem: int = F32, shape=None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def init(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def make_model(nodes, inputs, outputs, initializers=(), opset: int = 17, name: str = "g") -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 8)
    return model


def compare_with_ort(
    model: onnx.ModelProto | str,
    feed_sets: list[list[np.ndarray]] | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-4,
    allow_fallback: bool = True,
) -> tuple[GeneratedModule, list[list[np.ndarray]]]:
    """Compile, then run the generated code and ORT on each feed list (default: one random list) and
    assert equal shapes, dtypes and values. Returns the generated module and our outputs per list."""
    checked = load_model(model)
    graph = Graph.from_model(checked)
    generated = generate_serial(graph)
    assert allow_fallback or not generated.fallback_nodes, f"fell back to onnx.reference: {generated.fallback_nodes}"
    mod = generated.load()
    session = ort_session(model if isinstance(model, str) else checked)
    results = []
    for feeds in feed_sets if feed_sets is not None else [random_feeds(graph)]:
        ours = run_module(mod, feeds)
        ref = session.run(None, dict(zip(graph.inputs, feeds, strict=True)))
        assert len(ours) == len(ref)
        for name, a, b in zip(graph.outputs, ours, ref, strict=True):
            assert a.shape == b.shape, f"{name}: shape {a.shape} != {b.shape}"
            assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} != {b.dtype}"
            assert allclose(a, b, rtol, atol), f"{name}: max abs diff {max_abs_diff(a, b):.3g}"
        results.append(ours)
    return generated, results


def check_against_ort(model: onnx.ModelProto | str, feeds: list[np.ndarray] | None = None, rtol=1e-3, atol=1e-4):
    """Compile, run the generated code and ORT on the same feeds; assert they agree. Returns the outputs."""
    _, results = compare_with_ort(model, None if feeds is None else [feeds], rtol, atol)
    return results[0]
