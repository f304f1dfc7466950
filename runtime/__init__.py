"""Ramiel runtime: worker pool, shared-memory tensors, ParallelSession (never imports Textual)."""

from runtime.pool import WorkerDiedError, WorkerRunError
from runtime.session import ParallelSession

__all__ = ["ParallelSession", "WorkerDiedError", "WorkerRunError"]
