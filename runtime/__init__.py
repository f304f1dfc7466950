"""Ramiel runtime: worker pool, shared-memory tensors, ParallelSession (no Textual)."""
