"""Checking generated code against ONNX Runtime: sessions, random feeds, differences."""

from __future__ import annotations

import numpy as np
import onnx

from core.graph import Graph


def ort_session(model: onnx.ModelProto | str, threads: int = 1, optimize: bool = True):
    """A sequential CPU InferenceSession with a fixed intra-op thread count."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    src = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def random_feeds(graph: Graph, seed: int = 0) -> list[np.ndarray]:
    """One array per graph input: floats in [0, 1), small integers, symbolic dims set to 1."""
    gen = np.random.default_rng(seed)
    feeds = []
    for name in graph.inputs:
        info = graph.info(name)
        shape = [d if isinstance(d, int) and d >= 0 else 1 for d in (info.shape or ())]
        dtype = info.dtype or np.dtype(np.float32)
        if np.issubdtype(dtype, np.floating):
            feeds.append(gen.random(shape, dtype=np.float32).astype(dtype))
        elif dtype == np.bool_:
            feeds.append(gen.random(shape) < 0.5)
        else:
            feeds.append(gen.integers(0, 2, size=shape).astype(dtype))
    return feeds


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    if a.dtype == object or b.dtype == object:
        return 0.0 if (a == b).all() else float("inf")
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    both_nan = np.isnan(a.astype(np.float64)) & np.isnan(b.astype(np.float64))
    same_inf = np.isinf(a.astype(np.float64)) & (a.astype(np.float64) == b.astype(np.float64))
    diff[both_nan | same_inf] = 0.0
    return float(np.nan_to_num(diff, nan=np.inf).max())


def allclose(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-3, atol: float = 1e-4) -> bool:
    """numpy-style closeness that also demands equal shapes and treats matching NaN/Inf as equal."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        return False
    if a.dtype == object or e.dtype == object:
        return bool((a == e).all())
    return bool(np.allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True))
