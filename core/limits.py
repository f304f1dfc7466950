"""Limits on what a model file may ask for, checked before anything is allocated.

A model is untrusted input: a 2^40-element ``Constant`` or a sparse tensor with a huge
dense shape must end in a one-line error, not in an allocation that takes the machine down.

``RAMIEL_MAX_TENSOR_BYTES`` (default 4 GiB) caps any one tensor whose shape is known:
initializers, constants, graph inputs and outputs and every inferred intermediate.
``RAMIEL_MAX_NODES`` (default 100,000) caps the operator count.
"""

from __future__ import annotations

import os

import numpy as np

from core.errors import ModelLoadError

DEFAULT_MAX_TENSOR_BYTES = 4 << 30
DEFAULT_MAX_NODES = 100_000


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def max_tensor_bytes() -> int:
    return _env_int("RAMIEL_MAX_TENSOR_BYTES", DEFAULT_MAX_TENSOR_BYTES)


def max_nodes() -> int:
    return _env_int("RAMIEL_MAX_NODES", DEFAULT_MAX_NODES)


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def check_tensor_size(what: str, name: str, dims, itemsize: int) -> None:
    """Raise :class:`ModelLoadError` if a tensor of ``dims`` would not fit the limit (or has a negative dim).

    Python integers: no overflow whatever the dims say."""
    numel = 1
    spread = 1  # the product with zeros left out: numpy refuses a [0, 2^62] array too
    for d in dims:
        d = int(d)
        if d < 0:
            raise ModelLoadError(f"{what} {name!r} has a negative dimension in shape {list(map(int, dims))}")
        numel *= d
        spread *= max(d, 1)
    item = max(1, int(itemsize))
    limit = max_tensor_bytes()
    shape = "x".join(str(int(d)) for d in dims)
    if numel * item > limit:
        raise ModelLoadError(
            f"{what} {name!r} of shape {shape} would need {human_bytes(numel * item)}, more than the "
            f"{human_bytes(limit)} limit (RAMIEL_MAX_TENSOR_BYTES)"
        )
    if spread * item > limit:
        raise ModelLoadError(
            f"{what} {name!r} of shape {shape} is empty but its other dimensions would need "
            f"{human_bytes(spread * item)}, more than the {human_bytes(limit)} limit (RAMIEL_MAX_TENSOR_BYTES)"
        )


def itemsize_of(elem_type: int) -> int:
    """Bytes per element of an ONNX element type (1 where numpy has no such type, e.g. strings)."""
    import onnx

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).itemsize
    except (KeyError, TypeError, ValueError):
        return 1


def check_node_count(count: int, where: str) -> None:
    limit = max_nodes()
    if count > limit:
        raise ModelLoadError(f"{where} has {count:,} nodes, more than the {limit:,} limit (RAMIEL_MAX_NODES)")
