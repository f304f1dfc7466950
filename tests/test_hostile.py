"""Hostile model files: every case ends in a typed one-line error or a result equal to ONNX Runtime's;
hostile names become safe identifiers; a short deterministic run of the fuzz target
(``benchmarks/fuzz_loader.py`` runs it for minutes)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ModelLoadError
from core.onnx_io import load_model
from tests.hostile import EVIL, EVIL_NAMES, _chain, evil_names_model, hostile_cases, mutate, seed_corpus, target
from tests.test_loading import assert_one_line_exit_2, cli

ROOT = Path(__file__).resolve().parents[1]
LIMIT = "more than the 4.0 GiB limit (RAMIEL_MAX_TENSOR_BYTES)"
EXPECTED = {  # case → "ok" (compiles, and the generated code equals ORT) or a needle of the error
    "constant_2^40_elements_no_data": "tensor 'c' of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "initializer_2^40_elements_short_data": "tensor 'w' of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "sparse_constant_2^40_dense": "sparse tensor 'v' of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "initializer_negative_dims": "tensor 'w' has a negative dimension in shape [-3, 2]",
    "input_2^40_elements": "tensor 'x' of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "input_negative_dims": "ok",
    "zero_size_tensors": "ok",
    "zero_size_with_2^62_dim": "tensor 'x' of shape 0x4611686018427387904x128 is empty but its other dimensions would need "
    "2097152.0 PiB, " + LIMIT,
    "expand_to_2^40_elements": "tensor 'e' of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "constant_of_shape_2^40": "of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "cycle": "Nodes in a graph must be topologically sorted",
    "self_loop": "Nodes in a graph must be topologically sorted",
    "duplicate_output_names": "single static assignment (SSA) form, however 'y' has been used as output names multiple times",
    "duplicate_node_names": "two nodes with same node name (a)",
    "duplicate_initializer_names": "w initializer name is not unique",
    "output_shadows_graph_input": "single static assignment (SSA) form, however 'x' has been used as output names multiple times",
    "output_shadows_initializer": "single static assignment (SSA) form, however 'w' has been used as output names multiple times",
    "graph_output_is_graph_input": "ok",
    "reads_tensor_nothing_produces": "input 'ghost' of node",
    "attribute_garbage": "dilations must only contain positive values",
    "attribute_nan_inf": "ok",
    "keepdims_2": "ok",
    "reduce_mean_empty_axis": "ok",  # fuzz finding: torch's mean of nothing is NaN, ORT's is 0
    "argmax_empty_axis_empty_output": "ok",  # fuzz finding: torch refused, ORT returns the empty result  # fuzz finding: read as ORT reads it (only 1 keeps the axes)
    "reshape_to_2^40": "tensor 'y' of shape 1048576x1048576 would need 4.0 TiB, " + LIMIT,
    "evil_names": "ok",
    "backslash_graph_name": "ok",  # review finding: the docstring did not compile
}
CASES = {k: v for k, v in hostile_cases().items() if "chain" not in k}


def test_every_case_has_an_expectation():
    assert set(CASES) == set(EXPECTED)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_model_ends_in_a_typed_error_or_a_correct_result(name, tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(CASES[name](), path)
    expected = EXPECTED[name]
    if expected == "ok":
        assert target(path) == "ok"  # compiled, emitted, byte-compiled, run: equal to ONNX Runtime
        return
    with pytest.raises(ModelLoadError) as err:  # the same as target() but with the text
        from core.pipeline import compile_model
        from core.plan import PlanOptions

        compile_model(path, PlanOptions(workers=2, cost="analytic"))
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAMIEL_MAX_NODES", "1000")
    load_model(_chain(1000))
    with pytest.raises(ModelLoadError, match=r"has 1,001 nodes, more than the 1,000 limit \(RAMIEL_MAX_NODES\)"):
        load_model(_chain(1001))
    monkeypatch.setenv("RAMIEL_MAX_TENSOR_BYTES", "64")
    with pytest.raises(
        ModelLoadError, match=r"tensor 'w' of shape 4x5 would need 80 bytes, more than the 64 bytes limit"
    ):
        load_model(onnx.ModelProto.FromString(_weights_model(4, 5)))


def _weights_model(*shape: int) -> bytes:
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.ones(shape, np.float32), "w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [helper.make_tensor_value_info("x", 1, shape)],
                              [helper.make_tensor_value_info("y", 1, shape)], [w])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_names_that_are_not_utf8_are_refused(tmp_path):
    data = _weights_model(2).replace(b"\x12\x01g", b"\x12\x01\xf1")  # the graph's name: one invalid byte
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError, match=r"graph name b'\\xf1' is not valid UTF-8"):
        load_model(path)


def test_nul_in_a_node_name_per_node_program():
    """The per-node program (measured costs, shape resolution) compiles one statement per node, named
    after the node: a NUL in the name made ``compile`` raise ValueError (fuzz finding)."""
    from core.codegen import node_program
    from core.graph import Graph

    model = evil_names_model("x")
    model.graph.node[0].name = "a\x00b"
    prog = node_program(Graph.from_model(load_model(model)))
    assert [name for name, _, _ in prog.steps][0] == "a\x00b"


def test_cli_hostile_file_is_one_line_exit_2(tmp_path):
    path = tmp_path / "huge.onnx"
    onnx.save(CASES["constant_2^40_elements_no_data"](), path)
    assert_one_line_exit_2(cli(str(path), "--report"), "would need 4.0 TiB")


# -- hostile names ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", EVIL_NAMES[:2], ids=["quote-close", "triple-quote"])
def test_hostile_names_emit_safe_code_that_runs(name, tmp_path):
    from core.codegen import generate_serial
    from core.graph import Graph

    model_path = tmp_path / "evil.onnx"
    onnx.save(evil_names_model(name), model_path)
    generated = generate_serial(Graph.from_model(load_model(model_path)), source_model=str(model_path))
    out = tmp_path / "out"
    generated.write(out, "evil")
    proc = subprocess.run([sys.executable, "evil.py", "--check"], cwd=out, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "max_abs_diff_vs_onnxruntime=0" in proc.stdout, proc.stdout
    assert not list(tmp_path.rglob("PWNED")), "a name was executed"
    assert "os.system" not in "".join(line for line in generated.source.splitlines() if not line.lstrip().startswith("#")
                                      and "'" not in line and '"' not in line)  # fmt: skip


def test_hostile_names_run_on_the_worker_pool(tmp_path, monkeypatch):
    from core.verify import allclose, ort_session
    from runtime import ParallelSession

    monkeypatch.chdir(tmp_path)  # the workers inherit it: a payload would leave PWNED here
    model = evil_names_model(EVIL)
    x = np.array([-1.0, 2.0], np.float32)
    with ParallelSession(model, workers=2, cost="analytic", force_parallel=True) as sess:
        assert sess.get_inputs()[0].name == EVIL
        out = sess.run(None, {EVIL: x})
    assert allclose(out[0], ort_session(model).run(None, {EVIL: x})[0])
    assert not list(tmp_path.rglob("PWNED"))


# -- the fuzz target, briefly ----------------------------------------------------------------
SEEDS = [data for _, data in seed_corpus()]


@settings(max_examples=40, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(range(len(SEEDS))))
def test_fuzz_target_mutants(seed, which, tmp_path_factory):
    """Mutants of the sample models and hostile cases: a typed error or ORT's result, nothing else."""
    path = tmp_path_factory.mktemp("fuzz") / "m.onnx"
    path.write_bytes(mutate(SEEDS[which], random.Random(seed), SEEDS))
    assert target(path) in ("ok", "ModelLoadError", "UnsupportedOpError")


def test_fuzz_script_runs_bounded(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fuzz_loader.py"), "--max-inputs", "30", "--seed", "3", "--out",
         str(tmp_path)], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "30 inputs in" in proc.stdout and "findings: 0" in proc.stdout


# -- the app on a hostile file ---------------------------------------------------------------
async def test_app_opens_on_the_error_and_exits_2(tmp_path):
    """``ramiel-tui corrupt.onnx`` (no --report): the app opens on an error view with the one-line message;
    quitting exits with status 2 (the CLI then prints the same line to stderr)."""
    from textual.widgets import Static

    from ramiel_tui.app import Options, create_app
    from tests.test_app import until

    path = tmp_path / "huge.onnx"
    onnx.save(CASES["constant_2^40_elements_no_data"](), path)
    app = create_app(path, Options(cost="analytic"), frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.error is not None)
        assert app.load_failed and "would need 4.0 TiB" in app.error and "\n" not in app.error
        shown = str(app.query_one("#ov-model", Static).render())
        assert "Could not analyse the model" in shown and "would need 4.0 TiB" in shown
        await pilot.press("q")
    assert app.return_code == 2
