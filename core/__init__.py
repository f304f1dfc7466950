"""Ramiel core: the compiler. Loads ONNX, builds the graph, analyses it, emits code.

No Textual, no processes here. Names are imported on first use, so that a worker
process that only needs ``core.errors`` does not pay for torch.
"""

import importlib

_EXPORTS = {
    "GeneratedModule": "core.codegen",
    "generate_serial": "core.codegen",
    "run_module": "core.codegen",
    "InputFeedError": "core.errors",
    "ModelLoadError": "core.errors",
    "RamielError": "core.errors",
    "UnsupportedOpError": "core.errors",
    "Graph": "core.graph",
    "Node": "core.graph",
    "TensorInfo": "core.graph",
    "load_model": "core.onnx_io",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
