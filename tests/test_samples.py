"""The shipped sample models: generated serial code against ONNX Runtime.

Every ``sample_models/*.onnx`` is compiled to the serial module, run on random
feeds and compared with ONNX Runtime (rtol 1e-3, atol 1e-4). These run in CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import core
import core.verify

RTOL, ATOL = 1e-3, 1e-4
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "sample_models"
SAMPLES = sorted(SAMPLES_DIR.glob("*.onnx"))


@dataclass
class Comparison:
    """Outputs of the generated code and of ONNX Runtime for one model."""

    names: list[str]
    ours: list[np.ndarray]
    ort: list[np.ndarray]
    fallback_nodes: list[str] = field(default_factory=list)
    fallback_ops: list[str] = field(default_factory=list)

    def mismatches(
        self, rtol: float = RTOL, atol: float = ATOL, scale_atol: bool = False, atol_floor: list[float] | None = None
    ) -> list[str]:
        """Outputs that differ; with ``scale_atol`` the absolute tolerance grows with max |expected|,
        and ``atol_floor`` (one per output) is the least absolute tolerance."""
        bad = []
        floors = atol_floor or [0.0] * len(self.names)
        for name, a, e, floor in zip(self.names, self.ours, self.ort, floors, strict=True):
            tol = atol
            if scale_atol and np.size(e) and np.issubdtype(np.asarray(e).dtype, np.floating):
                tol = atol * max(1.0, float(np.nanmax(np.abs(np.where(np.isinf(e), 0, e)))))
            tol = max(tol, floor)
            if not core.verify.allclose(a, e, rtol=rtol, atol=tol):
                shapes = f" (shape {np.shape(a)} vs {np.shape(e)})" if np.shape(a) != np.shape(e) else ""
                bad.append(f"{name}: max abs diff {core.verify.max_abs_diff(a, e):.3g}{shapes}")
        return bad

    def summary(self) -> str:
        diffs = ", ".join(
            f"{n} {core.verify.max_abs_diff(a, e):.2g}" for n, a, e in zip(self.names, self.ours, self.ort, strict=True)
        )
        return f"max abs diff: {diffs}"


def compare_with_ort(path: Path, seed: int = 0) -> Comparison:
    """Compile ``path`` to the serial module, run it and ONNX Runtime on the same random feeds."""
    m = core.load_model(path)
    g = core.Graph.from_model(m)
    gen = core.generate_serial(g, source_model=str(path))
    mod = gen.load()
    feeds = core.verify.random_feeds(g, seed=seed)
    ours = core.run_module(mod, feeds)
    ort = core.verify.ort_session(str(path)).run(None, dict(zip(g.inputs, feeds, strict=True)))
    ops = sorted({g.node_by_name[n].op_type for n in gen.fallback_nodes})
    return Comparison(list(g.outputs), ours, ort, list(gen.fallback_nodes), ops)


def test_samples_exist():
    names = {p.stem for p in SAMPLES}
    assert "inception_mini" in names, "sample_models/inception_mini.onnx (the default model) is missing"
    assert len(SAMPLES) >= 6
    assert sum(p.stat().st_size for p in SAMPLES) < 5 * 1024 * 1024, "sample models must total under 5 MB"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_matches_onnxruntime(path: Path):
    cmp = compare_with_ort(path)
    bad = cmp.mismatches()
    assert not bad, f"{path.name}: " + "; ".join(bad)
    print(f"{path.name}: {cmp.summary()}")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_sample_uses_own_op_table(path: Path):
    """No node of a sample model may need the onnx.reference fallback."""
    m = core.load_model(path)
    g = core.Graph.from_model(m)
    gen = core.generate_serial(g, source_model=str(path))
    ops = sorted({g.node_by_name[n].op_type for n in gen.fallback_nodes})
    assert not gen.fallback_nodes, f"{path.name}: ops without a converter: {', '.join(ops)}"
