"""The ONNX backend node tests run through the generated code.

Used by ``tests/test_node_conformance.py``; also a script for per-op figures::

    python -m tests.node_cases            # all in-scope cases, summary per op
    python -m tests.node_cases Conv Pad   # only cases using these ops, failures printed
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from core import ops
from core.codegen import generate_serial, run_module
from core.graph import Graph, schema_since_version
from core.onnx_io import load_model, opset_map
from core.verify import allclose, max_abs_diff

RTOL, ATOL = 1e-3, 1e-4


@dataclass(frozen=True)
class Case:
    name: str
    ops: tuple[str, ...]
    in_scope: bool
    why_out: str


@functools.lru_cache(maxsize=1)
def all_cases() -> dict:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {c.name: c for c in collect_testcases(None)}


def classify(case) -> Case:
    model = case.model
    opsets = opset_map(model)
    names = []
    why = ""
    for n in model.graph.node:
        domain = "" if n.domain in ("", "ai.onnx") else n.domain
        names.append(n.op_type)
        if n.op_type == "Constant" and domain == "":
            continue
        since = schema_since_version(n.op_type, domain, opsets)
        if ops.lookup(n.op_type, domain, since) is None and not why:
            why = f"{n.op_type} (since {since}) not in the op table"
    for inputs, _ in case.data_sets:
        if not all(isinstance(x, (np.ndarray, np.generic)) for x in inputs) and not why:
            why = "non-tensor inputs (sequences/optionals)"
    return Case(case.name, tuple(dict.fromkeys(names)), not why, why)


def in_scope_names() -> list[str]:
    return sorted(n for n, c in all_cases().items() if classify(c).in_scope)


def run_case(name: str) -> None:
    """Raise AssertionError (or a RamielError) if the generated code disagrees with the expected outputs."""
    case = all_cases()[name]
    model = load_model(case.model)
    graph = Graph.from_model(model)
    mod = generate_serial(graph).load()
    for inputs, expected in case.data_sets:
        feeds = [np.asarray(x) for x in list(inputs)[: len(graph.inputs)]]
        outs = run_module(mod, feeds)
        assert len(outs) == len(expected), f"{len(outs)} outputs, expected {len(expected)}"
        for i, (o, e) in enumerate(zip(outs, expected)):
            e = np.asarray(e)
            assert o.shape == e.shape, f"output {i}: shape {o.shape} != {e.shape}"
            if e.dtype != object:
                assert o.dtype == e.dtype, f"output {i}: dtype {o.dtype} != {e.dtype}"
            assert allclose(o, e, max(RTOL, case.rtol), max(ATOL, case.atol)), (
                f"output {i}: max abs diff {max_abs_diff(o, e):.3g}"
            )


def main(argv: list[str]) -> int:
    wanted = set(argv)
    per_op: Counter = Counter()
    per_op_fail: Counter = Counter()
    failures = []
    names = [n for n in in_scope_names() if not wanted or wanted & set(classify(all_cases()[n]).ops)]
    for name in names:
        case_ops = classify(all_cases()[name]).ops
        try:
            run_case(name)
            ok = True
        except Exception as exc:  # noqa: BLE001
            ok = False
            failures.append((name, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
        for op in case_ops:
            per_op[op] += 1
            per_op_fail[op] += 0 if ok else 1
    total = len(all_cases())
    print(f"{len(names)} in-scope cases of {total}; {len(names) - len(failures)} passed, {len(failures)} failed")
    for name, why in failures:
        print(f"FAIL {name}: {why[:300]}")
    if wanted:
        for op in sorted(per_op):
            print(f"{op}: {per_op[op] - per_op_fail[op]}/{per_op[op]}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
