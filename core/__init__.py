"""Ramiel core: the compiler. Loads ONNX, builds the graph, analyses it, emits code.

No Textual, no processes here. Names are imported on first use, so that a worker
process that only needs ``core.errors`` does not pay for torch.
"""

from core.lazy import lazy_getattr

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

__getattr__ = lazy_getattr("core", _EXPORTS)
