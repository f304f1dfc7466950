"""The ONNX backend node tests (built in memory by onnx) through the generated code.

In scope: every case whose operators are all in the op table. Known failures are listed, with
their reason, in ``node_known_failures.txt`` and marked strict xfail, so the list stays exact.
``python -m tests.node_cases`` prints the same figures per op.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node_cases import all_cases, in_scope_names, run_case

KNOWN_FILE = Path(__file__).with_name("node_known_failures.txt")


def known_failures() -> dict[str, str]:
    out = {}
    for line in KNOWN_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, why = line.partition(":")
            out[name.strip()] = why.strip()
    return out


IN_SCOPE = in_scope_names()
KNOWN = known_failures()


PARAMS = [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN[n])) if n in KNOWN else n for n in IN_SCOPE]


@pytest.mark.parametrize("name", PARAMS)
def test_node_case(name):
    run_case(name)


def test_pass_rate_of_in_scope_cases():
    stale = set(KNOWN) - set(IN_SCOPE)
    assert not stale, f"known failures that are no longer in scope: {sorted(stale)}"
    passing = len(IN_SCOPE) - len(KNOWN)
    rate = passing / len(IN_SCOPE)
    print(f"\nnode tests: {len(all_cases())} total, {len(IN_SCOPE)} in scope, {passing} pass ({rate:.1%})")
    assert rate >= 0.95
