"""Constant propagation, with ONNX Runtime's offline graph optimizer doing the folding.

ORT at its *basic* level evaluates every node computable from constants
(including Shape chains on static shapes), removes redundant nodes (Identity,
Dropout in inference) and applies fusions that stay within standard ONNX ops
(e.g. MatMul+Add → Gemm). The result is plain ONNX, so the rest of the compiler
treats it like any model. This module keeps what ORT does not give: the toggle
and the account of what changed.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import onnx

from core.errors import ModelLoadError, first_line


@dataclass
class FoldReport:
    nodes_before: int
    nodes_after: int
    removed_ops: dict[str, int] = field(default_factory=dict)  # op → count gone (folded, eliminated or fused)
    added_ops: dict[str, int] = field(default_factory=dict)  # op → count created by fusions
    constants_before: int = 0
    constants_after: int = 0

    @property
    def folded(self) -> int:
        return self.nodes_before - self.nodes_after


def _domain_ops(model: onnx.ModelProto) -> Counter:
    """Operator counts; ``Constant`` nodes are values, not work, and are not counted."""
    return Counter(n.op_type for n in model.graph.node if n.op_type != "Constant")


def fold_constants(model: onnx.ModelProto, source: str | None = None) -> tuple[onnx.ModelProto, bytes, FoldReport]:
    """Run ORT's basic-level offline optimizer over ``model``; returns the new model, its bytes and a report.

    ``source``: the file ``model`` was loaded from, if any (ORT reads it faster than we serialize).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="ramiel-cp-") as tmp:
        out_path = os.path.join(tmp, "folded.onnx")
        so.optimized_model_filepath = out_path
        try:
            ort.InferenceSession(source or model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001  (ORT raises its own exception types)
            raise ModelLoadError(f"constant propagation (onnxruntime) failed: {first_line(exc)}") from None
        with open(out_path, "rb") as f:
            raw = f.read()
    folded = onnx.load_from_string(raw)
    # ORT lists every domain it knows; keep only the ones the graph uses.
    used = {n.domain for n in folded.graph.node} | {""}
    keep = [o for o in folded.opset_import if o.domain in used or (o.domain == "ai.onnx")]
    if len(keep) != len(folded.opset_import):
        # a tiny message: re-serializing only the opset list is cheap next to the weights
        extra = onnx.ModelProto()
        extra.opset_import.extend(keep)
        del folded.opset_import[:]
        folded.opset_import.extend(keep)
        raw = _replace_opsets(raw, extra.SerializeToString())
    if _rename_generated(folded, model):
        raw = folded.SerializeToString()
    before, after = _domain_ops(model), _domain_ops(folded)
    report = FoldReport(
        nodes_before=sum(before.values()),
        nodes_after=sum(after.values()),
        removed_ops=dict(sorted((before - after).items())),
        added_ops=dict(sorted((after - before).items())),
        constants_before=len(model.graph.initializer) + sum(n.op_type == "Constant" for n in model.graph.node),
        constants_after=len(folded.graph.initializer) + sum(n.op_type == "Constant" for n in folded.graph.node),
    )
    return folded, raw, report


def _rename_generated(folded: onnx.ModelProto, source: onnx.ModelProto) -> bool:
    """Rename the tensors ORT's fusions created (``gemm_input_shape``, ``gemm_input_shape_token_12``);
    True if any.

    ORT names them ``<base>``, then ``<base>_token_<n>`` from a counter that restarts in every
    session, so a later ORT session over a part of this graph (the onnxruntime backend's
    segments, e.g. on BERT) can generate the same name for a fusion of its own and fail with
    "Attempt to replace the existing tensor". A ``_cp`` suffix takes them out of that pattern.
    """
    known = {t for n in source.graph.node for t in (*n.input, *n.output)}
    known |= {t.name for t in source.graph.initializer} | {v.name for v in source.graph.input}
    g = folded.graph
    names = {t.name for t in g.initializer} | {t for n in g.node for t in n.output}
    new = {t: f"{t}_cp" for t in names if t not in known}
    if not new:
        return False
    for t in g.initializer:
        t.name = new.get(t.name, t.name)
    for n in g.node:
        n.input[:] = [new.get(t, t) for t in n.input]
        n.output[:] = [new.get(t, t) for t in n.output]
    for v in g.value_info:
        v.name = new.get(v.name, v.name)
    return True


def _replace_opsets(raw: bytes, opsets: bytes) -> bytes:
    """``raw`` (a serialized ModelProto) with its opset_import fields (number 8) replaced.

    Walks the top-level fields of the wire format, so the large graph field is copied, not parsed.
    """
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        start = i
        key, i = _varint(raw, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(raw, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = _varint(raw, i)
            i += length
        elif wire == 5:
            i += 4
        else:  # groups do not occur in ModelProto
            return raw
        if field != 8:
            out += raw[start:i]
    return bytes(out) + opsets


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7
