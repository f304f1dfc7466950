"""Ramiel runtime: worker pool, shared-memory tensors, ParallelSession (never imports Textual).

Names are imported on first use: a worker process imports ``runtime.worker`` alone and,
with the onnxruntime backend, never loads torch.
"""

from core.lazy import lazy_getattr

_EXPORTS = {
    "ParallelSession": "runtime.session",
    "WorkerDiedError": "runtime.pool",
    "WorkerRunError": "runtime.pool",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr("runtime", _EXPORTS)
