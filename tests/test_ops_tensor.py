"""Tensor-manipulation converters (core/ops/tensor.py) against ONNX Runtime on hand-built graphs:
shape chains computed at run time, schema versions (attributes vs inputs), and readable code
for constant shape-like inputs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from core import Graph, generate_serial, load_model, run_module
from core.ops import lookup
from tests.util import F32, I64, compare_with_ort, init, make_model, vi

RTOL, ATOL = 1e-3, 1e-4
rng = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def out(name: str, rank: int, elem: int = F32) -> onnx.ValueInfoProto:
    """A graph output of known rank and unknown dims."""
    return vi(name, elem, [None] * rank)


def source_of(model: onnx.ModelProto) -> str:
    return generate_serial(Graph.from_model(load_model(model))).source


def check(model: onnx.ModelProto, *feeds_sets: list[np.ndarray]) -> str:
    """Run the generated code and ONNX Runtime on each feed list; assert they agree. Returns the source."""
    return compare_with_ort(model, list(feeds_sets), RTOL, ATOL)[0].source


def needs(*ops: str) -> pytest.MarkDecorator:
    """Skip until the ops that another family provides are in the op table."""
    missing = [op for op in ops if lookup(op, "", 1000) is None]
    return pytest.mark.skipif(bool(missing), reason=f"ops not in the table yet: {', '.join(missing)}")


# -- shape chains computed at run time ----------------------------------------------------------
@pytest.mark.parametrize("opset", [11, 13, 17])
def test_shape_gather_unsqueeze_concat_reshape(opset):
    """Transformer-style: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1, 4]))."""
    unsq = (
        helper.make_node("Unsqueeze", ["b"], ["bu"], axes=[0])
        if opset < 13
        else helper.make_node("Unsqueeze", ["b", "ax0"], ["bu"])
    )
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["b"], axis=0),
        unsq,
        helper.make_node("Concat", ["bu", "rest"], ["shp"], axis=0),
        helper.make_node("Reshape", ["x", "shp"], ["y"]),
    ]
    inits = [init("i0", np.array(0, np.int64)), init("rest", np.array([-1, 4], np.int64))]
    if opset >= 13:
        inits.append(init("ax0", np.array([0], np.int64)))
    model = make_model(nodes, [vi("x", shape=["N", 6, 8])], [out("y", 3)], inits, opset=opset)
    src = check(model, [rand(2, 6, 8)], [rand(5, 6, 8)])
    assert "torch.tensor(x.shape, dtype=torch.int64)" in src
    assert "s[0]" in src


@pytest.mark.parametrize("opset", [11, 13])
def test_runtime_shape_with_zero_copies_input_dim(opset):
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Slice", ["s", "st", "en"], ["tail"]),
        helper.make_node("Concat", ["zero", "tail"], ["shp"], axis=0),
        helper.make_node("Reshape", ["y", "shp"], ["z"]),
    ]
    inits = [
        init("st", np.array([1], np.int64)),
        init("en", np.array([3], np.int64)),
        init("zero", np.array([0], np.int64)),
    ]
    model = make_model(nodes, [vi("x", shape=[2, 3, 4]), vi("y", shape=["B", 12])], [out("z", 3)], inits, opset=opset)
    check(model, [rand(2, 3, 4), rand(3, 12)])


@needs("Sub", "Div", "Ceil")
def test_nasnet_style_runtime_pads():
    """Pads computed as Shape -> Gather -> Sub -> Div -> Ceil -> Cast -> Concat (NASNet-A exports)."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "hw"], ["d"], axis=0),  # [H, W]
        helper.make_node("Sub", ["target", "d"], ["diff"]),
        helper.make_node("Cast", ["diff"], ["diff_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["diff_f", "two"], ["half"]),
        helper.make_node("Ceil", ["half"], ["half_c"]),
        helper.make_node("Cast", ["half_c"], ["half_i"], to=TensorProto.INT64),
        helper.make_node("Concat", ["zeros2", "half_i", "zeros2", "half_i"], ["pads"], axis=0),
        helper.make_node("Pad", ["x", "pads", "cval"], ["y"], mode="constant"),
    ]
    inits = [
        init("hw", np.array([2, 3], np.int64)),
        init("target", np.array([9, 9], np.int64)),
        init("two", np.array(2.0, np.float32)),
        init("zeros2", np.array([0, 0], np.int64)),
        init("cval", np.array(0.5, np.float32)),
    ]
    model = make_model(nodes, [vi("x", shape=[1, 2, "H", "W"])], [out("y", 4)], inits, opset=11)
    src = check(model, [rand(1, 2, 6, 7)], [rand(1, 2, 9, 4)])
    assert "onnx_pad(" in src


@needs("Mul")
def test_range_and_constant_of_shape_from_shape():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "one"], ["n"], axis=0),
        helper.make_node("Range", ["zero", "n", "step"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
        helper.make_node("ConstantOfShape", ["s"], ["c"], value=helper.make_tensor("v", F32, [1], [2.5])),
        helper.make_node("Mul", ["c", "rf"], ["y"]),
    ]
    inits = [
        init("one", np.array(1, np.int64)),
        init("zero", np.array(0, np.int64)),
        init("step", np.array(1, np.int64)),
    ]
    model = make_model(nodes, [vi("x", shape=["A", "B"])], [out("y", 2), out("r", 1, I64)], inits, opset=11)
    check(model, [rand(2, 5)], [rand(3, 1)])


# -- Reshape, Flatten, Transpose, Squeeze, Unsqueeze --------------------------------------------
@pytest.mark.parametrize("opset", [9, 13, 17])
def test_reshape_constant_shape_is_inlined(opset):
    nodes = [helper.make_node("Reshape", ["x", "shp"], ["y"])]
    model = make_model(
        nodes, [vi("x", shape=[1, 4, 5])], [out("y", 2)], [init("shp", np.array([1, -1], np.int64))], opset=opset
    )
    src = check(model, [rand(1, 4, 5)])
    assert "torch.reshape(x, (1, -1))" in src


def test_reshape_zero_with_symbolic_dim_and_allowzero():
    nodes = [
        helper.make_node("Reshape", ["x", "shp"], ["y"]),
        helper.make_node("Reshape", ["e", "zshape"], ["z"], allowzero=1),
    ]
    inits = [init("shp", np.array([0, 0, -1], np.int64)), init("zshape", np.array([0, 3], np.int64))]
    model = make_model(
        nodes, [vi("x", shape=["N", 3, 4, 5]), vi("e", shape=[3, 0])], [out("y", 3), out("z", 2)], inits, opset=17
    )
    src = check(model, [rand(2, 3, 4, 5), np.zeros((3, 0), np.float32)])
    assert "torch.reshape(x, (x.shape[0], 3, -1))" in src


@pytest.mark.parametrize(("opset", "axis"), [(9, 0), (9, 2), (11, -1), (13, -3), (17, 3)])
def test_flatten(opset, axis):
    model = make_model(
        [helper.make_node("Flatten", ["x"], ["y"], axis=axis)], [vi("x", shape=["N", 3, 4])], [out("y", 2)], opset=opset
    )
    check(model, [rand(2, 3, 4)])


@pytest.mark.parametrize("perm", [None, [0, 2, 1, 3], [3, 1, 0, 2]])
def test_transpose(perm):
    node = (
        helper.make_node("Transpose", ["x"], ["y"])
        if perm is None
        else helper.make_node("Transpose", ["x"], ["y"], perm=perm)
    )
    model = make_model([node], [vi("x", shape=[2, 3, 4, 5])], [out("y", 4)], opset=13)
    check(model, [rand(2, 3, 4, 5)])


@pytest.mark.parametrize("opset", [9, 11])
def test_squeeze_unsqueeze_attributes(opset):
    neg = opset >= 11
    nodes = [
        helper.make_node("Squeeze", ["x"], ["a"], axes=[-1, 1] if neg else [1, 3]),
        helper.make_node("Squeeze", ["x"], ["b"]),
        helper.make_node("Unsqueeze", ["a"], ["c"], axes=[-1, 0] if neg else [0, 3]),
    ]
    model = make_model(nodes, [vi("x", shape=[2, 1, 3, 1])], [out("a", 2), out("b", 2), out("c", 4)], opset=opset)
    check(model, [rand(2, 1, 3, 1)])


def test_squeeze_unsqueeze_inputs_constant_and_runtime():
    nodes = [
        helper.make_node("Squeeze", ["x", "axes"], ["a"]),
        helper.make_node("Unsqueeze", ["a", "uaxes"], ["b"]),
        helper.make_node("Squeeze", ["x", "rt_axes"], ["c"]),
        helper.make_node("Unsqueeze", ["c", "rt_axes"], ["d"]),
        helper.make_node("Squeeze", ["x"], ["e"]),
    ]
    inits = [init("axes", np.array([1], np.int64)), init("uaxes", np.array([-1, 0, 2], np.int64))]
    model = make_model(
        nodes,
        [vi("x", shape=[2, 1, 3, 1]), vi("rt_axes", I64, [2])],
        [out("a", 3), out("b", 6), out("c", 2), out("d", 4), out("e", 2)],
        inits,
        opset=13,
    )
    check(model, [rand(2, 1, 3, 1), np.array([-1, 1], np.int64)])


def test_squeeze_empty_axes_squeezes_all():
    nodes = [helper.make_node("Squeeze", ["x", "axes"], ["y"])]
    model = make_model(
        nodes, [vi("x", shape=[1, 3, 1])], [out("y", 1)], [init("axes", np.zeros(0, np.int64))], opset=13
    )
    check(model, [rand(1, 3, 1)])


def test_reshape_runtime_shape_allowzero():
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["y"], allowzero=1),
        helper.make_node("Reshape", ["x", "s"], ["z"]),
    ]
    model = make_model(nodes, [vi("x", shape=[0, 4]), vi("s", I64, [2])], [out("y", 2), out("z", 2)], opset=14)
    check(model, [np.zeros((0, 4), np.float32), np.array([0, 2], np.int64)])


# -- Concat, Split --------------------------------------------------------------------------------
def test_concat_negative_axis():
    nodes = [helper.make_node("Concat", ["x", "y", "w"], ["z"], axis=-2)]
    model = make_model(
        nodes, [vi("x", shape=[2, 3, 4]), vi("y", shape=[2, 1, 4])], [out("z", 3)], [init("w", rand(2, 2, 4))], opset=11
    )
    check(model, [rand(2, 3, 4), rand(2, 1, 4)])


@pytest.mark.parametrize("opset", [9, 11, 13, 18])
def test_split_several_outputs(opset):
    if opset < 13:
        node = helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, split=[1, 2, 3])
        inits = []
    else:
        node = helper.make_node("Split", ["x", "sizes"], ["a", "b", "c"], axis=-1)
        inits = [init("sizes", np.array([1, 2, 3], np.int64))]
    extra = {"num_outputs": 2} if opset >= 18 else {}
    equal = helper.make_node("Split", ["x"], ["d", "e"], axis=1, **extra)
    model = make_model([node, equal], [vi("x", shape=[2, 6])], [out(n, 2) for n in "abcde"], inits, opset=opset)
    src = check(model, [rand(2, 6)])
    assert "torch.chunk(x, 2, dim=1)" in src


def test_split_num_outputs_uneven_and_runtime_sizes():
    nodes = [
        helper.make_node("Split", ["x"], ["a", "b", "c"], axis=0, num_outputs=3),
        helper.make_node("Split", ["y"], ["d", "e", "f"], axis=1, num_outputs=3),
        helper.make_node("Split", ["x", "sizes"], ["g", "h"], axis=0),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[7, 2]), vi("y", shape=[2, "T"]), vi("sizes", I64, [2])],
        [out(n, 2) for n in "abcdefgh"],
        opset=18,
    )
    check(
        model,
        [rand(7, 2), rand(2, 8), np.array([3, 4], np.int64)],
        [rand(7, 2), rand(2, 9), np.array([0, 7], np.int64)],
    )


def test_split_optional_output_left_out():
    """An absent output still takes its place in the unpacking (ONNX Runtime crashes on this graph)."""
    nodes = [helper.make_node("Split", ["x"], ["a", "", "c"], axis=0, split=[1, 1, 2])]
    model = make_model(nodes, [vi("x", shape=[4, 3])], [out("a", 2), out("c", 2)], opset=11)
    x = rand(4, 3)
    a, c = run_module(generate_serial(Graph.from_model(load_model(model))).load(), [x])
    np.testing.assert_array_equal(a, x[:1])
    np.testing.assert_array_equal(c, x[2:])


# -- Slice ------------------------------------------------------------------------------------
def test_slice_attributes_opset9():
    nodes = [helper.make_node("Slice", ["x"], ["y"], starts=[0, -3], ends=[64, 1000], axes=[1, 2])]
    model = make_model(nodes, [vi("x", shape=[1, 80, 6])], [out("y", 3)], opset=9)
    src = check(model, [rand(1, 80, 6)])
    assert "x[:, :64, 3:]" in src


@pytest.mark.parametrize("opset", [10, 13])
def test_slice_constant_inputs_are_readable(opset):
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax"], ["y"])]
    inits = [
        init("st", np.array([0], np.int64)),
        init("en", np.array([64], np.int64)),
        init("ax", np.array([1], np.int64)),
    ]
    model = make_model(nodes, [vi("x", shape=["N", 128])], [out("y", 2)], inits, opset=opset)
    src = check(model, [rand(2, 128)])
    assert "x[:, :64]" in src


@pytest.mark.parametrize(
    ("starts", "ends", "steps"),
    [
        ([-1], [-(2**63)], [-1]),  # full reverse
        ([20], [0], [-3]),  # start beyond the end
        ([4], [-100], [-2]),
        ([-100], [-200], [-1]),  # both below: empty
        ([2], [-1], [-1]),  # end -1 is "just before the last", so empty
        ([5], [1], [-1]),
    ],
)
def test_slice_negative_steps(starts, ends, steps):
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])]
    inits = [
        init("st", np.array(starts, np.int64)),
        init("en", np.array(ends, np.int64)),
        init("ax", np.array([1], np.int64)),
        init("sp", np.array(steps, np.int64)),
    ]
    known = make_model(nodes, [vi("x", shape=[3, 10])], [out("y", 2)], inits, opset=13)
    symbolic = make_model(nodes, [vi("x", shape=[3, "T"])], [out("y", 2)], inits, opset=13)
    check(known, [rand(3, 10)])
    check(symbolic, [rand(3, 10)], [rand(3, 4)])


def test_slice_runtime_inputs_and_two_axes():
    nodes = [
        helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"]),
        helper.make_node("Slice", ["x", "cst", "cen", "cax", "csp"], ["z"]),
    ]
    inits = [
        init("cst", np.array([-1, 1], np.int64)),
        init("cen", np.array([0, 2**62], np.int64)),
        init("cax", np.array([-1, -3], np.int64)),
        init("csp", np.array([-2, 2], np.int64)),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[4, 5, 6]), vi("st", I64, [2]), vi("en", I64, [2]), vi("ax", I64, [2]), vi("sp", I64, [2])],
        [out("y", 3), out("z", 3)],
        inits,
        opset=13,
    )
    x = rand(4, 5, 6)
    check(
        model,
        [
            x,
            np.array([-1, 0], np.int64),
            np.array([-10, 5], np.int64),
            np.array([2, 0], np.int64),
            np.array([-2, 3], np.int64),
        ],
        [
            x,
            np.array([1, 8], np.int64),
            np.array([4, -9], np.int64),
            np.array([-2, 0], np.int64),
            np.array([1, -1], np.int64),
        ],
    )


# -- Gather*, Scatter* --------------------------------------------------------------------------
def test_gather_variants():
    nodes = [
        helper.make_node("Gather", ["x", "neg"], ["a"], axis=1),
        helper.make_node("Gather", ["x", "idx"], ["b"], axis=-1),
        helper.make_node("Gather", ["x", "scalar"], ["c"], axis=0),
        helper.make_node("Gather", ["x", "i32"], ["d"], axis=2),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[3, 4, 5]), vi("idx", I64, [2, 2]), vi("i32", TensorProto.INT32, [3])],
        [out("a", 3), out("b", 4), out("c", 2), out("d", 3)],
        [init("neg", np.array([-1, 0, 2], np.int64)), init("scalar", np.array(-2, np.int64))],
        opset=13,
    )
    check(model, [rand(3, 4, 5), np.array([[0, -1], [3, 2]], np.int64), np.array([4, -5, 0], np.int32)])


def test_gather_elements_and_nd():
    nodes = [
        helper.make_node("GatherElements", ["x", "gi"], ["a"], axis=-1),
        helper.make_node("GatherND", ["x", "ndi"], ["b"], batch_dims=1),
        helper.make_node("GatherND", ["x", "ndi0"], ["c"]),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[2, 3, 4]), vi("gi", I64, [2, 3, 2])],
        [out("a", 3), out("b", 2), out("c", 2)],
        [
            init("ndi", np.array([[[0, 1]], [[2, -1]]], np.int64)),
            init("ndi0", np.array([[1, 2], [0, 0], [-1, 1]], np.int64)),
        ],
        opset=13,
    )
    check(model, [rand(2, 3, 4), rng.integers(-4, 4, (2, 3, 2)).astype(np.int64)])


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements_and_nd_reductions(reduction):
    extra = {} if reduction == "none" else {"reduction": reduction}
    nodes = [
        helper.make_node("ScatterElements", ["x", "ei", "eu"], ["a"], axis=1, **extra),
        helper.make_node("ScatterND", ["x", "ni", "nu"], ["b"], **extra),
    ]
    unique_ei = np.array([[0, -1], [2, 1], [3, 0]], np.int64)
    unique_ni = np.array([[0, 1], [2, -1]], np.int64)
    ei = unique_ei if reduction == "none" else np.array([[0, 0], [2, -2], [1, 1]], np.int64)
    ni = unique_ni if reduction == "none" else np.array([[0, 1], [0, 1]], np.int64)
    model = make_model(
        nodes,
        [vi("x", shape=[3, 4, 2]), vi("eu", shape=[3, 2, 2]), vi("nu", shape=[2, 2])],
        [out("a", 3), out("b", 3)],
        [init("ei", np.repeat(ei[:, :, None], 2, axis=2)), init("ni", ni)],
        opset=18,
    )
    check(model, [rand(3, 4, 2), rand(3, 2, 2), rand(2, 2)])


def test_scatter_opset9():
    nodes = [helper.make_node("Scatter", ["x", "i", "u"], ["y"], axis=0)]
    model = make_model(
        nodes, [vi("x", shape=[3, 3]), vi("i", I64, [2, 3]), vi("u", shape=[2, 3])], [out("y", 2)], opset=9
    )
    check(model, [rand(3, 3), np.array([[1, 0, 2], [0, 2, 1]], np.int64), rand(2, 3)])


# -- Shape, Size, Expand, Tile ----------------------------------------------------------------
def test_shape_start_end_and_size():
    nodes = [
        helper.make_node("Shape", ["x"], ["a"], start=1, end=-1),
        helper.make_node("Shape", ["x"], ["b"], start=-10),
        helper.make_node("Size", ["x"], ["c"]),
    ]
    model = make_model(
        nodes, [vi("x", shape=["N", 3, 4, 5])], [out("a", 1, I64), out("b", 1, I64), vi("c", I64, [])], opset=17
    )
    check(model, [rand(2, 3, 4, 5)])


def test_expand_bidirectional_and_runtime_shape():
    nodes = [
        helper.make_node("Expand", ["x", "big"], ["a"]),
        helper.make_node("Expand", ["x", "small"], ["b"]),
        helper.make_node("Shape", ["y"], ["ys"]),
        helper.make_node("Expand", ["x", "ys"], ["c"]),
    ]
    inits = [init("big", np.array([2, 1, 6], np.int64)), init("small", np.array([1], np.int64))]
    model = make_model(
        nodes,
        [vi("x", shape=[3, 1]), vi("y", shape=["A", 1, 4])],
        [out("a", 3), out("b", 2), out("c", 3)],
        inits,
        opset=13,
    )
    check(model, [rand(3, 1), rand(2, 1, 4)])


def test_tile_constant_and_runtime():
    nodes = [helper.make_node("Tile", ["x", "r"], ["a"]), helper.make_node("Tile", ["x", "rr"], ["b"])]
    model = make_model(
        nodes,
        [vi("x", shape=[2, 3]), vi("rr", I64, [2])],
        [out("a", 2), out("b", 2)],
        [init("r", np.array([2, 1], np.int64))],
        opset=13,
    )
    check(model, [rand(2, 3), np.array([1, 3], np.int64)])


# -- Pad ----------------------------------------------------------------------------------------
def test_pad_opset9_attributes():
    nodes = [
        helper.make_node("Pad", ["x"], ["a"], pads=[0, 0, 1, 2, 0, 0, 3, -1], value=1.5),
        helper.make_node("Pad", ["x"], ["b"], pads=[0, 0, 1, 2, 0, 0, 1, 2], mode="reflect"),
        helper.make_node("Pad", ["x"], ["c"], pads=[0, 1, 0, 0, 0, 1, 0, 2], mode="edge"),
    ]
    model = make_model(nodes, [vi("x", shape=[1, 2, 4, 5])], [out(n, 4) for n in "abc"], opset=9)
    src = check(model, [rand(1, 2, 4, 5)])
    assert "F.pad(x, (2, -1, 1, 3), value=1.5)" in src


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_opset11_constant_and_runtime_pads(mode):
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["a"], mode=mode),
        helper.make_node("Pad", ["x", "rt_pads"], ["b"], mode=mode),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[2, 3, 4]), vi("rt_pads", I64, [6])],
        [out("a", 3), out("b", 3)],
        [init("pads", np.array([0, 1, 2, 0, 2, 1], np.int64))],
        opset=11,
    )
    check(model, [rand(2, 3, 4), np.array([1, 0, 3, 0, 2, 1], np.int64)])


def test_pad_axes_and_wrap():
    nodes = [
        helper.make_node("Pad", ["x", "pads", "", "axes"], ["a"], mode="wrap"),
        helper.make_node("Pad", ["x", "pads", "cv", "axes"], ["b"]),
        helper.make_node("Pad", ["x", "pads", "", "rt_axes"], ["c"], mode="edge"),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[2, 3, 4]), vi("rt_axes", I64, [2])],
        [out(n, 3) for n in "abc"],
        [
            init("pads", np.array([1, 2, 2, 1], np.int64)),
            init("axes", np.array([-1, 1], np.int64)),
            init("cv", np.array(-3.0, np.float32)),
        ],
        opset=19,
    )
    check(model, [rand(2, 3, 4), np.array([0, 2], np.int64)])


@pytest.mark.parametrize(
    ("mode", "pads"),
    [("wrap", [0, 5, 0, 7]), ("wrap", [-1, -1, 2, 3]), ("edge", [-1, 2, 1, -2]), ("reflect", [1, -1, 0, 1])],
)
def test_pad_runtime_negative_and_repeating_pads(mode, pads):
    """Negative pads crop before padding from what is left; wrap repeats beyond the dim."""
    nodes = [helper.make_node("Pad", ["x", "p"], ["y"], mode=mode)]
    model = make_model(nodes, [vi("x", shape=[2, 3]), vi("p", I64, [4])], [out("y", 2)], opset=19)
    check(model, [rand(2, 3), np.array(pads, np.int64)])


# -- Cast, ConstantOfShape, Identity, Range, Trilu, ... ------------------------------------------
def test_cast_truncates_and_to_bool():
    nodes = [
        helper.make_node("Cast", ["x"], ["a"], to=TensorProto.INT32),
        helper.make_node("Cast", ["x"], ["b"], to=TensorProto.BOOL),
        helper.make_node("CastLike", ["x", "like"], ["c"]),
        helper.make_node("Identity", ["x"], ["d"]),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[6]), vi("like", TensorProto.INT64, [1])],
        [out("a", 1, TensorProto.INT32), out("b", 1, TensorProto.BOOL), out("c", 1, I64), out("d", 1)],
        opset=15,
    )
    check(model, [np.array([-2.7, -0.5, 0.0, 0.4, 1.9, 3.0], np.float32), np.array([1], np.int64)])


def test_cast_between_integer_and_half_types():
    nodes = [
        helper.make_node("Cast", ["i"], ["a"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["x"], ["b"], to=TensorProto.UINT8),
        helper.make_node("Cast", ["i"], ["c"], to=TensorProto.BOOL),
        helper.make_node("Cast", ["x"], ["d"], to=TensorProto.DOUBLE),
    ]
    model = make_model(
        nodes,
        [vi("i", TensorProto.INT32, [4]), vi("x", shape=[4])],
        [
            out("a", 1, TensorProto.FLOAT16),
            out("b", 1, TensorProto.UINT8),
            out("c", 1, TensorProto.BOOL),
            out("d", 1, TensorProto.DOUBLE),
        ],
        opset=13,
    )
    check(model, [np.array([-3, 0, 7, 2049], np.int32), np.array([0.0, 1.7, 200.9, 3.2], np.float32)])


def test_shape_of_scalar_and_constant_of_empty_shape():
    nodes = [
        helper.make_node("Squeeze", ["x"], ["x0"]),
        helper.make_node("Shape", ["x0"], ["s"]),
        helper.make_node("ConstantOfShape", ["s"], ["c"]),
    ]
    model = make_model(nodes, [vi("x", shape=[1])], [out("s", 1, I64), vi("c", F32, [])], opset=13)
    check(model, [np.array([2.0], np.float32)])


def test_constant_of_shape_default_and_int():
    nodes = [
        helper.make_node("ConstantOfShape", ["s"], ["a"]),
        helper.make_node("ConstantOfShape", ["rs"], ["b"], value=helper.make_tensor("v", TensorProto.INT32, [1], [7])),
    ]
    model = make_model(
        nodes,
        [vi("rs", I64, [2])],
        [out("a", 2), out("b", 2, TensorProto.INT32)],
        [init("s", np.array([2, 3], np.int64))],
        opset=9,
    )
    src = check(model, [np.array([3, 1], np.int64)])
    assert "torch.zeros((2, 3), dtype=torch.float32)" in src


def test_range_trilu_eyelike_nonzero_compress():
    nodes = [
        helper.make_node("Range", ["s", "l", "d"], ["r"]),
        helper.make_node("Trilu", ["m", "k"], ["up"]),
        helper.make_node("Trilu", ["m", "rk"], ["lo"], upper=0),
        helper.make_node("EyeLike", ["m"], ["eye"], k=1, dtype=TensorProto.INT64),
        helper.make_node("NonZero", ["m"], ["nz"]),
        helper.make_node("Compress", ["m", "cond"], ["c1"], axis=-1),
        helper.make_node("Compress", ["m", "cond"], ["c2"]),
    ]
    model = make_model(
        nodes,
        [vi("l", shape=[]), vi("m", shape=[3, 4]), vi("rk", I64, []), vi("cond", TensorProto.BOOL, [3])],
        [out("r", 1), out("up", 2), out("lo", 2), out("eye", 2, I64), out("nz", 2, I64), out("c1", 2), out("c2", 1)],
        [init("s", np.array(1.5, np.float32)), init("d", np.array(0.5, np.float32)), init("k", np.array(-1, np.int64))],
        opset=14,
    )
    m = rand(3, 4)
    m[1, 2] = 0.0
    check(model, [np.array(4.2, np.float32), m, np.array(1, np.int64), np.array([True, False, True])])


def test_onehot_reverse_sequence_center_crop_pad():
    nodes = [
        helper.make_node("OneHot", ["i", "depth", "vals"], ["oh"], axis=1),
        helper.make_node("ReverseSequence", ["x", "lens"], ["rs"], batch_axis=0, time_axis=1),
        helper.make_node("CenterCropPad", ["x", "shape"], ["ccp"], axes=[1, -1]),
    ]
    model = make_model(
        nodes,
        [vi("i", I64, [2, 3]), vi("x", shape=[3, 5, 2]), vi("lens", I64, [3])],
        [out("oh", 3), out("rs", 3), out("ccp", 3)],
        [
            init("depth", np.array(4, np.int64)),
            init("vals", np.array([-1.0, 2.0], np.float32)),
            init("shape", np.array([3, 5], np.int64)),
        ],
        opset=18,
    )
    check(model, [np.array([[0, -1, 5], [3, 2, -4]], np.int64), rand(3, 5, 2), np.array([5, 1, 3], np.int64)])


@pytest.mark.parametrize(("sorted_", "axis"), [(1, None), (0, None), (1, 0), (1, -1)])
def test_unique(sorted_, axis):
    extra = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("Unique", ["x"], ["y", "idx", "inv", "cnt"], sorted=sorted_, **extra)]
    rank_y = 1 if axis is None else 2
    model = make_model(
        nodes,
        [vi("x", shape=[4, 3])],
        [out("y", rank_y), out("idx", 1, I64), out("inv", 1, I64), out("cnt", 1, I64)],
        opset=11,
    )
    x = np.array([[2, 1, 1], [3, 0, 1], [2, 1, 1], [0, 0, 3]], np.float32)
    check(model, [x])
