"""The compiler's front door: path or ModelProto in; graph, plan and generated code out."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from core.codegen import GeneratedModule, check_supported, generate_serial
from core.cost import CostModel
from core.graph import Graph
from core.onnx_io import load_model
from core.plan import Plan, PlanOptions, analyze


@dataclass
class Compiled:
    """Everything the compiler knows about one model."""

    source: str
    model: onnx.ModelProto  # as loaded (before the passes)
    input_graph: Graph  # as loaded
    plan: Plan
    serial: GeneratedModule
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def graph(self) -> Graph:
        """The graph after the passes (what the code computes)."""
        return self.plan.base_graph

    @property
    def module_name(self) -> str:
        return module_name_for(self.source)


def module_name_for(source: str) -> str:
    """A Python module name for a model path: ``models/Inception-v3.onnx`` → ``inception_v3``."""
    stem = Path(source).stem if source else "model"
    name = "".join(c if c.isalnum() else "_" for c in stem.lower()).strip("_") or "model"
    return name if not name[0].isdigit() else "m_" + name


def plan_model(
    source: str | os.PathLike | onnx.ModelProto, options: PlanOptions, cost: CostModel | None = None
) -> tuple[onnx.ModelProto, Graph, Plan]:
    """Load and check, run the passes and the analysis (no code generation)."""
    # With CP/DCE on, shapes are inferred on the folded model; the input graph needs none.
    model = load_model(source, infer_shapes=not options.cp_dce)
    input_graph = Graph.from_model(model)
    check_supported(input_graph)
    path = None if isinstance(source, onnx.ModelProto) else os.fspath(source)
    plan = analyze(model, options, cost, source=path)
    return model, input_graph, plan


def compile_model(
    source: str | os.PathLike | onnx.ModelProto, options: PlanOptions | None = None, cost: CostModel | None = None
) -> Compiled:
    """Load and check, run the passes and the analysis, emit the serial module."""
    options = options or PlanOptions()
    t0 = time.perf_counter()
    model, input_graph, plan = plan_model(source, options, cost)
    t2 = time.perf_counter()
    src = "" if isinstance(source, onnx.ModelProto) else os.fspath(source)
    serial = generate_serial(plan.base_graph, source_model=os.path.abspath(src) if src else "")
    t3 = time.perf_counter()
    timings = {"load_and_analysis": t2 - t0, "codegen": t3 - t2, **plan.timings_s}
    return Compiled(src, model, input_graph, plan, serial, timings)
