"""YOLOv5s (v6.0+ layout) in plain torch, for the benchmark zoo (``build_zoo.py --only yolov5s``).

The architecture follows ultralytics/yolov5 ``models/yolov5s.yaml`` (v6.0 and later):
depth multiple 0.33, width multiple 0.50, 80 classes, the default anchors. Modules as in
``models/common.py``: ``Conv`` (Conv2d without bias + BatchNorm2d(eps=1e-3) + SiLU), ``C3``
(CSP bottleneck with three convolutions), ``SPPF`` (three chained 5x5 max pools), and the
FPN/PAN neck with nearest 2x upsampling; ``Detect`` applies one 1x1 convolution per level
(P3/8, P4/16, P5/32) and decodes the boxes as yolov5 does in inference mode (sigmoid,
grid offsets, anchors), returning the concatenated raw predictions ``(1, 25200, 85)`` for a
640x640 input: no NMS, no thresholding. Weights are random; nothing is downloaded.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ANCHORS = (
    (10, 13, 16, 30, 33, 23),  # P3/8
    (30, 61, 62, 45, 59, 119),  # P4/16
    (116, 90, 156, 198, 373, 326),  # P5/32
)
STRIDES = (8, 16, 32)


def _ch(c: int, width: float) -> int:
    """yolov5's make_divisible(c * width, 8)."""
    return int(math.ceil(c * width / 8) * 8)


def _n(n: int, depth: float) -> int:
    return max(round(n * depth), 1) if n > 1 else n


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1: int, c2: int, shortcut: bool = True, e: float = 1.0):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_, c2, 3, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, e: float = 0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class Detect(nn.Module):
    def __init__(self, nc: int, ch: tuple[int, ...], size: int):
        super().__init__()
        self.nc, self.no, self.na = nc, nc + 5, len(ANCHORS[0]) // 2
        self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in ch)
        for i, (conv, s) in enumerate(zip(self.m, STRIDES, strict=True)):
            # yolov5's Model._initialize_biases: objectness and class priors
            b = conv.bias.data.view(self.na, -1)
            b[:, 4] += math.log(8 / (640 / s) ** 2)
            b[:, 5:] += math.log(0.6 / (nc - 0.99))
            ny = nx = size // s
            yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            grid = torch.stack((xv, yv), 2).expand(1, self.na, ny, nx, 2).float() - 0.5
            anchors = torch.tensor(ANCHORS[i], dtype=torch.float32).view(1, self.na, 1, 1, 2)
            self.register_buffer(f"grid{i}", grid.contiguous())
            self.register_buffer(f"anchor_grid{i}", anchors.expand(1, self.na, ny, nx, 2).contiguous())

    def forward(self, xs):
        z = []
        for i, (conv, s) in enumerate(zip(self.m, STRIDES, strict=True)):
            x = conv(xs[i])
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            xy, wh, conf = x.sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + getattr(self, f"grid{i}")) * s
            wh = (wh * 2) ** 2 * getattr(self, f"anchor_grid{i}")
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1)


class YOLOv5(nn.Module):
    """yolov5{n,s,m,l,x} by (depth, width); yolov5s is depth 0.33, width 0.50."""

    def __init__(self, depth: float = 0.33, width: float = 0.50, nc: int = 80, size: int = 640):
        super().__init__()
        c = {k: _ch(k, width) for k in (64, 128, 256, 512, 1024)}
        d = {k: _n(k, depth) for k in (3, 6, 9)}
        # backbone
        self.b0 = Conv(3, c[64], 6, 2, 2)  # P1/2
        self.b1 = Conv(c[64], c[128], 3, 2)  # P2/4
        self.b2 = C3(c[128], c[128], d[3])
        self.b3 = Conv(c[128], c[256], 3, 2)  # P3/8
        self.b4 = C3(c[256], c[256], d[6])
        self.b5 = Conv(c[256], c[512], 3, 2)  # P4/16
        self.b6 = C3(c[512], c[512], d[9])
        self.b7 = Conv(c[512], c[1024], 3, 2)  # P5/32
        self.b8 = C3(c[1024], c[1024], d[3])
        self.b9 = SPPF(c[1024], c[1024], 5)
        # head: FPN top-down, then PAN bottom-up
        self.h10 = Conv(c[1024], c[512], 1, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h13 = C3(c[512] * 2, c[512], d[3], shortcut=False)
        self.h14 = Conv(c[512], c[256], 1, 1)
        self.h17 = C3(c[256] * 2, c[256], d[3], shortcut=False)  # P3/8-small
        self.h18 = Conv(c[256], c[256], 3, 2)
        self.h20 = C3(c[256] * 2, c[512], d[3], shortcut=False)  # P4/16-medium
        self.h21 = Conv(c[512], c[512], 3, 2)
        self.h23 = C3(c[512] * 2, c[1024], d[3], shortcut=False)  # P5/32-large
        self.detect = Detect(nc, (c[256], c[512], c[1024]), size)

    def forward(self, x):
        x = self.b2(self.b1(self.b0(x)))
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        x10 = self.h10(self.b9(self.b8(self.b7(p4))))
        x14 = self.h14(self.h13(torch.cat((self.up(x10), p4), 1)))
        x17 = self.h17(torch.cat((self.up(x14), p3), 1))
        x20 = self.h20(torch.cat((self.h18(x17), x14), 1))
        x23 = self.h23(torch.cat((self.h21(x20), x10), 1))
        return self.detect((x17, x20, x23))


def yolov5s(size: int = 640) -> YOLOv5:
    return YOLOv5(depth=0.33, width=0.50, nc=80, size=size)
