"""Build the small sample models shipped with Ramiel TUI (plain torch, no torchvision).

    python sample_models/build_samples.py              # (re)build every sample into sample_models/
    python sample_models/build_samples.py --measure    # also time inception_mini's branches (1 thread)
    python sample_models/build_samples.py --only chain_mini --out /tmp/samples

Every model is built from a fixed seed, in eval mode, batch 1, and exported with the
legacy TorchScript exporter: ``torch.onnx.export(..., dynamo=False, opset_version=17)``
(it works with the project's torch 2.13 as is, no extra package). Rebuilding gives the
same bytes with the same torch version. The checked-in files total well under 5 MB.

Models:

- ``inception_mini.onnx``: the default demo model. A stride-2 stem down to 96x64x64,
  three inception-style blocks of four branches each (1x1; 1x1 -> 3x3;
  1x1 -> 3x3 -> 3x3; pool -> 1x1, a max pool as in GoogLeNet in the first block and
  an average pool as in Inception-v3 in the others), concatenated to 128 channels,
  then global average pool + linear. Few channels (16-64 per branch) at a large
  spatial size, so every branch costs a millisecond or more on one core
  (``--measure`` prints them) while the file stays small: where parallelism pays.
- ``chain_mini.onnx``: a plain conv/bn/relu chain, no branches: where it cannot pay.
- ``two_io.onnx``: two inputs and two outputs; each input is read directly by the node
  that produces an output, and the first output is also consumed inside the graph.
- ``transformer_mini.onnx``: a tiny transformer encoder (2 layers, hidden 64, 4 heads,
  sequence 16) with an attention mask: Gather (embedding), MatMul, Split (fused QKV),
  Transpose, Softmax, Where/Expand/Equal (mask), Erf (exact GELU),
  LayerNormalization (layer 0) and a hand-written layer norm with
  ReduceMean/Pow/Sqrt (layer 1), Slice/Squeeze and a Tanh pooler.
- ``detector_mini.onnx``: a tiny detector: backbone, FPN-like top-down path with
  nearest 2x upsampling (Resize), three heads with Sigmoid/Slice/Mul/Concat decoding.
- ``nasnet_cell_mini.onnx``: NASNet-style cells (separable convs, many branches,
  avg/max pools) with timm-style dynamic "same" padding, so the export has the
  Shape/Gather/Div/Ceil/Sub/Cast/ConstantOfShape/Pad chains that NASNet-A Large has.

``bert_mini.onnx`` (a 2-layer transformers ``BertModel``) is not built here: it needs the
transformers package, so ``build_zoo.py --samples`` builds it from the zoo virtualenv.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
OPSET = 17
SEED = 0


# ============================================================================================
# inception_mini
# ============================================================================================
class ConvReLU(nn.Sequential):
    """Conv + BatchNorm + ReLU (the exporter folds the BatchNorm into the Conv)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=False),
        )


class InceptionBlock(nn.Module):
    """Four parallel branches, concatenated along channels."""

    def __init__(
        self, cin: int, c1: int, c2r: int, c2: int, c3r: int, c3m: int, c3: int, c4: int, pool: str = "avg"
    ) -> None:
        super().__init__()
        self.branch1 = ConvReLU(cin, c1, 1)
        self.branch2 = nn.Sequential(ConvReLU(cin, c2r, 1), ConvReLU(c2r, c2, 3))
        self.branch3 = nn.Sequential(ConvReLU(cin, c3r, 1), ConvReLU(c3r, c3m, 3), ConvReLU(c3m, c3, 3))
        if pool == "max":  # GoogLeNet's pool branch
            pool_layer: nn.Module = nn.MaxPool2d(3, stride=1, padding=1)
        else:  # Inception-v3's pool branch
            pool_layer = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.branch4 = nn.Sequential(pool_layer, ConvReLU(cin, c4, 1))

    @property
    def branches(self) -> list[nn.Module]:
        return [self.branch1, self.branch2, self.branch3, self.branch4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


class InceptionMini(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 128, stem: int = 96) -> None:
        super().__init__()
        # 3x128x128 -> stem x 64x64; every block: width in (stem for the first), width out
        self.stem = ConvReLU(3, stem, 3, stride=2)
        # (1x1, 1x1 -> 3x3, 1x1 -> 3x3 -> 3x3, pool -> 1x1) channels; the first block's 1x1
        # branch is wider so that it too costs about 1 ms with the narrower stem input
        first = dict(c1=80, c2r=48, c2=16, c3r=24, c3m=24, c3=16, c4=16)
        rest = dict(c1=64, c2r=48, c2=32, c3r=24, c3m=24, c3=16, c4=16)
        for cfg in (first, rest):
            assert sum(cfg[k] for k in ("c1", "c2", "c3", "c4")) == width
        self.blocks = nn.Sequential(
            InceptionBlock(stem, **first, pool="max"),
            InceptionBlock(width, **rest),
            InceptionBlock(width, **rest),
        )
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


# ============================================================================================
# chain_mini
# ============================================================================================
class ChainMini(nn.Module):
    """A straight conv/bn/relu stack: no two nodes can run at the same time."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        chans = [3, 16, 32, 32, 48, 48, 64]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans, chans[1:], strict=False)):
            layers.append(ConvReLU(a, b, 3, stride=2 if i in (0, 2, 4) else 1))
        # one BatchNorm after the ReLU, which the exporter cannot fold into a Conv
        layers.append(nn.BatchNorm2d(chans[-1]))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(chans[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ============================================================================================
# two_io
# ============================================================================================
class TwoIO(nn.Module):
    """features = relu(conv(x)) + x;  summary = mean(features) * scale + conv2(features) pooled.

    ``x`` feeds the Add that produces output ``features`` directly; ``scale`` feeds the
    Mul on the way to output ``summary``; ``features`` is an output and also consumed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.relu(self.conv(x)) + x
        pooled = features.mean(dim=(2, 3))
        other = self.conv2(features).amax(dim=(2, 3))
        summary = pooled * scale + other
        return features, summary


# ============================================================================================
# transformer_mini
# ============================================================================================
class HandLayerNorm(nn.Module):
    """Layer norm written out, so the export has ReduceMean/Sub/Pow/Add/Sqrt/Div."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(-1, keepdim=True)
        var = (x - mean).pow(2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ff: int, hand_norm: bool) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ff1 = nn.Linear(dim, ff)
        self.ff2 = nn.Linear(ff, dim)
        norm = HandLayerNorm if hand_norm else nn.LayerNorm
        self.norm1 = norm(dim)
        self.norm2 = norm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)  # Split

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, s, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(q), heads(k), heads(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(mask, -1e4)  # Where
        attn = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, d)
        x = self.norm1(x + self.proj(ctx))
        h = self.ff2(F.gelu(self.ff1(x)))  # exact GELU -> Erf
        return self.norm2(x + h)


class TransformerMini(nn.Module):
    def __init__(self, vocab: int = 100, dim: int = 64, heads: int = 4, layers: int = 2, seq: int = 16) -> None:
        super().__init__()
        self.heads = heads
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, seq, dim) * 0.02)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, 2 * dim, hand_norm=(i == 1)) for i in range(layers))
        self.pool = nn.Linear(dim, dim)
        self.classifier = nn.Linear(dim, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, s = input_ids.shape
        x = self.tok(input_ids) + self.pos  # Gather
        # (b, s) -> (b, 1, 1, s) -> (b, heads, s, s); True where attention is masked out
        mask = (attention_mask == 0).unsqueeze(1).unsqueeze(2).expand(b, self.heads, s, s)
        for layer in self.layers:
            x = layer(x, mask)
        first = x[:, :1, :].squeeze(1)  # Slice + Squeeze
        pooled = torch.tanh(self.pool(first))
        return x, self.classifier(pooled)


# ============================================================================================
# detector_mini
# ============================================================================================
class DetectorMini(nn.Module):
    """Backbone C3/C4/C5, top-down FPN with nearest 2x upsampling, one head per level."""

    def __init__(self, num_classes: int = 4, anchors: int = 2, fpn: int = 32) -> None:
        super().__init__()
        self.na = anchors
        self.no = 5 + num_classes  # x, y, w, h, objectness, classes
        self.stem = ConvReLU(3, 16, 3, stride=2)  # 32
        self.c3 = nn.Sequential(ConvReLU(16, 32, 3, stride=2), ConvReLU(32, 32, 3))  # 16
        self.c4 = nn.Sequential(ConvReLU(32, 48, 3, stride=2), ConvReLU(48, 48, 3))  # 8
        self.c5 = nn.Sequential(ConvReLU(48, 64, 3, stride=2), ConvReLU(64, 64, 3))  # 4
        self.lat3 = nn.Conv2d(32, fpn, 1)
        self.lat4 = nn.Conv2d(48, fpn, 1)
        self.lat5 = nn.Conv2d(64, fpn, 1)
        self.smooth = nn.ModuleList(ConvReLU(fpn, fpn, 3) for _ in range(3))
        self.heads = nn.ModuleList(nn.Conv2d(fpn, anchors * self.no, 1) for _ in range(3))
        self.strides = (8.0, 16.0, 32.0)

    def decode(self, p: torch.Tensor, stride: float) -> torch.Tensor:
        b, _, h, w = p.shape
        p = p.reshape(b, self.na, self.no, h, w).permute(0, 1, 3, 4, 2).sigmoid()  # Sigmoid
        xy = (p[..., 0:2] * 2.0 - 0.5) * stride  # Slice, Mul, Sub
        wh = (p[..., 2:4] * 2.0) ** 2 * stride
        rest = p[..., 4:]
        return torch.cat([xy, wh, rest], dim=-1).reshape(b, -1, self.no)  # Concat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c3 = self.c3(self.stem(x))
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p5 = self.lat5(c5)
        p4 = self.lat4(c4) + F.interpolate(p5, scale_factor=2, mode="nearest")  # Resize
        p3 = self.lat3(c3) + F.interpolate(p4, scale_factor=2, mode="nearest")
        outs = []
        for p, smooth, head, stride in zip((p3, p4, p5), self.smooth, self.heads, self.strides, strict=True):
            outs.append(self.decode(head(smooth(p)), stride))
        return torch.cat(outs, dim=1)


# ============================================================================================
# nasnet_cell_mini
# ============================================================================================
# timm's dynamic TF-style "same" padding (timm/layers/padding.py, Apache-2.0). Under the
# tracing exporter the sizes are tensors, which gives Shape/Gather/Div/Ceil/... chains.
def get_same_padding(x, kernel_size: int, stride: int, dilation: int):
    if isinstance(x, torch.Tensor):
        return torch.clamp(((x / stride).ceil() - 1) * stride + (kernel_size - 1) * dilation + 1 - x, min=0)
    return max((math.ceil(x / stride) - 1) * stride + (kernel_size - 1) * dilation + 1 - x, 0)


def pad_same(x: torch.Tensor, kernel_size: int, stride: int, value: float = 0.0) -> torch.Tensor:
    ih, iw = x.size()[-2:]
    pad_h = get_same_padding(ih, kernel_size, stride, 1)
    pad_w = get_same_padding(iw, kernel_size, stride, 1)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=value)


class Conv2dSame(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_same(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MaxPool2dSame(nn.Module):
    def __init__(self, k: int, stride: int) -> None:
        super().__init__()
        self.k, self.stride = k, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(pad_same(x, self.k, self.stride, value=-float("inf")), self.k, self.stride)


class AvgPool2dSame(nn.Module):
    def __init__(self, k: int, stride: int) -> None:
        super().__init__()
        self.k, self.stride = k, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(pad_same(x, self.k, self.stride), self.k, self.stride)


def conv_same(cin: int, cout: int, k: int, stride: int, groups: int = 1) -> nn.Conv2d:
    """Static padding where it can be (stride 1, odd kernel), dynamic otherwise, as timm does."""
    if stride == 1 and k % 2 == 1:
        return nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False)
    return Conv2dSame(cin, cout, k, stride, padding=0, groups=groups, bias=False)


class SeparableConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int) -> None:
        super().__init__()
        self.depthwise = conv_same(cin, cin, k, stride, groups=cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class BranchSeparables(nn.Module):
    """relu -> sep(k, stride) -> bn -> relu -> sep(k, 1) -> bn, as in NASNet."""

    def __init__(self, cin: int, cout: int, k: int, stride: int) -> None:
        super().__init__()
        self.sep1 = SeparableConv(cin, cin, k, stride)
        self.bn1 = nn.BatchNorm2d(cin)
        self.sep2 = SeparableConv(cin, cout, k, 1)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.sep1(torch.relu(x)))
        return self.bn2(self.sep2(torch.relu(x)))


class ActConvBn(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class ReductionCell(nn.Module):
    """Stride-2 cell: separable 5x5/7x7, same-padded max/avg pools, five combinations."""

    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.conv_1x1 = ActConvBn(cin, c)
        self.comb_iter_0_left = BranchSeparables(c, c, 5, 2)
        self.comb_iter_0_right = BranchSeparables(c, c, 7, 2)
        self.comb_iter_1_left = MaxPool2dSame(3, 2)
        self.comb_iter_1_right = BranchSeparables(c, c, 7, 2)
        self.comb_iter_2_left = AvgPool2dSame(3, 2)
        self.comb_iter_2_right = BranchSeparables(c, c, 5, 2)
        self.comb_iter_3_right = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.comb_iter_4_left = BranchSeparables(c, c, 3, 1)
        self.comb_iter_4_right = MaxPool2dSame(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_1x1(x)
        c0 = self.comb_iter_0_left(x) + self.comb_iter_0_right(x)
        c1 = self.comb_iter_1_left(x) + self.comb_iter_1_right(x)
        c2 = self.comb_iter_2_left(x) + self.comb_iter_2_right(x)
        c3 = self.comb_iter_3_right(c0) + c1
        c4 = self.comb_iter_4_left(c0) + self.comb_iter_4_right(x)
        return torch.cat([c1, c2, c3, c4], 1)


class NormalCell(nn.Module):
    """Stride-1 cell with two inputs (this and the previous cell's output)."""

    def __init__(self, cin: int, cin_prev: int, c: int) -> None:
        super().__init__()
        self.conv_1x1 = ActConvBn(cin, c)
        self.conv_prev_1x1 = ActConvBn(cin_prev, c)
        self.comb_iter_0_left = BranchSeparables(c, c, 5, 1)
        self.comb_iter_0_right = BranchSeparables(c, c, 3, 1)
        self.comb_iter_1_left = BranchSeparables(c, c, 5, 1)
        self.comb_iter_1_right = BranchSeparables(c, c, 3, 1)
        self.comb_iter_2_left = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.comb_iter_3_left = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.comb_iter_3_right = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.comb_iter_4_left = BranchSeparables(c, c, 3, 1)

    def forward(self, x: torch.Tensor, x_prev: torch.Tensor) -> torch.Tensor:
        right = self.conv_1x1(x)
        left = self.conv_prev_1x1(x_prev)
        c0 = self.comb_iter_0_left(right) + self.comb_iter_0_right(left)
        c1 = self.comb_iter_1_left(left) + self.comb_iter_1_right(left)
        c2 = self.comb_iter_2_left(right) + left
        c3 = self.comb_iter_3_left(left) + self.comb_iter_3_right(left)
        c4 = self.comb_iter_4_left(right) + right
        return torch.cat([left, c0, c1, c2, c3, c4], 1)


class NasnetCellMini(nn.Module):
    def __init__(self, num_classes: int = 10, c: int = 16) -> None:
        super().__init__()
        # 3x66x66 -> 24x33x33 (odd, so "same" padding is asymmetric after it)
        self.stem = nn.Sequential(Conv2dSame(3, 24, 3, 2, bias=False), nn.BatchNorm2d(24))
        self.reduce = ReductionCell(24, c)  # -> 4c x 17x17
        self.skip = nn.Sequential(nn.ReLU(), nn.AvgPool2d(1, stride=2), nn.Conv2d(24, c, 1, bias=False))  # prev path
        self.normal = NormalCell(4 * c, c, c)  # -> 6c x 17x17
        self.fc = nn.Linear(6 * c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        r = self.reduce(s)
        n = self.normal(r, self.skip(s))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(torch.relu(n), 1), 1))


# ============================================================================================
# building
# ============================================================================================
def _seeded(factory: Callable[[], nn.Module], seed: int, make_args: Callable[[], tuple] | None = None) -> nn.Module:
    """Build under a fixed seed, in eval mode, with calibrated BatchNorm statistics.

    Each BatchNorm gets a random affine part and running statistics measured on a few
    random inputs (``make_args``), so normalised activations stay O(1) through the
    network instead of shrinking layer by layer and the outputs depend on the features,
    not only on the last bias: a wrong converter shows up in the comparison.
    """
    torch.manual_seed(seed)
    model = factory()
    gen = torch.Generator().manual_seed(seed + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
        if bns and make_args is not None:
            model.eval()
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
                m.train()
            state = torch.get_rng_state()
            torch.manual_seed(seed + 2)
            for _ in range(2):
                batch = [make_args() for _ in range(4)]
                model(*(torch.cat(parts) for parts in zip(*batch, strict=True)))
            torch.set_rng_state(state)
            for m in bns:
                m.momentum = 0.1
    return model.eval()


def _ids_and_mask() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, 100, (1, 16), generator=gen)
    mask = torch.ones(1, 16, dtype=torch.int64)
    mask[:, 12:] = 0
    return ids, mask


# name -> (factory, example inputs, input names, output names, description)
SAMPLES: dict[str, tuple] = {
    "inception_mini": (
        InceptionMini,
        lambda: (torch.rand(1, 3, 128, 128),),
        ["input"],
        ["logits"],
        "default demo: stem + 4 inception blocks x 4 branches at 64x64",
    ),
    "chain_mini": (ChainMini, lambda: (torch.rand(1, 3, 64, 64),), ["input"], ["logits"], "plain conv chain"),
    "two_io": (
        TwoIO,
        lambda: (torch.rand(1, 8, 16, 16), torch.rand(1, 8)),
        ["x", "scale"],
        ["features", "summary"],
        "two inputs, two outputs, an output consumed inside",
    ),
    "transformer_mini": (
        TransformerMini,
        _ids_and_mask,
        ["input_ids", "attention_mask"],
        ["last_hidden_state", "logits"],
        "2-layer transformer encoder with attention mask",
    ),
    "detector_mini": (DetectorMini, lambda: (torch.rand(1, 3, 64, 64),), ["images"], ["detections"], "FPN detector"),
    "nasnet_cell_mini": (
        NasnetCellMini,
        lambda: (torch.rand(1, 3, 66, 66),),
        ["input"],
        ["logits"],
        "NASNet-style cells with dynamic same padding",
    ),
}


def export_bytes(model: nn.Module, args: tuple, input_names: list[str], output_names: list[str]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        torch.onnx.export(
            model,
            args,
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=input_names,
            output_names=output_names,
            do_constant_folding=True,
        )
    return buf.getvalue()


def build(name: str, out_dir: Path) -> Path:
    factory, make_args, input_names, output_names, _ = SAMPLES[name]
    torch.manual_seed(SEED)
    args = make_args()
    model = _seeded(factory, SEED, make_args)
    with torch.no_grad():
        data = export_bytes(model, args, input_names, output_names)
    path = out_dir / f"{name}.onnx"
    path.write_bytes(data)
    return path


def describe(path: Path) -> str:
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    hist = Counter(n.op_type for n in model.graph.node)
    ops_text = ", ".join(f"{op} {k}" for op, k in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])))
    params = sum(math.prod(t.dims) for t in model.graph.initializer)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    ins = ", ".join(f"{i.name}{[d.dim_value for d in i.type.tensor_type.shape.dim]}" for i in model.graph.input)
    return (
        f"{path.name}: {path.stat().st_size / 1024:.1f} KiB, {len(model.graph.node)} nodes, "
        f"{params} parameters, sha256 {digest}\n  inputs: {ins}\n  ops: {ops_text}"
    )


def check_with_ort(path: Path) -> float:
    """Max abs difference between torch (re-built) and ONNX Runtime on the example inputs."""
    import numpy as np
    import onnxruntime as ort

    name = path.stem
    factory, make_args, input_names, _, _ = SAMPLES[name]
    torch.manual_seed(SEED)
    args = make_args()
    model = _seeded(factory, SEED, make_args)
    with torch.no_grad():
        ref = model(*args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: a.numpy() for n, a in zip(input_names, args, strict=True)})
    return max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, ref, strict=True))


# ============================================================================================
# measuring inception_mini's branches
# ============================================================================================
def _time_ms(fn: Callable[[], object], repeats: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def measure_inception(repeats: int = 30) -> dict:
    """Time every branch of every block: eager torch, one thread, NCHW; median and min.

    The machine may be shared, so each branch is timed in its own loop and the minimum
    is printed beside the median. Returns the figures (ms) as a dict.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = _seeded(InceptionMini, SEED, SAMPLES["inception_mini"][1])
        torch.manual_seed(SEED)
        (x,) = SAMPLES["inception_mini"][1]()
        with torch.no_grad():
            whole = _time_ms(lambda: model(x), repeats)
            stem = _time_ms(lambda: model.stem(x), repeats)
            h = model.stem(x)
            print(
                f"inception_mini, eager torch, 1 thread, {repeats} runs, median (min) ms: "
                f"whole model {statistics.median(whole):.2f} ({min(whole):.2f}), "
                f"stem {statistics.median(stem):.2f} ({min(stem):.2f})"
            )
            figures: dict = {"whole": statistics.median(whole), "stem": statistics.median(stem), "blocks": []}
            work = critical = statistics.median(stem)
            for i, block in enumerate(model.blocks):
                runs = [_time_ms(lambda b=b, h=h: b(h), repeats) for b in block.branches]
                med = [statistics.median(r) for r in runs]
                shape = "x".join(str(d) for d in h.shape[1:])
                pool = type(block.branch4[0]).__name__
                print(
                    f"  block {i} (in {shape}, {pool}): branches 1x1 / 1x1-3x3 / 1x1-3x3-3x3 / pool-1x1: "
                    + ", ".join(f"{m:.2f} ({min(r):.2f})" for m, r in zip(med, runs, strict=True))
                    + f"; sum {sum(med):.2f}, max {max(med):.2f}"
                )
                figures["blocks"].append(med)
                work += sum(med)
                critical += max(med)
                h = block(h)
            print(
                f"  branches+stem: W {work:.2f} ms, longest path CP {critical:.2f} ms, W/CP {work / critical:.2f}; "
                f"ideal 2-worker speedup {min(2.0, work / critical):.2f}x before overheads"
            )
            short = [(i, j + 1) for i, med in enumerate(figures["blocks"]) for j, m in enumerate(med) if m < 1.0]
            if short:
                print(f"  warning: branches under 1 ms (block, branch): {short}")
            return figures
    finally:
        torch.set_num_threads(threads)


def measure_inception_ort(path: Path, runs: int = 30) -> None:
    """Per-branch times of inception_mini from ONNX Runtime's profiler (1 thread, full graph
    optimisation): the cost model's preferred source, where pooling is cheap."""
    import json
    import os
    import re
    import tempfile

    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.gettempdir(), f"inception_mini_profile_{os.getpid()}")
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(SEED).random((1, 3, 128, 128), dtype=np.float32)
    for _ in range(3):
        sess.run(None, {"input": x})
    t0 = time.perf_counter()
    for _ in range(runs):
        sess.run(None, {"input": x})
    whole = (time.perf_counter() - t0) * 1e3 / runs
    prof = sess.end_profiling()
    try:
        events = json.loads(Path(prof).read_text())
    finally:
        os.remove(prof)
    per: dict[tuple[int, int], float] = {}
    other = 0.0
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        m = re.search(r"blocks\.(\d+)/branch(\d)", e["name"])
        ms = e["dur"] / 1e3 / (runs + 3)
        if m:
            key = (int(m.group(1)), int(m.group(2)))
            per[key] = per.get(key, 0.0) + ms
        else:
            other += ms
    print(
        f"inception_mini, ONNX Runtime profiler, 1 thread, mean of {runs + 3} runs: "
        f"whole model {whole:.2f} ms (wall), outside the branches {other:.2f} ms"
    )
    blocks = sorted({b for b, _ in per})
    work, critical = other, other
    for b in blocks:
        med = [per.get((b, j), 0.0) for j in (1, 2, 3, 4)]
        print(
            f"  block {b}: branches "
            + ", ".join(f"{t:.2f}" for t in med)
            + f" ms; sum {sum(med):.2f}, max {max(med):.2f}"
        )
        work += sum(med)
        critical += max(med)
    print(f"  W {work:.2f} ms, CP {critical:.2f} ms, W/CP {work / critical:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: sample_models/)")
    ap.add_argument("--only", action="append", choices=sorted(SAMPLES), help="build only this model (repeatable)")
    ap.add_argument("--measure", action="store_true", help="time inception_mini's branches at 1 thread")
    ap.add_argument("--no-check", action="store_true", help="skip the torch-vs-ONNX-Runtime check")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in a.only or SAMPLES:
        path = build(name, a.out)
        total += path.stat().st_size
        print(describe(path))
        if not a.no_check:
            print(f"  torch vs onnxruntime: max abs diff {check_with_ort(path):.3g}")
    print(f"total {total / 1024:.1f} KiB")
    if total >= 5 * 1024 * 1024:
        print("error: the sample models total 5 MB or more", file=sys.stderr)
        return 1
    if a.measure:
        measure_inception()
        measure_inception_ort(a.out / "inception_mini.onnx")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
