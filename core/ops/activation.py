"""Activations: Relu, Sigmoid, Tanh, LeakyRelu, Elu, Selu, Celu, HardSigmoid, HardSwish,
Softplus, Softsign, Mish, Gelu, PRelu, ThresholdedRelu, Shrink; Softmax family."""

from __future__ import annotations

from core.ops.base import NodeCtx
from core.ops.registry import register


@register("Relu")
def relu(ctx: NodeCtx) -> str:
    return f"torch.relu({ctx.x(0)})"


@register("Sigmoid")
def sigmoid(ctx: NodeCtx) -> str:
    return f"torch.sigmoid({ctx.x(0)})"


@register("Tanh")
def tanh(ctx: NodeCtx) -> str:
    return f"torch.tanh({ctx.x(0)})"
