"""Neural-network and activation converters against ONNX Runtime, on the node patterns real
exports use: torchvision classifiers (SqueezeNet/GoogLeNet/Inception/ResNet/MobileNet),
ONNX model-zoo opset-9 graphs (LRN, Dropout, Softmax on a 4-D input, asymmetric pool pads),
timm NASNet pooling, transformer blocks and detection necks (Resize, Sigmoid)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.util import compare_with_ort, init, make_model, vi

RTOL, ATOL = 1e-3, 1e-4
rng = np.random.default_rng(0)


def w(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def with_output_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Graph outputs declared without a shape get the one shape inference finds."""
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {
        v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output] if v.type.tensor_type.HasField("shape")
    }
    for out in model.graph.output:
        if not out.type.tensor_type.HasField("shape") and out.name in known:
            out.CopyFrom(known[out.name])
    return model


def compile_and_check(model: onnx.ModelProto, feeds: list[np.ndarray]) -> str:
    """Generated code against ORT on ``feeds``, no onnx.reference fallback allowed. Returns the source."""
    return compare_with_ort(with_output_shapes(model), [feeds], RTOL, ATOL, allow_fallback=False)[0].source


def single(
    op: str, x_shape, out_shape, opset: int, inits=(), extra_inputs=(), outputs=None, **attrs
) -> onnx.ModelProto:
    """A one-node model: input ``x`` (float), then ``extra_inputs`` names (initializers)."""
    outputs = outputs or [vi("y", shape=out_shape)]
    node = helper.make_node(op, ["x", *extra_inputs], [o.name for o in outputs], **attrs)
    return make_model([node], [vi("x", shape=x_shape)], outputs, list(inits), opset=opset)


# -- torchvision classifiers ------------------------------------------------------------------
@pytest.mark.parametrize("opset", [10, 17])
def test_squeezenet_stem_conv_relu_maxpool_ceil(opset):
    """Conv(stride 2) → Relu → MaxPool(3, stride 2, ceil_mode=1): torch's own call, no padding."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    ]
    model = make_model(
        nodes, [vi("x", shape=[1, 3, 32, 32])], [vi("y", shape=None)],
        [init("conv.w", w(8, 3, 3, 3)), init("conv.b", w(8))], opset=opset,
    )  # fmt: skip
    src = compile_and_check(model, [w(1, 3, 32, 32)])
    assert "F.max_pool2d(r, kernel_size=(3, 3), stride=(2, 2), ceil_mode=True)" in src


@pytest.mark.parametrize("opset", [9, 17])
def test_resnet_block_conv_bn_relu_global_pool(opset):
    """Conv(pads 3, stride 2) → BatchNormalization → Relu → MaxPool(pads 1) → GlobalAveragePool."""
    c = 8
    nodes = [
        helper.make_node("Conv", ["x", "conv.w"], ["c"], kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3]),
        helper.make_node("BatchNormalization", ["c", "bn.s", "bn.b", "bn.m", "bn.v"], ["n"], epsilon=1e-5),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["p"], ["y"]),
    ]
    inits = [init("conv.w", w(c, 3, 7, 7)), init("bn.s", w(c)), init("bn.b", w(c)), init("bn.m", w(c)),
             init("bn.v", np.abs(w(c)) + 0.5)]  # fmt: skip
    model = make_model(nodes, [vi("x", shape=[2, 3, 33, 33])], [vi("y", shape=None)], inits, opset=opset)
    src = compile_and_check(model, [w(2, 3, 33, 33)])
    assert "F.batch_norm(" in src and "torch.mean(p, dim=(2, 3), keepdim=True)" in src


def test_mobilenet_depthwise_conv_and_inception_avgpool_count_include_pad():
    """Depthwise Conv (group = channels) and Inception-v3's avg_pool2d(3, 1, 1) (count_include_pad=1)."""
    c = 6
    nodes = [
        helper.make_node("Conv", ["x", "dw.w", "dw.b"], ["d"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=c),
        helper.make_node("AveragePool", ["d"], ["y"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                         count_include_pad=1),
    ]  # fmt: skip
    model = make_model(
        nodes, [vi("x", shape=[1, c, 9, 9])], [vi("y", shape=None)], [init("dw.w", w(c, 1, 3, 3)), init("dw.b", w(c))],
        opset=13,
    )  # fmt: skip
    src = compile_and_check(model, [w(1, c, 9, 9)])
    assert "conv2d_onednn(x, W['dw.w'], W['dw.b'], (1, 1), (1, 1), (1, 1), 6)" in src  # depthwise, prepacked
    assert "F.avg_pool2d(d, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in src


# -- ONNX model-zoo opset-9 graphs ------------------------------------------------------------
def test_zoo_googlenet_lrn_dropout_softmax_opset9():
    """LRN(size 5) → Dropout (with its mask unused) → Softmax on a 4-D input: opset < 13 flattens at axis 1."""
    nodes = [
        helper.make_node("LRN", ["x"], ["l"], size=5, alpha=1e-4, beta=0.75, bias=1.0),
        helper.make_node("Dropout", ["l"], ["d"], ratio=0.4),
        helper.make_node("Softmax", ["d"], ["y"]),
    ]
    model = make_model(nodes, [vi("x", shape=[2, 10, 3, 3])], [vi("y", shape=None)], opset=9)
    src = compile_and_check(model, [w(2, 10, 3, 3) * 3])
    assert "F.local_response_norm(" in src and "flatten(1)" in src


def test_zoo_inception_asymmetric_pool_pads_opset9():
    """MaxPool and AveragePool (count_include_pad=0) with pads [0, 0, 1, 1], as zoo graphs carry."""
    nodes = [
        helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
    ]
    model = make_model(nodes, [vi("x", shape=[1, 4, 10, 10])], [vi("m", shape=None), vi("a", shape=None)], opset=9)
    compile_and_check(model, [w(1, 4, 10, 10)])


@pytest.mark.parametrize(("opset", "axis"), [(9, 1), (11, 2), (11, -1), (13, 1), (13, -1)])
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax", "Hardmax"])
def test_softmax_family_axis_semantics(op, opset, axis):
    """Opset < 13 coerces to 2-D at ``axis``; 13 works along the one axis."""
    x = np.round(w(2, 3, 4, 5) * 2)  # ties for Hardmax: the first maximum wins
    compile_and_check(single(op, [2, 3, 4, 5], None, opset, axis=axis), [x])


# -- timm NASNet-A Large --------------------------------------------------------------------------
@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_nasnet_avgpool_exclude_pad_and_maxpool_pads(ceil_mode):
    """AvgPool2d(3, stride 2, padding 1, count_include_pad=False) and MaxPool2d(3, 2, padding 1)."""
    nodes = [
        helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         count_include_pad=0, ceil_mode=ceil_mode),
        helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         ceil_mode=ceil_mode),
    ]  # fmt: skip
    model = make_model(nodes, [vi("x", shape=[1, 4, 12, 12])], [vi("a", shape=None), vi("m", shape=None)], opset=17)
    src = compile_and_check(model, [w(1, 4, 12, 12)])
    assert "count_include_pad=False" in src


def test_avgpool_ceil_window_starting_in_padding_with_asymmetric_pads():
    """ceil_mode with pads that torch cannot take: the helper's window count must be ONNX's."""
    model = single("AveragePool", [1, 2, 6, 6], None, 17, kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 2, 2],
                   ceil_mode=1, count_include_pad=1)  # fmt: skip
    src = compile_and_check(model, [w(1, 2, 6, 6)])
    assert "onnx_pool(x, 'avg'" in src


# -- transformers ---------------------------------------------------------------------------------
def test_transformer_layernorm_softmax_gelu():
    """LayerNormalization (opset 17) → Softmax(last axis) and Gelu (opset 20)."""
    nodes = [
        helper.make_node("LayerNormalization", ["x", "ln.w", "ln.b"], ["n"], axis=-1, epsilon=1e-12),
        helper.make_node("Softmax", ["n"], ["s"], axis=-1),
        helper.make_node("Gelu", ["n"], ["g"]),
    ]
    model = make_model(
        nodes, [vi("x", shape=[2, 5, 16])], [vi("s", shape=None), vi("g", shape=None)],
        [init("ln.w", w(16)), init("ln.b", w(16))], opset=20,
    )  # fmt: skip
    src = compile_and_check(model, [w(2, 5, 16)])
    assert "F.layer_norm(x, (16,), weight=W['ln.w'], bias=W['ln.b'], eps=1e-12)" in src


def test_layernorm_mean_and_inv_std_outputs():
    outputs = [vi("y", shape=None), vi("mean", shape=None), vi("inv_std", shape=None)]
    model = single("LayerNormalization", [2, 3, 8], None, 17, [init("s", w(3, 8))], ["s"], outputs, axis=1)
    compile_and_check(model, [w(2, 3, 8)])


# -- detection necks ------------------------------------------------------------------------------
@pytest.mark.parametrize("opset", [11, 13, 19])
def test_neck_resize_nearest_scales_then_sigmoid(opset):
    """Resize(nearest, scales [1, 1, 2, 2], asymmetric/floor) as torch exports F.interpolate → F.interpolate."""
    nodes = [
        helper.make_node("Resize", ["x", "roi", "scales"], ["r"], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Sigmoid", ["r"], ["y"]),
    ]  # fmt: skip
    inits = [init("roi", np.array([], np.float32)), init("scales", np.array([1, 1, 2, 2], np.float32))]
    model = make_model(nodes, [vi("x", shape=[1, 3, 5, 7])], [vi("y", shape=None)], inits, opset=opset)
    src = compile_and_check(model, [w(1, 3, 5, 7)])
    assert "F.interpolate(x, scale_factor=(2.0, 2.0), mode='nearest')" in src


@pytest.mark.parametrize(
    ("mode", "coord", "sizes"),
    [
        ("linear", "half_pixel", [1, 3, 9, 14]),
        ("linear", "align_corners", [1, 3, 4, 11]),
        ("linear", "asymmetric", [1, 3, 9, 5]),
        ("cubic", "half_pixel", [1, 3, 8, 10]),
        ("nearest", "half_pixel", [1, 3, 3, 12]),
    ],
)
def test_resize_sizes_modes(mode, coord, sizes):
    inits = [init("sizes", np.array(sizes, np.int64))]
    model = single("Resize", [1, 3, 5, 7], None, 13, inits, ["", "", "sizes"], mode=mode,
                   coordinate_transformation_mode=coord)  # fmt: skip
    compile_and_check(model, [w(1, 3, 5, 7)])


def test_upsample_opset9_nearest_and_resize10_linear():
    up = single("Upsample", [1, 2, 3, 4], None, 9, [init("scales", np.array([1, 1, 2, 3], np.float32))], ["scales"])
    compile_and_check(up, [w(1, 2, 3, 4)])
    rs = single("Resize", [1, 2, 3, 4], None, 10, [init("scales", np.array([1, 1, 2.5, 1.5], np.float32))], ["scales"],
                mode="linear")  # fmt: skip
    compile_and_check(rs, [w(1, 2, 3, 4)])


# -- other layers ---------------------------------------------------------------------------------
def test_conv_transpose_output_padding_and_same_conv():
    nodes = [
        helper.make_node("ConvTranspose", ["x", "up.w", "up.b"], ["u"], kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1], output_padding=[1, 1]),
        helper.make_node("Conv", ["u", "c.w"], ["y"], kernel_shape=[4, 4], strides=[2, 2], auto_pad="SAME_UPPER"),
    ]  # fmt: skip
    inits = [init("up.w", w(4, 3, 3, 3)), init("up.b", w(3)), init("c.w", w(5, 3, 4, 4))]
    model = make_model(nodes, [vi("x", shape=[1, 4, 5, 6])], [vi("y", shape=None)], inits, opset=11)
    compile_and_check(model, [w(1, 4, 5, 6)])


def test_maxpool_indices_output():
    outputs = [vi("y", shape=None), vi("i", TensorProto.INT64, None)]
    model = single("MaxPool", [2, 3, 6, 7], None, 12, outputs=outputs, kernel_shape=[2, 2], strides=[2, 2],
                   pads=[0, 0, 1, 1], storage_order=1)  # fmt: skip
    compile_and_check(model, [w(2, 3, 6, 7)])


@pytest.mark.parametrize(("op", "attrs"), [("DepthToSpace", {"mode": "DCR"}), ("DepthToSpace", {"mode": "CRD"}),
                                           ("SpaceToDepth", {})])  # fmt: skip
def test_depth_space_rearrangements(op, attrs):
    compile_and_check(single(op, [2, 8, 4, 6], None, 13, blocksize=2, **attrs), [w(2, 8, 4, 6)])


@pytest.mark.parametrize(
    ("op", "opset", "attrs"),
    [("InstanceNormalization", 6, {}), ("GroupNormalization", 21, {"num_groups": 2}),
     ("MeanVarianceNormalization", 9, {}), ("LpNormalization", 1, {"axis": 1, "p": 1})],
)  # fmt: skip
def test_normalizations(op, opset, attrs):
    inits = [init("s", w(4)), init("b", w(4))] if op in ("InstanceNormalization", "GroupNormalization") else []
    model = single(op, [2, 4, 3, 5], [2, 4, 3, 5], opset, inits, [i.name for i in inits], **attrs)
    compile_and_check(model, [w(2, 4, 3, 5)])


@pytest.mark.parametrize(
    ("op", "opset", "attrs"),
    [("LeakyRelu", 6, {"alpha": 0.1}), ("Elu", 6, {}), ("Selu", 6, {}), ("HardSigmoid", 6, {}),
     ("Softplus", 1, {}), ("Softsign", 1, {}), ("ThresholdedRelu", 10, {"alpha": 0.5}),
     ("Shrink", 9, {"lambd": 0.4, "bias": 0.1}), ("Celu", 12, {"alpha": 2.0}), ("HardSwish", 14, {}),
     ("Mish", 18, {}), ("Gelu", 20, {"approximate": "tanh"})],
)  # fmt: skip
def test_activations(op, opset, attrs):
    compile_and_check(single(op, [3, 7], None, opset, **attrs), [w(3, 7) * 3])


def test_prelu_broadcast_slope():
    model = single("PRelu", [2, 4, 3, 3], None, 9, [init("slope", w(4, 1, 1))], ["slope"])
    compile_and_check(model, [w(2, 4, 3, 3)])


def test_dropout_opset13_mask_is_all_true():
    outputs = [vi("y", shape=None), vi("mask", TensorProto.BOOL, None)]
    model = single("Dropout", [2, 5], None, 13, [init("ratio", np.array(0.3, np.float32))], ["ratio"], outputs)
    compile_and_check(model, [w(2, 5)])
