"""Ramiel core: the compiler. Loads ONNX, builds the graph, analyses it, emits code.

No Textual, no processes here.
"""

from core.codegen import GeneratedModule, generate_serial, run_module
from core.errors import InputFeedError, ModelLoadError, RamielError, UnsupportedOpError
from core.graph import Graph, Node, TensorInfo
from core.onnx_io import load_model

__all__ = [
    "GeneratedModule",
    "Graph",
    "InputFeedError",
    "ModelLoadError",
    "Node",
    "RamielError",
    "TensorInfo",
    "UnsupportedOpError",
    "generate_serial",
    "load_model",
    "run_module",
]
