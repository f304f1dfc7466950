"""Helper functions that converters pull into generated modules.

Each helper's source is copied verbatim into the generated module, so a helper
may use only ``torch``, ``F`` (torch.nn.functional), ``np``, ``math`` and other
helpers that it declares with ``@helper(requires=...)``. Keep them short and
written to the ONNX spec; they are also importable here, for tests.
"""

from __future__ import annotations

import math  # noqa: F401  (available to helpers, as in generated modules)
from collections.abc import Callable

import numpy as np  # noqa: F401
import torch
import torch.nn.functional as F  # noqa: F401, N812

HELPERS: dict[str, Callable] = {}


def helper(*requires: Callable) -> Callable[[Callable], Callable]:
    """Mark a function as a helper that generated code may use; ``requires`` lists helpers it calls."""

    def deco(fn: Callable) -> Callable:
        fn.__helper_requires__ = tuple(requires)  # type: ignore[attr-defined]
        HELPERS[fn.__name__] = fn
        return fn

    return deco


@helper()
def as_ints(t) -> list:
    """A runtime int64 tensor (shape, axes, pads...) as a Python list."""
    return [int(v) for v in torch.as_tensor(t).reshape(-1).tolist()]


@helper()
def onnx_reference(node_bytes: bytes, opsets: dict, *inputs):
    """Run one node with onnx.reference (fallback for ops outside the op table)."""
    import onnx  # only modules that needed the fallback import onnx
    from onnx.reference import ReferenceEvaluator

    cache = onnx_reference.__dict__.setdefault("cache", {})
    ev = cache.get(node_bytes)
    if ev is None:
        node = onnx.NodeProto()
        node.ParseFromString(node_bytes)
        ev = cache[node_bytes] = (ReferenceEvaluator(node, opsets=opsets), [n for n in node.input])
    evaluator, names = ev
    feeds = {n: (v.numpy() if isinstance(v, torch.Tensor) else v) for n, v in zip(names, inputs) if n}
    outs = evaluator.run(None, feeds)
    outs = [torch.from_numpy(np.require(o, requirements="C")) if isinstance(o, np.ndarray) else o for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)
