"""Hostile model files: hand-made cases and seeded mutators, shared by the tests and the fuzz script
(``benchmarks/fuzz_loader.py``).

The fuzz target is :func:`target`: load, check and compile a model file, emit the serial and the
parallel module and byte-compile both. It must end in a result or a :class:`core.errors.RamielError`;
anything else is a bug.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
EVIL = '"); import os; os.system("touch PWNED")#'
EVIL_NAMES = [
    EVIL,
    "'''\nimport os\nos.system('touch PWNED')\n'''",
    "x\\\n__import__('os').system('touch PWNED')",
    "__import__('os').system('touch PWNED')",
    "bad\\xZZ \\N{oops\\",
    'ends with a quote"',
    "def",
    "W",
    "torch",
    "X",
    "1abc",
    "",
    " ",
    "\u00e9\u4e2d\u0000",
    "a" * 300,
]


def _vi(name: str, shape, elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes, inputs, outputs, initializers=(), opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _raw_tensor(name: str, dims, data: bytes = b"", elem: int = TensorProto.FLOAT) -> onnx.TensorProto:
    t = onnx.TensorProto(name=name, data_type=elem, dims=list(dims))
    if data:
        t.raw_data = data
    return t


def _chain(n: int) -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"n{i}") for i in range(n)]
    return _model(nodes, [_vi("t0", [2])], [_vi(f"t{n}", [2])])


def evil_names_model(name: str = EVIL) -> onnx.ModelProto:
    """Every name (graph input, node, intermediate, output, initializer) is hostile text."""
    w = numpy_helper.from_array(np.full((2,), 0.5, np.float32), name + "w")
    nodes = [
        helper.make_node("Relu", [name], [name + "a"], name=name),
        helper.make_node("Add", [name + "a", name + "w"], [name + "b"], name=name + "2"),
        helper.make_node("Neg", [name], [name + "c"], name=name + "3"),
        helper.make_node("Mul", [name + "b", name + "c"], [name + "out"], name=name + "4"),
    ]
    return _model(nodes, [_vi(name, [2])], [_vi(name + "out", [2])], [w])


def _named_graph(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    model.graph.name = name
    return model


def hostile_cases() -> dict[str, Callable[[], onnx.ModelProto]]:
    """Hand-made hostile models: name → builder. Each must load and compile, or raise a RamielError."""
    huge = [1 << 20, 1 << 20]
    sparse = onnx.SparseTensorProto(dims=huge)
    sparse.values.CopyFrom(numpy_helper.from_array(np.ones(1, np.float32), "v"))
    sparse.indices.CopyFrom(numpy_helper.from_array(np.zeros(1, np.int64), "i"))
    s40 = numpy_helper.from_array(np.array(huge, np.int64), "s")
    return {
        "constant_2^40_elements_no_data": lambda: _model(
            [helper.make_node("Constant", [], ["c"], value=_raw_tensor("c", huge)), helper.make_node("Add", ["x", "c"], ["y"])],
            [_vi("x", [1])], [_vi("y", ["N", "M"])]),
        "initializer_2^40_elements_short_data": lambda: _model(
            [helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [1])], [_vi("y", ["N", "M"])],
            [_raw_tensor("w", huge, b"\0" * 16)]),
        "sparse_constant_2^40_dense": lambda: _model(
            [helper.make_node("Constant", [], ["c"], sparse_value=sparse), helper.make_node("Add", ["x", "c"], ["y"])],
            [_vi("x", [1])], [_vi("y", ["N", "M"])]),
        "initializer_negative_dims": lambda: _model(
            [helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [2])], [_vi("y", [2])], [_raw_tensor("w", [-3, 2])]),
        "input_2^40_elements": lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", huge)], [_vi("y", huge)]),
        "input_negative_dims": lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [-5, 3])], [_vi("y", [-5, 3])]),
        "zero_size_with_2^62_dim": lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [0, 2**62, 128])],
                                                  [_vi("y", [0, 2**62, 128])]),
        "zero_size_tensors": lambda: _model(
            [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "w"], ["y"])], [_vi("x", [0, 3])],
            [_vi("y", [0, 3])], [numpy_helper.from_array(np.zeros((0, 3), np.float32), "w")]),
        "expand_to_2^40_elements": lambda: _model(
            [helper.make_node("Expand", ["x", "s"], ["e"]), helper.make_node("Relu", ["e"], ["y"])],
            [_vi("x", [1, 1])], [_vi("y", ["N", "M"])], [s40]),
        "constant_of_shape_2^40": lambda: _model(
            [helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
            [_vi("x", [1, 1])], [_vi("y", ["N", "M"])], [s40]),
        "cycle": lambda: _model(
            [helper.make_node("Add", ["x", "b"], ["a"], name="A"), helper.make_node("Relu", ["a"], ["b"], name="B")],
            [_vi("x", [2])], [_vi("b", [2])]),
        "self_loop": lambda: _model([helper.make_node("Add", ["x", "y"], ["y"], name="A")], [_vi("x", [2])], [_vi("y", [2])]),
        "duplicate_output_names": lambda: _model(
            [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Neg", ["x"], ["y"], name="b")],
            [_vi("x", [2])], [_vi("y", [2])]),
        "duplicate_node_names": lambda: _model(
            [helper.make_node("Relu", ["x"], ["y1"], name="a"), helper.make_node("Neg", ["x"], ["y2"], name="a")],
            [_vi("x", [2])], [_vi("y1", [2]), _vi("y2", [2])]),
        "duplicate_initializer_names": lambda: _model(
            [helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [2])], [_vi("y", [2])],
            [numpy_helper.from_array(np.ones(2, np.float32), "w"), numpy_helper.from_array(np.zeros(3, np.float32), "w")]),
        "output_shadows_graph_input": lambda: _model(
            [helper.make_node("Relu", ["x"], ["x"], name="a"), helper.make_node("Neg", ["x"], ["y"], name="b")],
            [_vi("x", [2])], [_vi("y", [2])]),
        "output_shadows_initializer": lambda: _model(
            [helper.make_node("Relu", ["x"], ["w"], name="a"), helper.make_node("Add", ["x", "w"], ["y"], name="b")],
            [_vi("x", [2])], [_vi("y", [2])], [numpy_helper.from_array(np.ones(2, np.float32), "w")]),
        "graph_output_is_graph_input": lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [2])],
                                                      [_vi("y", [2]), _vi("x", [2])]),
        "reads_tensor_nothing_produces": lambda: _model([helper.make_node("Add", ["x", "ghost"], ["y"])], [_vi("x", [2])], [_vi("y", [2])]),
        "attribute_garbage": lambda: _model(
            [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1 << 40, -3], strides=[0, -1], pads=[-5, 1 << 62, 0, 0],
                              dilations=[0, 0], group=-7)],
            [_vi("x", [1, 1, 4, 4])], [_vi("y", [1, 1, 4, 4])], [numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")]),
        "attribute_nan_inf": lambda: _model(
            [helper.make_node("LeakyRelu", ["x"], ["a"], alpha=float("nan")), helper.make_node("Elu", ["a"], ["y"], alpha=float("inf"))],
            [_vi("x", [2])], [_vi("y", [2])]),
        "keepdims_2": lambda: _model(
            [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=2),
             helper.make_node("ArgMax", ["x"], ["a"], axis=1, keepdims=2)],
            [_vi("x", [2, 3])], [_vi("m", [2]), _vi("a", [2], TensorProto.INT64)], opset=13),
        "argmax_empty_axis_empty_output": lambda: _model(
            [helper.make_node("ArgMax", ["x"], ["a"], axis=1, keepdims=0)], [_vi("x", [0, 0])],
            [_vi("a", [0], TensorProto.INT64)], opset=13),
        "reduce_mean_empty_axis": lambda: _model(
            [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=0)], [_vi("x", [2, 0])], [_vi("m", [2])],
            opset=13),
        "reshape_to_2^40": lambda: _model(
            [helper.make_node("Reshape", ["x", "s"], ["y"])], [_vi("x", [4])], [_vi("y", ["N", "M"])], [s40]),
        "chain_20000_nodes": lambda: _chain(20_000),
        "chain_over_node_limit": lambda: _chain(100_001),
        "evil_names": evil_names_model,
        "backslash_graph_name": lambda: _named_graph(evil_names_model("x"), "bad\\xZZ \\N{oops \"\"\" end\\"),
    }  # fmt: skip


# -- mutators ---------------------------------------------------------------------------------
BAD_INTS = [-1, 0, 1, 2, 3, -(2**63), 2**63 - 1, 2**31, 2**40, -(2**31), 7, 64]
BAD_FLOATS = [float("nan"), float("inf"), float("-inf"), -0.0, 1e38, -1e-45, 0.0, 1.0]
OPS = ["Relu", "Conv", "Gemm", "MatMul", "Reshape", "Concat", "Split", "Gather", "Slice", "Transpose", "Resize",
       "Pad", "Loop", "If", "Scan", "Softmax", "ReduceMean", "Expand", "Tile", "NoSuchOp", "Constant", "Identity"]  # fmt: skip


def seed_corpus() -> list[tuple[str, bytes]]:
    """The sample models, then the hand-made hostile cases (the huge chains left out: slow)."""
    out = [(p.name, p.read_bytes()) for p in sorted((ROOT / "sample_models").glob("*.onnx"))]
    for name, build in hostile_cases().items():
        if "chain" not in name:
            out.append((name, build().SerializeToString()))
    return out


def mutate_bytes(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(7)
    if not b:
        return bytes(rng.randbytes(rng.randrange(1, 64)))
    if kind == 0:  # flip a few bytes
        for _ in range(rng.randrange(1, 9)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:  # a run of 0xff (long varints, huge lengths)
        i = rng.randrange(len(b))
        b[i : i + rng.randrange(1, 11)] = b"\xff" * rng.randrange(1, 11)
    elif kind == 2:  # insert random bytes
        i = rng.randrange(len(b) + 1)
        b[i:i] = rng.randbytes(rng.randrange(1, 32))
    elif kind == 3:  # delete a chunk
        i = rng.randrange(len(b))
        del b[i : i + rng.randrange(1, 256)]
    elif kind == 4:  # truncate
        del b[rng.randrange(len(b)) :]
    elif kind == 5:  # duplicate a chunk
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randrange(1, 512))
        k = rng.randrange(len(b) + 1)
        b[k:k] = b[i:j]
    else:  # splice with another corpus entry
        other = rng.choice(corpus)
        i, j = rng.randrange(len(b) + 1), rng.randrange(len(other) + 1)
        b = b[:i] + bytearray(other[j:])
    return bytes(b)


def _rename_everywhere(g: onnx.GraphProto, old: str, new: str) -> None:
    for n in g.node:
        for seq in (n.input, n.output):
            for i, t in enumerate(seq):
                if t == old:
                    seq[i] = new
    for seq in (g.input, g.output, g.value_info, g.initializer):
        for x in seq:
            if x.name == old:
                x.name = new


def mutate_structure(model: onnx.ModelProto, rng: random.Random) -> None:
    """One structural change of a parsed model, in place."""
    g = model.graph
    nodes = list(g.node)
    kind = rng.randrange(12)
    if kind == 0 and any(n.attribute for n in nodes):  # random attribute values
        n = rng.choice([n for n in nodes if n.attribute])
        a = rng.choice(list(n.attribute))
        if a.type == onnx.AttributeProto.INT:
            a.i = rng.choice(BAD_INTS) if rng.random() < 0.5 else a.i + rng.choice([-2, -1, 1, 2])
        elif a.type == onnx.AttributeProto.INTS:
            vals = list(a.ints) or [0]
            i = rng.randrange(len(vals))
            vals[i] = rng.choice(BAD_INTS) if rng.random() < 0.5 else vals[i] + rng.choice([-2, -1, 1, 2])
            if rng.random() < 0.3:
                vals = vals[: rng.randrange(len(vals) + 1)]
            del a.ints[:]
            a.ints.extend(vals)
        elif a.type == onnx.AttributeProto.FLOAT:
            a.f = rng.choice(BAD_FLOATS)
        elif a.type == onnx.AttributeProto.STRING:
            a.s = rng.choice([b"", b"nearest", EVIL.encode(), rng.randbytes(8)])
        elif a.type == onnx.AttributeProto.TENSOR:
            del a.t.dims[:]
            a.t.dims.extend(rng.choice([[1 << 40], [-1], [0], [3, 0, 2]]))
        else:
            a.type = rng.choice([onnx.AttributeProto.INT, onnx.AttributeProto.FLOAT, onnx.AttributeProto.GRAPH])
    elif kind == 1 and g.initializer:  # absurd initializer shapes
        t = rng.choice(list(g.initializer))
        dims = list(t.dims) or [1]
        dims[rng.randrange(len(dims))] = rng.choice([0, -1, 1 << 40, 2**62, 3])
        del t.dims[:]
        t.dims.extend(dims)
    elif kind == 2 and g.input:  # absurd input shapes
        vi = rng.choice(list(g.input))
        dims = vi.type.tensor_type.shape.dim
        if len(dims):
            dims[rng.randrange(len(dims))].dim_value = rng.choice([0, -1, 1 << 40, 2**62, 7])
    elif kind == 3 and len(nodes) > 1:  # a cycle: an early node reads a later node's output
        i, j = sorted(rng.sample(range(len(nodes)), 2))
        if nodes[j].output and nodes[i].input:
            nodes[i].input[rng.randrange(len(nodes[i].input))] = nodes[j].output[0]
    elif kind == 4 and len(nodes) > 1:  # reorder two nodes
        i, j = rng.sample(range(len(nodes)), 2)
        a, b = onnx.NodeProto(), onnx.NodeProto()
        a.CopyFrom(g.node[i])
        b.CopyFrom(g.node[j])
        g.node[i].CopyFrom(b)
        g.node[j].CopyFrom(a)
    elif kind == 5 and len(nodes) > 1:  # duplicate tensor names: two nodes write one tensor
        a, b = rng.sample(nodes, 2)
        if a.output and b.output:
            b.output[0] = a.output[0]
    elif kind == 6 and nodes and g.input:  # a node's output shadows a graph input
        rng.choice(nodes).output[0] = rng.choice(list(g.input)).name
    elif kind == 7 and nodes:  # hostile names, renamed consistently
        if rng.random() < 0.3:
            g.name = rng.choice(EVIL_NAMES)
        n = rng.choice(nodes)
        n.name = rng.choice(EVIL_NAMES)
        if n.output:
            _rename_everywhere(g, n.output[0], rng.choice(EVIL_NAMES) + str(rng.randrange(100)))
    elif kind == 8 and nodes:  # another op type or domain
        n = rng.choice(nodes)
        if rng.random() < 0.8:
            n.op_type = rng.choice(OPS)
        else:
            n.domain = rng.choice(["com.example", "ai.onnx.ml", "com.microsoft"])
    elif kind == 9 and nodes:  # many copies of a node (huge node counts)
        n = rng.choice(nodes)
        for k in range(rng.choice([100, 1000, 5000])):
            c = g.node.add()
            c.CopyFrom(n)
            c.name = f"{n.name}_copy{k}"
            c.output[:] = [f"{o}_copy{k}" for o in n.output]
    elif kind == 10 and model.opset_import:  # another opset
        model.opset_import[0].version = rng.choice([1, 6, 7, 9, 11, 13, 17, 21, 22, 23, 99, 0, -1])
    elif nodes:  # drop or add inputs
        n = rng.choice(nodes)
        if n.input and rng.random() < 0.5:
            del n.input[rng.randrange(len(n.input))]
        else:
            n.input.append(rng.choice(["", n.input[0] if n.input else "x", "ghost"]))


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    """One to three mutations, structural where the bytes still parse, else byte-level."""
    for _ in range(1 if rng.random() < 0.6 else rng.randrange(2, 4)):
        model = onnx.ModelProto()
        try:
            if rng.random() < 0.2:
                raise ValueError
            model.ParseFromString(data)
            if not model.HasField("graph"):
                raise ValueError
            mutate_structure(model, rng)
            data = model.SerializeToString()
        except Exception:  # noqa: BLE001  (bytes that no longer parse, or a model proto cannot hold)
            data = mutate_bytes(data, rng, corpus)
    return data


# -- the target -------------------------------------------------------------------------------
class Mismatch(AssertionError):
    """The generated code ran but disagrees with ONNX Runtime (or fails where ORT runs)."""


def _overflows(graph) -> bool:
    """Weights that are not finite or beyond 1e30 make float32 arithmetic overflow; how Inf and NaN then
    flow through fused or reordered kernels differs between ORT and torch: no oracle there."""
    for value in graph.initializers.values():
        v = np.asarray(value)
        if v.dtype.kind == "f" and v.size and not (np.isfinite(v).all() and np.abs(v).max() < 1e30):
            return True
    return False


def target(path: str | Path, execute: bool = True) -> str:
    """Load, check and compile the file, emit both modules and byte-compile them; with ``execute``,
    run the serial module on random feeds and compare with ONNX Runtime where ORT accepts the model.

    Returns ``"ok"`` or the name of the RamielError raised; any other exception propagates (a bug);
    :class:`Mismatch` where the results differ."""
    from core.codegen import run_module
    from core.errors import RamielError
    from core.parallel_codegen import generate_parallel
    from core.pipeline import compile_model
    from core.plan import PlanOptions
    from core.verify import allclose, max_abs_diff, ort_session, random_feeds

    try:
        compiled = compile_model(path, PlanOptions(workers=2, cost="analytic"))
        compile(compiled.serial.source, "<serial>", "exec")
        parallel = generate_parallel(compiled.plan, source_model=str(path))
        compile(parallel.source, "<parallel>", "exec")
    except RamielError as exc:
        assert "\n" not in str(exc)
        return type(exc).__name__
    g = compiled.graph
    # ORT runs every node of the file, dead ones too (thousands of copies would take gigabytes): no oracle there
    if not execute or len(compiled.input_graph.nodes) > 2000 or not all(g.info(t).is_static for t in g.inputs):
        return "ok"
    if _overflows(compiled.input_graph):
        return "ok"
    feeds = random_feeds(g)
    try:
        ref = ort_session(str(path), optimize=False).run(None, dict(zip(g.inputs, feeds)))  # ORT's fusions clamp NaN
    except Exception:  # noqa: BLE001  (ORT refuses the model or the feeds: nothing to compare with)
        return "ok"
    try:
        ours = run_module(compiled.serial.load(), feeds)
    except Exception as exc:  # noqa: BLE001
        raise Mismatch(f"generated code failed where ORT runs: {type(exc).__name__}: {exc}") from exc
    for name, a, b in zip(g.outputs, ours, ref):
        if not allclose(a, b):
            raise Mismatch(
                f"output {name!r}: ours {a.dtype}{list(a.shape)} vs ORT {b.dtype}{list(b.shape)}, "
                f"max abs diff {max_abs_diff(a, b):.3g}"
            )
    return "ok"
