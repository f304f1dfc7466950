"""Loading ONNX files: parse, external data (inside the model's folder only),
checker, shape inference, opset resolution.

Bad files raise :class:`~core.errors.ModelLoadError` with a one-line message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import external_data_helper

from core.errors import ModelLoadError, RamielError, UnsupportedOpError, first_line
from core.limits import check_node_count, check_tensor_size, itemsize_of

DEFAULT_DOMAINS = ("", "ai.onnx")


def opset_map(model: onnx.ModelProto) -> dict[str, int]:
    """Domain → opset version, with ``ai.onnx`` folded into the default domain ``""``."""
    out: dict[str, int] = {}
    for imp in model.opset_import:
        domain = "" if imp.domain in DEFAULT_DOMAINS else imp.domain
        out[domain] = max(out.get(domain, 0), int(imp.version))
    return out


def _collect(graph: onnx.GraphProto, top, from_attr):
    """``top(graph)``, then ``from_attr(attr)`` for every node attribute, subgraphs included."""
    yield from top(graph)
    for node in graph.node:
        for attr in node.attribute:
            yield from from_attr(attr)
            if attr.HasField("g"):
                yield from _collect(attr.g, top, from_attr)
            for sub in attr.graphs:
                yield from _collect(sub, top, from_attr)


def _all_tensors(graph: onnx.GraphProto):
    """Every TensorProto of a graph: initializers and tensor attributes, subgraphs included."""
    return _collect(graph, lambda g: g.initializer, lambda a: [*([a.t] if a.HasField("t") else []), *a.tensors])


def _sparse_tensors(graph: onnx.GraphProto):
    """Every SparseTensorProto of a graph: sparse initializers and attributes, subgraphs included."""
    return _collect(
        graph,
        lambda g: g.sparse_initializer,
        lambda a: [*([a.sparse_tensor] if a.HasField("sparse_tensor") else []), *a.sparse_tensors],
    )


def _text_fields(graph: onnx.GraphProto):
    """(what, value) of every name a graph holds, subgraphs included."""
    yield "graph name", graph.name
    for seq, what in ((graph.input, "input"), (graph.output, "output"), (graph.value_info, "value_info"),
                      (graph.initializer, "initializer")):  # fmt: skip
        for x in seq:
            yield what, x.name
    for node in graph.node:
        yield "node name", node.name
        yield "op type", node.op_type
        yield "domain", node.domain
        for t in list(node.input) + list(node.output):
            yield "tensor name", t
        for attr in node.attribute:
            yield "attribute name", attr.name
            if attr.HasField("g"):
                yield from _text_fields(attr.g)
            for sub in attr.graphs:
                yield from _text_fields(sub)


def check_text(model: onnx.ModelProto, where: str) -> None:
    """Names must be text: protobuf hands back ``bytes`` for a string field that is not valid UTF-8."""
    for what, value in _text_fields(model.graph):
        if not isinstance(value, str):
            raise ModelLoadError(f"{what} {value[:40]!r} is not valid UTF-8 in {where}")
    for imp in model.opset_import:
        if not isinstance(imp.domain, str):
            raise ModelLoadError(f"opset domain {imp.domain[:40]!r} is not valid UTF-8 in {where}")


def check_sizes(model: onnx.ModelProto, where: str) -> None:
    """Refuse, before anything is built, node counts and tensors beyond the limits of ``core.limits``:
    initializers and constants (dense and sparse) and the declared shapes of inputs and outputs."""
    g = model.graph
    check_node_count(len(g.node), where)
    for t in _all_tensors(g):
        check_tensor_size("tensor", t.name, t.dims, itemsize_of(t.data_type))
    for sp in _sparse_tensors(g):
        check_tensor_size("sparse tensor", sp.values.name, sp.dims, itemsize_of(sp.values.data_type))
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if tt is None or not tt.HasField("shape"):
            continue
        dims = [d.dim_value for d in tt.shape.dim]
        if all(d.HasField("dim_value") and d.dim_value >= 0 for d in tt.shape.dim):
            check_tensor_size("tensor", vi.name, dims, itemsize_of(tt.elem_type))


def _check_external_data(model: onnx.ModelProto, base_dir: Path) -> None:
    """Refuse external-data paths that leave the model's folder; name missing files."""
    root = base_dir.resolve()
    for tensor in _all_tensors(model.graph):
        if not external_data_helper.uses_external_data(tensor):
            continue
        info = external_data_helper.ExternalDataInfo(tensor)
        location = info.location or ""
        if not location or os.path.isabs(location) or location.startswith(("/", "\\")):
            raise ModelLoadError(
                f"external data path {location!r} of tensor {tensor.name!r} is not a relative path "
                "inside the model's folder"
            )
        target = (root / location).resolve()
        if target != root and root not in target.parents:
            raise ModelLoadError(f"external data path {location!r} of tensor {tensor.name!r} leaves the model's folder")
        if not target.is_file():
            raise ModelLoadError(f"external data file missing: {location!r} (tensor {tensor.name!r}) next to the model")
        size = target.stat().st_size
        offset = int(info.offset or 0)
        length = info.length
        if offset > size or (length is not None and offset + int(length) > size):
            raise ModelLoadError(f"external data file {location!r} is shorter than tensor {tensor.name!r} needs")


def parse_model_file(path: str | os.PathLike) -> tuple[onnx.ModelProto, bytes | None]:
    """Read and parse a model file, with external data, without checking it.

    Returns the model and the file's bytes when they are the whole model (no external data).
    """
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"model file not found: {p}")
    if p.is_dir():
        raise ModelLoadError(f"model path is a directory, not an ONNX file: {p}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {p}: {exc.strerror or exc}") from None
    if not data:
        raise ModelLoadError(f"model file is empty: {p}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"not a valid ONNX model (truncated or not protobuf): {p}: {first_line(exc)}") from None
    _require_graph(model, str(p))
    if not any(external_data_helper.uses_external_data(t) for t in _all_tensors(model.graph)):
        return model, data
    _check_external_data(model, p.parent)
    try:
        external_data_helper.load_external_data_for_model(model, str(p.parent))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load external data of {p}: {first_line(exc)}") from None
    return model, None


def _require_graph(model: onnx.ModelProto, where: str) -> None:
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise ModelLoadError(f"not an ONNX model (no IR version or no graph): {where}")
    if len(model.graph.output) == 0:
        raise ModelLoadError(f"ONNX model has no graph outputs: {where}")
    check_text(model, where)
    if "" not in opset_map(model) and any(n.domain in DEFAULT_DOMAINS for n in model.graph.node):
        raise ModelLoadError(f"ONNX model imports no default-domain opset: {where}")
    check_sizes(model, where)


def _checker_error(exc: Exception, where: str) -> RamielError:
    """One line from the checker's text, naming the node when it says which."""
    text = str(exc)
    head = first_line(exc)
    match = re.search(r"Name: (.*?) OpType: (\S+)", text)
    node = f" at node {match.group(1)!r} ({match.group(2)})" if match else ""
    if head.startswith("No Op registered for"):
        op = match.group(2) if match else head.split()[4]
        return UnsupportedOpError(f"unsupported op {op!r}{node} in {where}: {head}")
    return ModelLoadError(f"ONNX checker rejected {where}{node}: {head}")


def load_model(
    source: str | os.PathLike | onnx.ModelProto | bytes, *, infer_shapes: bool = True, check: bool = True
) -> onnx.ModelProto:
    """Load, check and shape-infer a model from a path or an in-memory ``ModelProto``.

    A ``ModelProto`` given directly must already carry its external data. ``check=False``
    skips the checker for models this program produced itself.
    """
    raw: bytes | None = None
    if isinstance(source, bytes):  # a serialized model this program made (no external data)
        raw = source
        model = onnx.load_from_string(raw) if not infer_shapes else None
        where = "<serialized model>"
    elif isinstance(source, onnx.ModelProto):
        model = source
        where = model.graph.name or "<in-memory model>"
        _require_graph(model, where)
    else:
        where = str(source)
        model, raw = parse_model_file(source)  # raw: the file as it is, when it is the whole model
    if raw is None and model is not None and model.ByteSize() < 2**31 - 1:
        raw = model.SerializeToString()
    if check:
        try:
            onnx.checker.check_model(raw if raw is not None else str(source))
        except onnx.checker.ValidationError as exc:
            raise _checker_error(exc, where) from None
        except (ValueError, OSError) as exc:
            raise ModelLoadError(f"ONNX checker could not check {where}: {first_line(exc)}") from None
    if not infer_shapes:
        if model is None:
            return onnx.load_from_string(raw)
        out = onnx.ModelProto()
        out.CopyFrom(model)
        return out
    try:
        if raw is not None:
            return onnx.shape_inference.infer_shapes(raw, check_type=False, strict_mode=False, data_prop=True)
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"shape inference failed on {where}: {first_line(exc)}") from None
