"""Ramiel runtime: worker pool, shared-memory tensors, ParallelSession (never imports Textual).

Names are imported on first use: a worker process imports ``runtime.worker`` alone and,
with the onnxruntime backend, never loads torch.
"""

import importlib

_EXPORTS = {
    "ParallelSession": "runtime.session",
    "WorkerDiedError": "runtime.pool",
    "WorkerRunError": "runtime.pool",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
