"""Reductions (Reduce*, ArgMax/ArgMin), TopK, CumSum."""

from __future__ import annotations
