"""Code generation: a readable Python module that computes the model with torch.

One statement per ONNX node, variables named after the ONNX tensors, weights
in a safetensors sidecar read with numpy (memory-mapped, no pickle). The module
imports only torch, numpy and the standard library (``onnx`` too, lazily, where
a node fell back to ``onnx.reference``).
"""

from __future__ import annotations

import builtins
import inspect
import json
import keyword
import os
import re
import textwrap
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import ops
from core.errors import EmitError, UnsupportedOpError, first_line
from core.graph import Graph, Node
from core.ops.base import NodeCtx
from core.ops.helpers import onnx_reference

GENERATED_IMPORTS = ("torch", "torch.nn.functional", "numpy", "math", "json", "os", "sys")
RESERVED = (
    set(keyword.kwlist)
    | set(dir(builtins))
    | {"torch", "F", "np", "math", "json", "os", "sys", "W", "REFERENCE_NODES", "OPSETS"}
    | {"load_weights", "run_serial", "main", "INPUTS", "OUTPUTS", "WEIGHTS_FILE", "SOURCE_MODEL"}
)


class Namer:
    """ONNX tensor names → unique, safe Python identifiers (never interpolated raw)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._names: dict[str, str] = {}
        self._taken: set[str] = set(RESERVED) | set(reserved)

    def __call__(self, tensor: str) -> str:
        name = self._names.get(tensor)
        if name is None:
            base = re.sub(r"\W", "_", tensor, flags=re.ASCII).strip("_") or "t"
            if base[0].isdigit():
                base = "t_" + base
            base = base[:60]
            name, k = base, 1
            while name in self._taken:
                k += 1
                name = f"{base}_{k}"
            self._taken.add(name)
            self._names[tensor] = name
        return name


def docstring(text: str) -> str:
    """A triple-quoted literal for ``text`` (which may hold a model's or a file's name): backslashes
    escaped (``\\x`` or ``\\N{`` would not compile), no closing quotes inside."""
    body = text.replace("\\", "\\\\").replace('"""', "'''")
    return '"""' + body + (" " if body.endswith('"') else "") + '"""'


def comment_text(text: str) -> str:
    """Text safe to put in a ``#`` comment (no newlines or control characters)."""
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def fallback_available(node: Node) -> bool:
    from onnx.reference.ops import load_op

    try:
        load_op(node.domain, node.op_type, node.since_version or None)
        return True
    except Exception:  # noqa: BLE001  (onnx raises several types for "no such op")
        return False


# torch's CPU build has uint16/32/64 tensors but no arithmetic, comparison or shift kernels for them
# ("add_stub" not implemented for 'UInt32'): such nodes on such inputs run by the onnx.reference fallback
WIDE_UNSIGNED = (np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64))
NO_WIDE_UNSIGNED_KERNEL = {
    "Add", "Sub", "Mul", "Div", "Mod", "Max", "Min", "Sum", "Mean", "Neg", "Abs", "Sign",
    "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "BitShift", "BitwiseNot", "BitwiseAnd", "BitwiseOr",
    "BitwiseXor", "Clip", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ArgMax", "ArgMin", "CumSum", "TopK",
}  # fmt: skip


def needs_wide_unsigned_fallback(node: Node, graph: Graph) -> bool:
    """Whether ``node`` computes on uint16/32/64 inputs that torch has no CPU kernel for."""
    if node.op_type not in NO_WIDE_UNSIGNED_KERNEL or node.domain not in ("", "ai.onnx"):
        return False
    return any(t and graph.info(t).dtype in WIDE_UNSIGNED for t in node.inputs)


def unsupported_op(node: Node, graph: Graph) -> UnsupportedOpError:
    return UnsupportedOpError(
        f"unsupported op {node.op_type!r} (domain {node.domain or 'ai.onnx'!r}, "
        f"opset {graph.opsets.get(node.domain, '?')}) at node {node.name!r}"
    )


def check_supported(graph: Graph) -> None:
    """Raise :class:`UnsupportedOpError` for the first node neither the op table nor the fallback can run."""
    for node in graph.nodes:
        if ops.lookup(node.op_type, node.domain, node.since_version) is None and not fallback_available(node):
            raise unsupported_op(node, graph)


@dataclass
class GeneratedModule:
    """The emitted source with its weights and what a user needs to know about it."""

    source: str
    weights: dict[str, np.ndarray]
    input_names: list[str]
    output_names: list[str]
    fallback_nodes: list[str] = field(default_factory=list)
    node_lines: dict[str, tuple[int, int]] = field(default_factory=dict)  # node → (first, last) line, 1-based

    def load(self) -> types.ModuleType:
        """Execute the source as a module in memory, with the weights already in it."""
        mod = types.ModuleType("ramiel_generated")
        mod.__file__ = "<ramiel-generated>"
        exec(compile(self.source, "<ramiel-generated>", "exec"), mod.__dict__)
        mod.W = {k: mod.as_tensor(k, np.array(v)) for k, v in self.weights.items()}
        return mod

    def write(self, out_dir: str | Path, module_name: str) -> Path:
        """Write ``<module_name>.py`` and ``<module_name>.safetensors`` into ``out_dir``.

        Each file appears whole or not at all (written beside, then renamed); a full disk or an
        unwritable folder is an :class:`EmitError` and leaves no partial file."""
        out = Path(out_dir)
        weights = out / f"{module_name}.safetensors"
        path = out / f"{module_name}.py"
        try:
            out.mkdir(parents=True, exist_ok=True)
            write_safetensors(weights, self.weights)
            source = self.source.replace("@WEIGHTS_FILE@", f"{module_name}.safetensors").encode()
            write_whole(path, lambda f: f.write(source))
        except OSError as exc:
            raise EmitError(f"cannot write the generated code to {out}: {exc.strerror or exc}") from None
        return path


# -- safetensors ------------------------------------------------------------------------------
_ST_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16,
    "U8": np.uint8, "BOOL": np.bool_,
}  # fmt: skip
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}


def write_safetensors(path: str | Path, tensors: dict[str, np.ndarray]) -> None:
    """Write tensors in the safetensors format (JSON header + raw little-endian data).

    Larger item sizes first, so every tensor starts at a multiple of its item size.
    """
    header: dict[str, object] = {"__metadata__": {"format": "ramiel"}}
    order = sorted(tensors, key=lambda k: (-np.dtype(tensors[k].dtype).itemsize, k))
    offset = 0
    blobs = []
    for name in order:
        arr = np.require(np.asarray(tensors[name]), requirements="C")  # keeps 0-d arrays 0-d
        if arr.dtype not in _ST_NAMES:
            raise UnsupportedOpError(f"initializer {name!r} has dtype {arr.dtype}, which the weights file cannot hold")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": _ST_NAMES[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)

    def body(f) -> None:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for b in blobs:
            f.write(b)

    write_whole(Path(path), body)


def write_whole(path: Path, write: Callable) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, then rename it over ``path``;
    on any error the temporary file is removed and the error raised."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


LOAD_WEIGHTS_SRC = '''
def load_weights(path=None, names=None):
    """Read the safetensors sidecar with numpy: memory-mapped, copy-on-write, no pickle."""
    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS_FILE)
    dtypes = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32,
              "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    if not header:
        return {}
    data = np.memmap(path, dtype=np.uint8, mode="c", offset=8 + size)
    weights = {}
    for name, meta in header.items():
        if names is None or name in names:
            start, end = meta["data_offsets"]
            array = data[start:end].view(dtypes[meta["dtype"]]).reshape(meta["shape"])
            weights[name] = as_tensor(name, array)
    return weights


def as_tensor(name, array):
    """A weight as a tensor. Conv weights are stored OHWI and viewed as OIHW: channels-last memory.
    Those in PREPACKED (convolutions) and PREPACKED_LINEAR (MatMul and Gemm weights) go to oneDNN
    in its blocked layout (OneDNNWeight); without oneDNN a linear weight is viewed in x out."""
    tensor = torch.from_numpy(array)
    if name in CHANNELS_LAST:
        tensor = tensor.permute(0, 3, 1, 2)
    if name in PREPACKED and torch.backends.mkldnn.is_available():
        return OneDNNWeight(tensor, *PREPACKED[name])
    if name in PREPACKED_LINEAR:
        rows, out_by_in = PREPACKED_LINEAR[name]
        in_by_out = tensor.t() if out_by_in else tensor
        if torch.backends.mkldnn.is_available():
            return OneDNNWeight(in_by_out.t(), rows, linear=True)
        return in_by_out
    return tensor


class OneDNNWeight:
    """A conv or MatMul weight reordered into oneDNN's blocked layout for its operation, at the first run.

    The layout oneDNN picks depends on the thread count (a weight reordered at 2 threads ran
    GoogLeNet 2.3x slower at 1), so there is one reordered copy per thread count that ran it
    (a worker runs at one count; a process that times 1 thread against all cores keeps two)."""

    def __init__(self, weight, *args, linear=False):
        self.plain = weight.contiguous()
        self.args = args  # conv: (padding, stride, dilation, groups, input size); linear: (rows,)
        ops = torch.ops.mkldnn
        self.reorder = ops._reorder_linear_weight if linear else ops._reorder_convolution_weight
        self.packed = {}  # thread count -> reordered weight

    def for_threads(self):
        threads = torch.get_num_threads()
        packed = self.packed.get(threads)
        if packed is None:
            plain = self.plain if self.plain is not None else next(iter(self.packed.values())).to_dense()
            packed = self.packed[threads] = self.reorder(plain, *self.args)
            self.plain = None  # the plain copy is rebuilt from a reordered one if ever needed
        return packed
'''

RANDOM_INPUTS_SRC = '''
def random_inputs(seed=0):
    """Inputs for a smoke run: uniform floats, small integers, symbolic dims set to 1."""
    gen = np.random.default_rng(seed)
    feeds = []
    for name, (shape, dtype) in INPUTS.items():
        shape = [d if isinstance(d, int) and d >= 0 else 1 for d in shape]
        if np.issubdtype(np.dtype(dtype), np.floating):
            feeds.append(gen.random(shape, dtype=np.float32).astype(dtype))
        elif np.dtype(dtype) == np.bool_:
            feeds.append(gen.random(shape) < 0.5)
        else:
            feeds.append(gen.integers(0, 2, size=shape).astype(dtype))
    return feeds

'''

MAIN_SRC = (
    RANDOM_INPUTS_SRC
    + """
def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument("--check", metavar="MODEL.onnx", nargs="?", const=SOURCE_MODEL,
                        help="also run ONNX Runtime on the source model and print the max abs difference")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    weights = load_weights()
    feeds = random_inputs(args.seed)
    outputs = run_serial(weights, *[torch.from_numpy(x) for x in feeds])
    reference = None
    if args.check:
        import onnxruntime

        session = onnxruntime.InferenceSession(args.check, providers=["CPUExecutionProvider"])
        reference = session.run(None, dict(zip(INPUTS, feeds)))
    for i, (name, value) in enumerate(zip(OUTPUTS, outputs)):
        value = value.numpy()
        line = f"{name}: {value.dtype}{list(value.shape)}"
        if value.size and np.issubdtype(value.dtype, np.number):
            line += f" mean={value.astype(np.float64).mean():.6g} first={value.reshape(-1)[:4].tolist()}"
        if reference is not None:
            diff = np.abs(value.astype(np.float64) - reference[i].astype(np.float64)).max() if value.size else 0.0
            line += f" max_abs_diff_vs_onnxruntime={diff:.3g}"
        print(line)


if __name__ == "__main__":
    main()
"""
)


# -- the writer -------------------------------------------------------------------------------
class ModuleWriter:
    """Turns nodes into statements; shared by the serial and (later) the parallel emitters."""

    def __init__(self, graph: Graph, layout: str = "channels_last") -> None:
        self.graph = graph
        self.layout = layout
        self.channels_last = channels_last_weights(graph) if layout == "channels_last" else set()
        self.prepacked = prepacked_conv_weights(graph) if layout == "channels_last" else {}
        self.prepacked_linear = prepacked_linear_weights(graph) if layout == "channels_last" else {}
        # conv node → (activation nodes, post-op); MatMul node → ((bias Add node,), ("bias", (bias,)))
        self.post_ops = (
            fused_activations(graph, self.prepacked) | fused_biases(graph, self.prepacked_linear) | fused_relus(graph)
        )
        self.fused_into = {a.name: op for op, (absorbed, _) in self.post_ops.items() for a in absorbed}
        self.helpers: dict[str, Callable] = {}
        self.namer = Namer(reserved=_helper_names())
        self.reference_nodes: dict[str, bytes] = {}
        self.fallback_nodes: list[str] = []
        self.weights_used: dict[str, np.ndarray] = {}

    def expr(self, tensor: str) -> str:
        """Python expression of a tensor: a weight lookup or a local variable."""
        if tensor in self.graph.initializers:
            if tensor not in self.weights_used:
                value = self.graph.initializers[tensor]
                if tensor in self.channels_last:  # stored OHWI, viewed as OIHW in channels-last memory
                    value = np.ascontiguousarray(value.transpose(0, 2, 3, 1))
                self.weights_used[tensor] = value
            return f"W[{tensor!r}]"
        return self.namer(tensor)

    def use_helper(self, fn: Callable) -> str:
        for dep in getattr(fn, "__helper_requires__", ()):
            self.use_helper(dep)
        self.helpers.setdefault(fn.__name__, fn)
        return fn.__name__

    def statement(self, node: Node) -> list[str]:
        """Comment + one assignment for a node."""
        ins = ", ".join(self.expr(t) if t else "None" for t in node.inputs)
        outs = [self.namer(t) if t else "_" for t in node.outputs]
        shapes = ", ".join(self.graph.info(t).shape_str() for t in node.outputs if t)
        head = f"# {comment_text(node.name)}: {node.op_type}({comment_text(ins)})"
        entry = ops.lookup(node.op_type, node.domain, node.since_version)
        if node.name in self.fused_into:  # the Conv, MatMul, BatchNormalization or Add before it computed it
            producer = self.graph.node_by_name[self.fused_into[node.name]]
            rhs = f"{self.namer(producer.outputs[0])}  # {comment_text(node.op_type)} applied by {comment_text(producer.name)}"
            return [head, f"{outs[0]} = {rhs}"]
        post = self.post_ops[node.name][1] if node.name in self.post_ops else None
        try:
            if entry is not None and not needs_wide_unsigned_fallback(node, self.graph):
                rhs = entry.fn(
                    NodeCtx(node, self.graph, self.expr, self.use_helper, self.prepacked, post, self.prepacked_linear)
                )
            else:
                rhs = self._fallback(node)
                head += "  [onnx.reference fallback" + (
                    "]" if entry is None else ": torch has no CPU kernel for uint16/32/64]"
                )
        except UnsupportedOpError:
            raise
        except Exception as exc:  # a converter that cannot handle this node's attributes
            raise UnsupportedOpError(
                f"{node.op_type} node {node.name!r} cannot be converted: {first_line(exc)}"
            ) from None
        if post is not None and post[0] == "relu_":  # its fresh result, relu'd in place (fused_relus)
            rhs = f"torch.relu_({rhs})"
        lhs = outs[0] if len(outs) == 1 else ", ".join(outs)
        return [head, f"{lhs} = {rhs}  # {shapes}" if shapes else f"{lhs} = {rhs}"]

    def _fallback(self, node: Node) -> str:
        if not fallback_available(node):
            raise unsupported_op(node, self.graph)
        key = node.name
        self.reference_nodes[key] = node.proto.SerializeToString()
        self.fallback_nodes.append(node.name)
        fn = self.use_helper(onnx_reference)
        args = "".join(", " + (self.expr(t) if t else "None") for t in node.inputs)
        return f"{fn}(REFERENCE_NODES[{key!r}], OPSETS{args})"

    def body(
        self,
        nodes: list[Node],
        keep: set[str],
        before: dict[str, list[str]] | None = None,
        after: dict[str, list[str]] | None = None,
    ) -> tuple[list[str], dict[str, tuple[int, int]]]:
        """Statements for ``nodes`` in order, freeing each variable after its last use.

        ``before``/``after`` add lines around a node's statement (waits, sends).
        Returns the lines and each node's line span, relative to the first line.
        """
        before = before or {}
        after = after or {}
        last_use: dict[str, int] = {}
        for i, n in enumerate(nodes):
            for t in n.present_inputs:
                last_use[t] = i
            for t in n.present_outputs:
                last_use.setdefault(t, i)
        dead_after: dict[int, list[str]] = {}
        for t, i in last_use.items():
            if t not in keep and t not in self.graph.initializers and t not in self.graph.inputs:
                dead_after.setdefault(i, []).append(t)
        lines: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        for i, n in enumerate(nodes):
            lines += before.get(n.name, [])
            start = len(lines)
            lines += self.statement(n)
            spans[n.name] = (start, len(lines) - 1)
            lines += after.get(n.name, [])
            dead = sorted({self.namer(t) for t in dead_after.get(i, [])})
            if dead:
                lines.append(f"del {', '.join(dead)}")
        return lines, spans

    def preamble(self, doc: str) -> list[str]:
        lines = [docstring(doc), ""]
        lines += ["import json", "import math", "import os", "import sys", "", "import numpy as np", "import torch",
                  "import torch.nn.functional as F", ""]  # fmt: skip
        return lines

    def input_layout(self, tensor: str) -> str | None:
        """The line that puts a 4-D float graph input into channels-last memory, if the layout wants it."""
        info = self.graph.info(tensor)
        if not self.channels_last or info.shape is None or len(info.shape) != 4 or info.dtype is None:
            return None
        if not np.issubdtype(info.dtype, np.floating):
            return None
        name = self.namer(tensor)
        return f"{name} = {name}.contiguous(memory_format=torch.channels_last)  # channels-last layout for the convolutions"

    def layout_constants(self) -> list[str]:
        names = sorted(self.channels_last & set(self.weights_used))
        if not names:
            lines = ["CHANNELS_LAST = set()  # weights stored as they are in the ONNX file"]
        else:
            lines = (
                ["CHANNELS_LAST = {  # conv weights stored OHWI: channels-last memory for oneDNN's fast kernels"]
                + [f"    {n!r}," for n in names]
                + ["}"]
            )
        packed = sorted(set(self.prepacked) & set(self.weights_used))
        if not packed:
            lines.append("PREPACKED = {}  # no convolution weight is reordered for oneDNN")
        else:
            lines += (
                ["PREPACKED = {  # conv weight: (padding, stride, dilation, groups, input size) it is reordered for"]
                + [f"    {n!r}: {self.prepacked[n]!r}," for n in packed]
                + ["}"]
            )
        linear = sorted(set(self.prepacked_linear) & set(self.weights_used))
        if not linear:
            return lines + ["PREPACKED_LINEAR = {}  # no MatMul or Gemm weight is reordered for oneDNN"]
        return (
            lines
            + ["PREPACKED_LINEAR = {  # MatMul/Gemm weight: (rows of the input it is reordered for, stored out x in)"]
            + [f"    {n!r}: {self.prepacked_linear[n]!r}," for n in linear]
            + ["}"]
        )

    def module_header(self, doc: str, source_model: str, extra: list[str] = ()) -> list[str]:
        """Docstring, imports, the model's constants, the weight loader and the helpers used.

        Call it after the bodies are written: it lists the weights and helpers they used."""
        g = self.graph
        lines = self.preamble(doc)
        lines.append('WEIGHTS_FILE = "@WEIGHTS_FILE@"')
        lines.append(f"SOURCE_MODEL = {str(source_model)!r}")
        lines.append("INPUTS = {  # name: (shape, dtype); strings are symbolic dims")
        lines += [_spec(g, t) for t in g.inputs]
        lines.append("}")
        lines.append(f"OUTPUTS = {list(g.outputs)!r}")
        lines.append(f"OPSETS = {dict(g.opsets)!r}")
        if self.reference_nodes:
            lines.append("REFERENCE_NODES = {  # serialized NodeProto of nodes run by onnx.reference")
            lines += [f"    {k!r}: {v!r}," for k, v in self.reference_nodes.items()]
            lines.append("}")
        lines += list(extra)
        lines += self.layout_constants()
        lines += LOAD_WEIGHTS_SRC.splitlines()
        lines += self.helper_sources()
        return lines

    def serial_entry(
        self, lines: list[str], params: list[str], body: list[str], spans: dict, returns: list[str], doc: str
    ) -> dict[str, tuple[int, int]]:
        """Append ``run_serial(W, *params)`` (``body``, then ``return returns``) and the ``__main__``
        to ``lines``; returns each node's 1-based line span in the module."""
        lines += ["", "", "@torch.no_grad()", f"def run_serial({', '.join(['W'] + params)}):", f'    """{doc}"""']
        lines += ["    " + ln for ln in (self.input_layout(t) for t in self.graph.inputs) if ln]
        offset = sum(ln.count("\n") + 1 for ln in lines) + 1  # entries may hold several lines
        lines += ["    " + ln for ln in body]
        lines.append(f"    return ({', '.join(returns)}{',' if len(returns) == 1 else ''})")
        lines += MAIN_SRC.splitlines()
        return {k: (a + offset, b + offset) for k, (a, b) in spans.items()}

    def helper_sources(self) -> list[str]:
        out: list[str] = []
        for fn in self.helpers.values():
            src = textwrap.dedent(inspect.getsource(fn))
            src = "\n".join(line for line in src.splitlines() if not line.startswith("@helper"))
            out += ["", src, ""]
        return out


def channels_last_weights(graph: Graph) -> set[str]:
    """4-D float initializers used as Conv weights."""
    out = set()
    for n in graph.nodes:
        if n.op_type == "Conv" and len(n.inputs) > 1 and n.inputs[1] in graph.initializers:
            w = graph.initializers[n.inputs[1]]
            if w.ndim == 4 and np.issubdtype(w.dtype, np.floating):
                out.add(n.inputs[1])
    return out


def prepacked_conv_weights(graph: Graph) -> dict[str, tuple]:
    """Float32 2-D conv weights whose every use is one convolution on a static input size.

    Their convolutions call oneDNN with the weight reordered once (at its first run, per thread
    count: ``OneDNNWeight``) into its blocked layout (``conv2d_onednn``), instead of ``F.conv2d`` reordering it (or falling to PyTorch's
    generic kernel) at every call: ResNet-50 1.39x → 1.17x ORT, Inception-v3 1.30x → 1.18x at one
    thread. Key: (padding, stride, dilation, groups, input size), which the reorder is chosen for.
    """
    return {
        t: keys.pop()
        for t, found in _weight_uses(graph, _conv2d_key).items()
        if len(keys := set(found)) == 1 and None not in keys and graph.initializers[t].dtype == np.float32
    }


def _weight_uses(graph: Graph, key: Callable[[Graph, Node], Any]) -> dict[str, list]:
    """Initializer → what ``key(graph, node)`` says of each node reading it as input 1 (a weight),
    None for each node reading it as any other input."""
    uses: dict[str, list] = {}
    for n in graph.nodes:
        for i, t in enumerate(n.inputs):
            if t in graph.initializers:
                uses.setdefault(t, []).append(key(graph, n) if i == 1 else None)
    return uses


def fused_activations(graph: Graph, prepacked: dict[str, tuple]) -> dict[str, tuple[tuple[Node, ...], tuple]]:
    """Convolutions run by oneDNN followed by an activation it can apply as a post-op.

    Conv node name → (the nodes it absorbs, (post-op name, scalars)): an activation that is the
    conv's only reader, or the Sigmoid and Mul of a SiLU ``c * sigmoid(c)`` that are its only two
    readers (YOLOv5's 57: ``F.silu`` in place, one pass instead of sigmoid + mul's two and a copy).
    The convolution's output then holds the activated values and the absorbed statements only
    rename it; that is right wherever they run, since nothing else reads the raw output (nor the
    SiLU's sigmoid). Saves a pass over the tensor per conv (GoogLeNet: 57 Relus, 1.8 of 43 ms).
    """
    out: dict[str, tuple[tuple[Node, ...], tuple]] = {}
    for n in graph.nodes:
        if n.op_type != "Conv" or len(n.inputs) < 2 or n.inputs[1] not in prepacked or len(n.outputs) != 1:
            continue
        t = n.outputs[0]
        if t in graph.outputs:
            continue
        act = _only_reader(graph, t)
        if act is not None:
            post = _post_op(graph, act) if act.inputs[0] == t else None
            if post is not None:
                out[n.name] = ((act,), post)
        elif len(users := graph.consumers(t)) == 2 and (silu := _silu(graph, t, users)) is not None:
            out[n.name] = (silu, ("silu", ()))
    return out


def _only_reader(graph: Graph, t: str) -> Node | None:
    """The one node that reads ``t``, once, when ``t`` is not a graph output; else None."""
    users = graph.consumers(t)
    if t in graph.outputs or len(users) != 1 or users[0].inputs.count(t) != 1:
        return None
    return users[0]


def fused_relus(graph: Graph) -> dict[str, tuple[tuple[Node, ...], tuple]]:
    """BatchNormalization and Add nodes whose only reader is a Relu: the Relu runs in place on their
    result (a fresh tensor: ``torch.relu_(F.batch_norm(...))``), and its own statement only renames.
    DenseNet's 58 BatchNormalization → Relu, ResNet's 16 Add → Relu: one tensor less to allocate."""
    out: dict[str, tuple[tuple[Node, ...], tuple]] = {}
    for n in graph.nodes:
        if n.op_type not in ("BatchNormalization", "Add") or n.domain not in ("", "ai.onnx") or len(n.outputs) != 1:
            continue
        relu = _only_reader(graph, n.outputs[0])
        if relu is None or relu.op_type != "Relu" or relu.domain not in ("", "ai.onnx"):
            continue
        dtype = graph.info(n.outputs[0]).dtype
        if dtype is not None and np.issubdtype(dtype, np.floating):
            out[n.name] = ((relu,), ("relu_", ()))
    return out


def _silu(graph: Graph, t: str, users: list[Node]) -> tuple[Node, Node] | None:
    """(Sigmoid, Mul) when ``t``'s two readers compute ``t * sigmoid(t)`` and nothing else reads the sigmoid."""
    by_op = {u.op_type: u for u in users if u.domain in ("", "ai.onnx")}
    sig, mul = by_op.get("Sigmoid"), by_op.get("Mul")
    if sig is None or mul is None or len(sig.present_outputs) != 1 or len(mul.present_outputs) != 1:
        return None
    s = sig.outputs[0]
    if s in graph.outputs or [u.name for u in graph.consumers(s)] != [mul.name] or sorted(mul.inputs) != sorted([t, s]):
        return None
    return sig, mul


# oneDNN's linear costs ~12 µs more per call than F.linear / torch.matmul (MKL): it wins from about
# 8M multiply-adds (1x64 @ 64x10: 15 against 3 µs; 128x768 @ 768x768: 1.42 against 1.56 ms).
LINEAR_MIN_MACS = 1 << 23


def prepacked_linear_weights(graph: Graph) -> dict[str, tuple[int, bool]]:
    """Float32 2-D weights whose every use is the right operand of a MatMul, or the B of a plain Gemm
    (alpha 1, A not transposed, no C or a 1-D C of its width), on a static float32 input of rank >= 2,
    of at least LINEAR_MIN_MACS multiply-adds: weight → (rows of that input, the most if several;
    True where it is stored out x in: Gemm transB).

    They call oneDNN's linear with the weight reordered once per thread count (``linear_onednn``)
    instead of torch.matmul / addmm (MKL's sgemm): BERT's 128x768 @ 768x3072 7.1 → 5.8 ms at one
    thread on this AMD machine."""
    out: dict[str, tuple[int, bool]] = {}
    for t, found in _weight_uses(graph, _linear_use).items():
        if None in found or graph.initializers[t].dtype != np.float32:
            continue
        layouts = {u[1] for u in found if u is not None}
        if len(layouts) == 1:  # every use reads it the same way round
            out[t] = (max(u[0] for u in found if u is not None), layouts.pop())
    return out


def _linear_use(graph: Graph, node: Node) -> tuple[int, bool] | None:
    """(rows of the left operand, weight stored out x in) for a MatMul or Gemm oneDNN's linear can run."""
    if node.domain not in ("", "ai.onnx") or node.op_type not in ("MatMul", "Gemm") or len(node.inputs) < 2:
        return None
    w = graph.initializers.get(node.inputs[1])
    x = graph.info(node.inputs[0])
    if w is None or w.ndim != 2 or x.shape is None or len(x.shape) < 2 or not x.is_static or x.dtype != np.float32:
        return None
    out_by_in = False
    if node.op_type == "Gemm":
        a = node.attrs
        out_by_in = bool(a.get("transB", 0))
        if a.get("transA", 0) or float(a.get("alpha", 1.0)) != 1.0 or len(x.shape) != 2:
            return None
        width = w.shape[0] if out_by_in else w.shape[1]
        if len(node.inputs) > 2 and node.inputs[2]:
            c = graph.info(node.inputs[2])
            if float(a.get("beta", 1.0)) != 1.0 or c.shape is None or list(c.shape) != [width]:
                return None
    elif len(node.inputs) != 2:
        return None
    if int(x.shape[-1]) != (w.shape[1] if out_by_in else w.shape[0]):
        return None
    rows = int(np.prod([int(d) for d in x.shape[:-1]]))
    if rows * w.size < LINEAR_MIN_MACS:
        return None
    return rows, out_by_in


def fused_biases(graph: Graph, linear: dict[str, tuple[int, bool]]) -> dict[str, tuple[tuple[Node, ...], tuple]]:
    """MatMuls run by oneDNN whose only consumer is an Add of a constant 1-D bias of their width.

    MatMul node name → ((Add node,), ("bias", (bias name,))): oneDNN adds the bias on the way out, the
    Add's statement only renames (as for a conv's activation, see ``fused_activations``)."""
    out: dict[str, tuple[tuple[Node, ...], tuple]] = {}
    for n in graph.nodes:
        if n.op_type != "MatMul" or n.inputs[1] not in linear or len(n.outputs) != 1:
            continue
        add = _only_reader(graph, n.outputs[0])
        if add is None or add.op_type != "Add" or add.domain not in ("", "ai.onnx") or len(add.inputs) != 2:
            continue
        bias = add.inputs[1] if add.inputs[0] == n.outputs[0] else add.inputs[0]
        b = graph.initializers.get(bias)
        width = graph.initializers[n.inputs[1]].shape[1]
        if b is not None and b.dtype == np.float32 and b.shape == (width,):
            out[n.name] = ((add,), ("bias", (bias,)))
    return out


def _post_op(graph: Graph, act: Node) -> tuple[str, tuple] | None:
    """oneDNN's name and scalars for an activation node, or None."""
    if act.domain not in ("", "ai.onnx") or len(act.present_outputs) != 1:
        return None
    if act.op_type in ("Relu", "Sigmoid", "Tanh"):
        return (act.op_type.lower(), ())
    if act.op_type == "LeakyRelu":
        return ("leaky_relu", (float(act.attrs.get("alpha", 0.01)),))
    if act.op_type == "Clip":
        if act.since_version < 11:
            lo, hi = act.attrs.get("min"), act.attrs.get("max")
        else:
            names = (act.inputs + ["", ""])[1:3]
            if any(t and t not in graph.initializers for t in names):
                return None  # a bound computed at run time
            lo, hi = (float(np.asarray(graph.initializers[t]).reshape(-1)[0]) if t else None for t in names)
        if lo is None or hi is None or not lo <= hi:
            return None
        return ("hardtanh", (float(lo), float(hi)))
    return None


def _conv2d_key(graph: Graph, node: Node) -> tuple | None:
    """(padding, stride, dilation, groups, input size) of a Conv that oneDNN can run with a prepacked
    weight: 2-D, float32, static input, symmetric explicit pads; else None."""
    if node.op_type != "Conv" or node.domain not in ("", "ai.onnx") or len(node.inputs) < 2:
        return None
    w = graph.initializers.get(node.inputs[1])
    x = graph.info(node.inputs[0])
    if w is None or w.ndim != 4 or x.shape is None or len(x.shape) != 4 or not x.is_static:
        return None
    if x.dtype != np.float32:
        return None
    attrs = node.attrs
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return None
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4 or pads[:2] != pads[2:] or attrs.get("auto_pad", "NOTSET") == "VALID" and any(pads):
        return None
    stride = tuple(attrs.get("strides", [1, 1]))
    dilation = tuple(attrs.get("dilations", [1, 1]))
    groups = int(attrs.get("group", 1))
    kernel = list(attrs.get("kernel_shape", w.shape[2:]))
    if kernel != list(w.shape[2:]) or x.shape[1] != w.shape[1] * groups or w.shape[0] % groups:
        return None
    return (tuple(pads[:2]), stride, dilation, groups, tuple(int(d) for d in x.shape))


def _helper_names() -> set[str]:
    from core.ops.helpers import HELPERS

    return set(HELPERS)


def _spec(graph: Graph, name: str) -> str:
    info = graph.info(name)
    shape = tuple(info.shape) if info.shape is not None else ()
    dtype = np.dtype(info.dtype).name if info.dtype is not None else "float32"
    return f"    {name!r}: ({shape!r}, {dtype!r}),"


def generate_serial(graph: Graph, *, source_model: str = "", layout: str = "channels_last") -> GeneratedModule:
    """Emit the serial module: ``run_serial(W, *inputs) -> tuple of outputs``."""
    w = ModuleWriter(graph, layout)
    params = [w.namer(t) for t in graph.inputs]
    body, spans = w.body(graph.topo_order(), keep=set(graph.outputs))
    returns = [w.expr(t) for t in graph.outputs]

    doc = (
        f"{comment_text(graph.name)}: generated by Ramiel TUI from {comment_text(Path(source_model).name or 'a model')}"
        f" (serial plan).\n\nRun it: python {{this file}} [--check MODEL.onnx]. Weights: the .safetensors file beside it."
    )
    lines = w.module_header(doc, source_model)
    doc = "Compute every node in ONNX order; returns the graph outputs as a tuple."
    node_lines = w.serial_entry(lines, params, body, spans, returns, doc)
    return GeneratedModule(
        source="\n".join(lines) + "\n",
        weights=dict(w.weights_used),
        input_names=list(graph.inputs),
        output_names=list(graph.outputs),
        fallback_nodes=w.fallback_nodes,
        node_lines=node_lines,
    )


def run_module(mod: types.ModuleType, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Run a loaded serial module on numpy inputs; outputs as numpy arrays."""
    import torch

    with torch.no_grad():
        outs = mod.run_serial(mod.W, *[to_torch(x) for x in feeds])
    return [to_numpy(o) for o in outs]


def to_torch(x):
    """numpy → torch without copying where possible; keeps 0-d arrays 0-d; bfloat16 via its bits."""
    import torch

    x = np.require(np.asarray(x), requirements="C")
    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(x)


def to_numpy(t) -> np.ndarray:
    import torch

    if not isinstance(t, torch.Tensor):
        return np.asarray(t)
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


@dataclass
class NodeProgram:
    """The serial code split per node, for timing each node alone (the measured cost model)."""

    namespace: dict
    steps: list[tuple[str, object, list[str]]]  # (node, code object, tensors dead after it)
    inputs: list[str]  # variable names of the graph inputs
    prelude: object = None  # code that puts the inputs into the layout the code expects


def node_program(graph: Graph) -> NodeProgram:
    """Compile each node's statement on its own, sharing one namespace of imports, helpers and weights."""

    w = ModuleWriter(graph)
    order = graph.topo_order()
    lines = {n.name: w.statement(n)[1] for n in order}
    keep = set(graph.outputs)
    last_use: dict[str, str] = {}
    for n in order:
        for t in n.present_inputs:
            last_use[t] = n.name
    dead: dict[str, list[str]] = {}
    for t, n in last_use.items():
        if t not in keep and t not in graph.initializers and t not in graph.inputs:
            dead.setdefault(n, []).append(w.namer(t))
    ns: dict = {}
    header = [*w.preamble("node program"), *w.layout_constants(), *LOAD_WEIGHTS_SRC.splitlines(), *w.helper_sources()]
    exec(compile("\n".join(header), "<ramiel-node-program>", "exec"), ns)
    ns["OPSETS"] = dict(graph.opsets)
    ns["REFERENCE_NODES"] = dict(w.reference_nodes)
    ns["W"] = {k: ns["as_tensor"](k, np.array(v)) for k, v in w.weights_used.items()}
    steps = [
        (n.name, compile(lines[n.name], f"<node {comment_text(n.name)}>", "exec"), dead.get(n.name, [])) for n in order
    ]
    prelude = compile(
        "\n".join(ln for ln in (w.input_layout(t) for t in graph.inputs) if ln) or "pass", "<layout>", "exec"
    )
    return NodeProgram(ns, steps, [w.namer(t) for t in graph.inputs], prelude)


def resolve_shapes(graph: Graph, feeds: list[np.ndarray] | None = None) -> int:
    """Fill in shapes that shape inference left symbolic by running the code once on example feeds.

    Only for graphs whose inputs have static shapes; returns how many tensors were resolved.
    """
    import dataclasses

    import onnx
    import torch

    from core.verify import random_feeds

    unknown = [t for n in graph.nodes for t in n.present_outputs if not graph.info(t).is_static]
    if not unknown:
        return 0
    prog = node_program(graph)
    feeds = feeds if feeds is not None else random_feeds(graph)
    ns = dict(prog.namespace)
    ns.update({v: to_torch(x) for v, x in zip(prog.inputs, feeds)})
    with torch.no_grad():
        exec(prog.prelude, ns)
        for _, code, _ in prog.steps:
            exec(code, ns)
    namer = ModuleWriter(graph).namer  # the same names node_program used
    for t in [v for n in graph.nodes for v in n.present_outputs]:
        namer(t)
    resolved = 0
    for t in unknown:
        value = ns.get(namer(t))
        if isinstance(value, torch.Tensor):
            elem = graph.info(t).elem_type or onnx.helper.np_dtype_to_tensor_dtype(
                to_numpy(value[:0] if value.dim() else value).dtype
            )
            graph.tensors[t] = dataclasses.replace(graph.info(t), elem_type=elem, shape=tuple(value.shape))
            resolved += 1
    return resolved
