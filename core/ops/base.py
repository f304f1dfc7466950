"""What a converter sees of its node: inputs as Python expressions, constant values,
shapes and dtypes, attributes with defaults, and helpers to pull into the module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from core.errors import UnsupportedOpError

if TYPE_CHECKING:
    from core.graph import Graph, Node, TensorInfo

# ONNX element type → torch dtype spelling in generated code.
TORCH_DTYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "torch.float32",
    onnx.TensorProto.DOUBLE: "torch.float64",
    onnx.TensorProto.FLOAT16: "torch.float16",
    onnx.TensorProto.BFLOAT16: "torch.bfloat16",
    onnx.TensorProto.INT8: "torch.int8",
    onnx.TensorProto.INT16: "torch.int16",
    onnx.TensorProto.INT32: "torch.int32",
    onnx.TensorProto.INT64: "torch.int64",
    onnx.TensorProto.UINT8: "torch.uint8",
    onnx.TensorProto.UINT16: "torch.uint16",
    onnx.TensorProto.UINT32: "torch.uint32",
    onnx.TensorProto.UINT64: "torch.uint64",
    onnx.TensorProto.BOOL: "torch.bool",
}

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}


def torch_dtype(elem_type: int, where: str = "") -> str:
    try:
        return TORCH_DTYPES[elem_type]
    except KeyError:
        name = (
            onnx.TensorProto.DataType.Name(elem_type) if elem_type in onnx.TensorProto.DataType.values() else elem_type
        )
        raise UnsupportedOpError(f"element type {name} has no torch equivalent{where}") from None


def lit(value: Any) -> str:
    """A Python literal for an attribute value (numbers, lists → tuples, strings quoted)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        items = [lit(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, float):
        if value != value:
            return "float('nan')"
        if value in (float("inf"), float("-inf")):
            return "float('inf')" if value > 0 else "-float('inf')"
        return repr(value)
    return repr(value)


class NodeCtx:
    """The converter's view of one node. ``expr`` maps a tensor name to a Python expression."""

    def __init__(
        self,
        node: Node,
        graph: Graph,
        expr: Callable[[str], str],
        use_helper: Callable[[Callable], str],
        prepacked: Mapping[str, tuple] | None = None,
        post_op: tuple[str, tuple] | None = None,
        prepacked_linear: Mapping[str, tuple[int, bool]] | None = None,
    ) -> None:
        self.node = node
        self.graph = graph
        self._expr = expr
        self._use_helper = use_helper
        self.prepacked = prepacked or {}  # conv weights oneDNN gets reordered (core.codegen.PREPACKED)
        self.post_op = post_op  # (name, scalars): the activation a Conv applies, or a MatMul's ("bias", (bias,))
        # MatMul/Gemm weights oneDNN gets (core.codegen.PREPACKED_LINEAR)
        self.prepacked_linear = prepacked_linear or {}

    # inputs / outputs --------------------------------------------------------------------
    @property
    def n_in(self) -> int:
        """Number of inputs, trailing absent optionals dropped."""
        ins = self.node.inputs
        n = len(ins)
        while n and not ins[n - 1]:
            n -= 1
        return n

    @property
    def n_out(self) -> int:
        return len(self.node.outputs)

    def has(self, i: int) -> bool:
        return i < len(self.node.inputs) and bool(self.node.inputs[i])

    def x(self, i: int) -> str | None:
        """Expression of input ``i``, or None if absent."""
        return self._expr(self.node.inputs[i]) if self.has(i) else None

    def expr(self, tensor: str) -> str:
        """Expression of any tensor of the graph (e.g. a weight a fused post-op reads)."""
        return self._expr(tensor)

    def xs(self) -> list[str]:
        return [self._expr(t) for t in self.node.inputs if t]

    def const(self, i: int) -> np.ndarray | None:
        """Compile-time value of input ``i`` (an initializer), else None."""
        if not self.has(i):
            return None
        return self.graph.initializers.get(self.node.inputs[i])

    def const_list(self, i: int) -> list | None:
        v = self.const(i)
        return None if v is None else np.asarray(v).reshape(-1).tolist()

    def info(self, i: int) -> TensorInfo:
        return self.graph.info(self.node.inputs[i])

    def out_info(self, j: int = 0) -> TensorInfo:
        return self.graph.info(self.node.outputs[j])

    def rank(self, i: int) -> int | None:
        shape = self.info(i).shape
        return None if shape is None else len(shape)

    def elem_type(self, i: int) -> int:
        return self.info(i).elem_type

    def out_elem_type(self, j: int = 0) -> int:
        return self.out_info(j).elem_type

    def out_rank(self, j: int = 0) -> int | None:
        shape = self.out_info(j).shape
        return None if shape is None else len(shape)

    # attributes ------------------------------------------------------------------------------
    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attrs.get(name, default)

    # code ------------------------------------------------------------------------------------
    def helper(self, fn: Callable) -> str:
        """Pull a helper from :mod:`core.ops.helpers` into the generated module; returns its name."""
        return self._use_helper(fn)

    def dtype(self, elem_type: int) -> str:
        return torch_dtype(elem_type, f" (node {self.node.name!r})")

    def unsupported(self, why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.node.op_type} node {self.node.name!r}: {why}")
