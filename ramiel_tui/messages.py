"""Every message the app's thread workers post back to the UI (small dataclasses, as in toolong).

Analysis messages carry the ``generation`` of the request that produced them: the app
drops those of a stale request (one that a newer toggle replaced).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from ramiel_tui.analysis import Analysis
    from ramiel_tui.execution import RunResult, RunUpdate


@dataclass
class AnalysisStarted(Message):
    generation: int
    path: str
    options: Any  # core.plan.PlanOptions


@dataclass
class AnalysisProgress(Message):
    generation: int
    stage: str
    step: int
    total: int


@dataclass
class AnalysisDone(Message):
    generation: int
    analysis: Analysis

    @property
    def final(self) -> bool:
        return self.analysis.final


@dataclass
class AnalysisFailed(Message):
    generation: int
    error: str


@dataclass
class RunStarted(Message):
    repeats: int
    workers: int


@dataclass
class RunProgress(Message):
    update: RunUpdate


@dataclass
class RunDone(Message):
    result: RunResult


@dataclass
class RunCancelled(Message):
    """Cancelled before any repeat finished: nothing to show."""


@dataclass
class RunFailed(Message):
    error: str


@dataclass
class ExportDone(Message):
    paths: list[str]


@dataclass
class ExportFailed(Message):
    error: str
