"""The dataflow graph: operator nodes, tensors with shape/dtype/bytes, edges.

Built once from a checked, shape-inferred ``ModelProto``. ``Constant`` nodes
become initializers here (they are values, not work). Nodes keep their ONNX
order, which the checker guarantees to be topological.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import onnx
from onnx import numpy_helper

from core.errors import ModelLoadError, UnsupportedOpError, first_line
from core.limits import check_tensor_size, itemsize_of
from core.onnx_io import opset_map

Dim = int | str | None


def np_dtype(elem_type: int) -> np.dtype | None:
    """numpy dtype of an ONNX element type, or None for types numpy lacks."""
    if elem_type == onnx.TensorProto.UNDEFINED:
        return None
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class TensorInfo:
    """What is known of a tensor before running: dtype and (possibly symbolic) shape."""

    name: str
    elem_type: int = 0
    shape: tuple[Dim, ...] | None = None  # None: rank unknown

    @property
    def dtype(self) -> np.dtype | None:
        return np_dtype(self.elem_type)

    @property
    def is_static(self) -> bool:
        return self.shape is not None and all(isinstance(d, int) and d >= 0 for d in self.shape)

    @property
    def numel(self) -> int | None:
        if not self.is_static:
            return None
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int | None:
        n, dt = self.numel, self.dtype
        if n is None or dt is None:
            return None
        return n * dt.itemsize

    def shape_str(self) -> str:
        if self.shape is None:
            return "?"
        return "x".join("?" if d is None else str(d) for d in self.shape) or "scalar"


@dataclass
class Node:
    """One ONNX operator. ``inputs``/``outputs`` hold tensor names; "" marks an absent optional."""

    name: str
    op_type: str
    domain: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    since_version: int
    proto: onnx.NodeProto = field(repr=False)

    @property
    def present_inputs(self) -> list[str]:
        return [t for t in self.inputs if t]

    @property
    def present_outputs(self) -> list[str]:
        return [t for t in self.outputs if t]


@dataclass(frozen=True)
class Edge:
    """A data dependency between two nodes, carried by one tensor."""

    src: str
    dst: str
    tensor: str
    nbytes: int | None


def attribute_value(attr: onnx.AttributeProto) -> Any:
    """Python value of an attribute: strings decoded, tensors as numpy, graphs kept."""
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8", errors="replace") for v in value]
    if isinstance(value, list) and value and isinstance(value[0], onnx.TensorProto):
        return [numpy_helper.to_array(v) for v in value]
    return value


def constant_value(node: onnx.NodeProto) -> np.ndarray:
    """The value of a ``Constant`` node."""
    for attr in node.attribute:
        name = attr.name
        if name == "value":
            return numpy_helper.to_array(attr.t)
        if name == "value_float":
            return np.array(attr.f, dtype=np.float32)
        if name == "value_floats":
            return np.array(list(attr.floats), dtype=np.float32)
        if name == "value_int":
            return np.array(attr.i, dtype=np.int64)
        if name == "value_ints":
            return np.array(list(attr.ints), dtype=np.int64)
        if name == "value_string":
            return np.array(attr.s.decode("utf-8", errors="replace"), dtype=object)
        if name == "value_strings":
            return np.array([s.decode("utf-8", errors="replace") for s in attr.strings], dtype=object)
        if name == "sparse_value":
            sp = attr.sparse_tensor
            check_tensor_size(
                "sparse constant",
                node.output[0] if node.output else node.name,
                sp.dims,
                itemsize_of(sp.values.data_type),
            )
            dense = np.zeros(tuple(sp.dims), dtype=np_dtype(sp.values.data_type))
            values = numpy_helper.to_array(sp.values)
            idx = numpy_helper.to_array(sp.indices)
            if idx.ndim == 1:
                dense.reshape(-1)[idx] = values
            else:
                dense[tuple(idx.T)] = values
            return dense
    raise ModelLoadError(f"Constant node {node.name!r} has no value attribute")


def _tensor_info(vi: onnx.ValueInfoProto) -> TensorInfo:
    tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
    if tt is None:
        return TensorInfo(vi.name)
    shape: tuple[Dim, ...] | None = None
    if tt.HasField("shape"):
        dims: list[Dim] = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        shape = tuple(dims)
    return TensorInfo(vi.name, tt.elem_type, shape)


def _detached(p: onnx.NodeProto) -> onnx.NodeProto:
    """A copy of a node that does not keep its model alive (a protobuf sub-message shares its
    parent's memory: holding one would keep every weight of the model resident)."""
    q = onnx.NodeProto()
    q.CopyFrom(p)
    return q


def schema_since_version(op_type: str, domain: str, opsets: dict[str, int]) -> int:
    """The ``since_version`` of the schema in force for ``op_type`` at the model's opset.

    Returns 0 where the domain is not imported or ONNX has no schema (custom ops).
    """
    version = opsets.get(domain)
    if version is None:
        return 0
    try:
        return int(onnx.defs.get_schema(op_type, version, domain).since_version)
    except onnx.defs.SchemaError:
        return 0


class Graph:
    """A DAG of :class:`Node`, with tensors, initializers, inputs and outputs."""

    def __init__(
        self,
        nodes: list[Node],
        tensors: dict[str, TensorInfo],
        initializers: dict[str, np.ndarray],
        inputs: list[str],
        outputs: list[str],
        opsets: dict[str, int],
        name: str = "model",
    ) -> None:
        self.nodes = nodes
        self.tensors = tensors
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.opsets = opsets
        self.name = name
        self.node_by_name = {n.name: n for n in nodes}
        self._producer: dict[str, Node] = {}
        self._consumers: dict[str, list[Node]] = {}
        for n in nodes:
            for t in n.present_outputs:
                self._producer[t] = n
            for t in n.present_inputs:
                self._consumers.setdefault(t, []).append(n)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_model(cls, model: onnx.ModelProto) -> Graph:
        g = model.graph
        opsets = opset_map(model)
        tensors: dict[str, TensorInfo] = {}
        for vi in list(g.value_info) + list(g.input) + list(g.output):
            info = _tensor_info(vi)
            if info.is_static:  # inferred shapes too: e.g. an Expand to 2^40 elements
                check_tensor_size("tensor", vi.name, info.shape, itemsize_of(info.elem_type))
            if vi.name not in tensors or tensors[vi.name].shape is None:
                tensors[vi.name] = info
        initializers: dict[str, np.ndarray] = {}
        for init in g.initializer:
            check_tensor_size("initializer", init.name, init.dims, itemsize_of(init.data_type))
            try:
                arr = numpy_helper.to_array(init)
            except Exception as exc:  # corrupt raw data, wrong sizes
                raise ModelLoadError(f"initializer {init.name!r} is corrupt: {first_line(exc)}") from None
            initializers[init.name] = arr
            tensors[init.name] = TensorInfo(init.name, init.data_type, tuple(int(d) for d in init.dims))
        nodes: list[Node] = []
        used: set[str] = set()
        for i, p in enumerate(g.node):
            domain = "" if p.domain in ("", "ai.onnx") else p.domain
            if p.op_type == "Constant" and domain == "":
                try:
                    value = constant_value(p)
                except ModelLoadError:
                    raise
                except Exception as exc:  # noqa: BLE001  (inconsistent sizes, indices out of range)
                    raise ModelLoadError(f"Constant node {p.name!r} is corrupt: {first_line(exc)}") from None
                initializers[p.output[0]] = value
                elem = (
                    onnx.helper.np_dtype_to_tensor_dtype(value.dtype)
                    if value.dtype != object
                    else onnx.TensorProto.STRING
                )
                tensors[p.output[0]] = TensorInfo(p.output[0], elem, tuple(value.shape))
                continue
            name = p.name or f"{p.op_type}_{i}"
            base, k = name, 1
            while name in used:
                k += 1
                name = f"{base}_{k}"
            used.add(name)
            nodes.append(
                Node(
                    name=name,
                    op_type=p.op_type,
                    domain=domain,
                    inputs=list(p.input),
                    outputs=list(p.output),
                    attrs={a.name: attribute_value(a) for a in p.attribute},
                    since_version=schema_since_version(p.op_type, domain, opsets),
                    proto=_detached(p),
                )
            )
        for n in nodes:
            for t in n.inputs + n.outputs:
                if t and t not in tensors:
                    tensors[t] = TensorInfo(t)
        inputs = [vi.name for vi in g.input if vi.name not in initializers]
        outputs = [vi.name for vi in g.output]
        graph = cls(nodes, tensors, initializers, inputs, outputs, opsets, name=g.name or "model")
        graph.check_closed()
        return graph

    def check_closed(self) -> None:
        """Every input of every node is a graph input, an initializer or an earlier output."""
        known = set(self.inputs) | set(self.initializers)
        for n in self.nodes:
            for t in n.present_inputs:
                if t not in known:
                    raise ModelLoadError(f"node {n.name!r} ({n.op_type}) reads tensor {t!r} that nothing produces")
            known.update(n.present_outputs)
        for t in self.outputs:
            if t not in known:
                raise ModelLoadError(f"graph output {t!r} is produced by no node")

    # -- queries ------------------------------------------------------------------------------
    def producer(self, tensor: str) -> Node | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: str) -> list[Node]:
        return self._consumers.get(tensor, [])

    def is_constant(self, tensor: str) -> bool:
        return tensor in self.initializers

    def info(self, tensor: str) -> TensorInfo:
        return self.tensors.get(tensor) or TensorInfo(tensor)

    def edges(self) -> Iterator[Edge]:
        """Node-to-node data edges (one per tensor and consumer)."""
        for n in self.nodes:
            for t in dict.fromkeys(n.present_inputs):
                src = self._producer.get(t)
                if src is not None:
                    yield Edge(src.name, n.name, t, self.info(t).nbytes)

    @functools.cached_property
    def dag(self) -> nx.DiGraph:
        """networkx view: node names as vertices; edge attribute ``tensors`` lists the tensors."""
        d = nx.DiGraph()
        for n in self.nodes:
            d.add_node(n.name)
        for e in self.edges():
            if d.has_edge(e.src, e.dst):
                d.edges[e.src, e.dst]["tensors"].append(e.tensor)
                d.edges[e.src, e.dst]["nbytes"] += e.nbytes or 0
            else:
                d.add_edge(e.src, e.dst, tensors=[e.tensor], nbytes=e.nbytes or 0)
        return d

    def topo_order(self) -> list[Node]:
        """Nodes in a topological order (the stored order, which is one)."""
        return list(self.nodes)

    def op_histogram(self) -> dict[str, int]:
        hist: dict[str, int] = {}
        for n in self.nodes:
            hist[n.op_type] = hist.get(n.op_type, 0) + 1
        return dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])))

    def param_count(self) -> int:
        return int(sum(a.size for a in self.initializers.values()))

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self.nodes)} nodes, {len(self.inputs)} inputs, {len(self.outputs)} outputs)"


def require_supported(graph: Graph) -> None:
    """Raise for nodes of domains ONNX has no schema for (the op table decides the rest)."""
    for n in graph.nodes:
        if n.since_version == 0:
            where = f"domain {n.domain!r}" if n.domain else "the default domain"
            raise UnsupportedOpError(
                f"unsupported op {n.op_type!r} ({where}, opset {graph.opsets.get(n.domain, '?')}) at node {n.name!r}"
            )
