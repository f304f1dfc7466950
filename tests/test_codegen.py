"""Generated serial code against ONNX Runtime on hand-built graphs, hostile names, and the
emitted module running alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from core.codegen import Namer, generate_serial
from core.graph import Graph
from core.onnx_io import load_model
from tests.util import I64, check_against_ort, init, make_model, vi

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(0)


def w(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_branches_and_shared_initializer():
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="stem"),
        helper.make_node("Relu", ["a"], ["a_r"]),
        helper.make_node("Conv", ["a_r", "w2"], ["b1"], pads=[1, 1, 1, 1], name="branch1"),
        helper.make_node("Conv", ["a_r", "w2"], ["b2"], pads=[1, 1, 1, 1], name="branch2_shares_w2"),
        helper.make_node("MaxPool", ["a_r"], ["b3"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["b1", "b2", "b3"], ["y"], axis=1),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[1, 3, 10, 10])],
        [vi("y", shape=[1, 12, 10, 10])],
        [init("w1", w(4, 3, 3, 3)), init("w2", w(4, 4, 3, 3))],
    )
    check_against_ort(model)


def test_split_with_several_outputs_and_output_consumed_inside():
    nodes = [
        helper.make_node("Split", ["x", "sizes"], ["s0", "s1", "s2"], axis=1),
        helper.make_node("Relu", ["s0"], ["r0"]),
        helper.make_node("Mul", ["s1", "r0"], ["m"]),
        helper.make_node("Add", ["m", "s2"], ["out1"]),
        helper.make_node("Sigmoid", ["out1"], ["out2"]),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=[2, 9])],
        [vi("out1", shape=[2, 3]), vi("out2", shape=[2, 3])],
        [init("sizes", np.array([3, 3, 3], np.int64))],
        opset=13,
    )
    check_against_ort(model, [w(2, 9)])


def test_two_inputs_two_outputs_and_input_passed_straight_to_output():
    nodes = [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Tanh", ["s"], ["t"])]
    model = make_model(
        nodes, [vi("a", shape=[3, 4]), vi("b", shape=[4])], [vi("t", shape=[3, 4]), vi("a", shape=[3, 4])]
    )
    outs = check_against_ort(model, [w(3, 4), w(4)])
    assert len(outs) == 2


def test_constant_and_shape_to_reshape_chain():
    nodes = [
        helper.make_node("Constant", [], ["minus1"], value=helper.make_tensor("m1", I64, [1], [-1])),
        helper.make_node("Shape", ["x"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus1"], ["new_shape"], axis=0),
        helper.make_node("Reshape", ["x", "new_shape"], ["y"]),
    ]
    model = make_model(
        nodes,
        [vi("x", shape=["N", 2, 3])],
        [vi("y", shape=["N", 6])],
        [init("zero", np.array(0, np.int64)), init("axes0", np.array([0], np.int64))],
        opset=13,
    )
    check_against_ort(model, [w(5, 2, 3)])


def test_opset_7_and_21_models():
    for opset in (7, 21):
        nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "b"], ["y"])]
        model = make_model(nodes, [vi("x", shape=[2, 3])], [vi("y", shape=[2, 3])], [init("b", w(3))], opset=opset)
        check_against_ort(model)


HOSTILE = '"); import os; os.system("x")#'


def hostile_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Relu", [HOSTILE], ["class"], name="n\nimport os"),
        helper.make_node("Add", ["class", "1weight"], ["torch"], name=HOSTILE),
        helper.make_node("Sigmoid", ["torch"], ["W"], name="x'''\"\"\""),
    ]
    return make_model(nodes, [vi(HOSTILE, shape=[2])], [vi("W", shape=[2])], [init("1weight", w(2))])


def test_hostile_names_become_safe_identifiers():
    gen = generate_serial(Graph.from_model(load_model(hostile_model())))
    tree = ast.parse(gen.source)  # still valid Python
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system"]
    assert not calls
    top_imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert {a.name for n in top_imports for a in n.names} == {
        "json",
        "math",
        "os",
        "sys",
        "numpy",
        "torch",
        "torch.nn.functional",
    }
    # the name survives only inside comments and string literals, one line each
    assert all(
        line.lstrip().startswith("#") or repr(HOSTILE) in line
        for line in gen.source.splitlines()
        if "os.system" in line
    )
    check_against_ort(hostile_model(), [w(2)])


def test_namer_is_unique_and_avoids_reserved_names():
    namer = Namer()
    names = [namer(t) for t in ["a.b", "a_b", "1x", "class", "torch", "", "a-b"]]
    assert len(set(names)) == len(names)
    assert all(n.isidentifier() for n in names)
    assert not {"class", "torch"} & set(names)


def test_emitted_module_runs_alone_and_matches_ort(tmp_path):
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["logits"]),
    ]
    model = make_model(
        nodes, [vi("input", shape=[1, 3, 8, 8])], [vi("logits", shape=[1, 4, 8, 8])], [init("w", w(4, 3, 3, 3))]
    )
    src = tmp_path / "tiny.onnx"
    onnx.save(model, src)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "ramiel_tui.cli", str(src), "--emit", str(out)], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "tiny.py").is_file() and (out / "tiny.safetensors").is_file()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, str(out / "tiny.py"), "--check"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert run.returncode == 0, run.stderr
    assert "logits: float32[1, 4, 8, 8]" in run.stdout
    diff = float(run.stdout.split("max_abs_diff_vs_onnxruntime=")[1].split()[0])
    assert diff < 1e-4
    # it imports only torch, numpy and the standard library
    tree = ast.parse((out / "tiny.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"torch", "numpy", "json", "math", "os", "sys", "argparse", "onnxruntime"}


@pytest.mark.parametrize("opset", [9, 13, 17])
def test_emit_twice_into_same_folder_is_stable(tmp_path, opset):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])], [vi("x", shape=[2])], [vi("y", shape=[2])], opset=opset
    )
    g = Graph.from_model(load_model(model))
    assert generate_serial(g).source == generate_serial(g).source


@pytest.mark.parametrize("name", ["nasnet_cell_mini", "transformer_mini"])
def test_emitted_sample_module_runs_alone(tmp_path, name):
    """0-d constants, int64 inputs and helpers survive the trip through the files."""
    src = ROOT / "sample_models" / f"{name}.onnx"
    proc = subprocess.run(
        [sys.executable, "-m", "ramiel_tui.cli", str(src), "--emit", str(tmp_path), "--no-cp-dce"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, str(tmp_path / f"{name}.py"), "--check"], capture_output=True, text=True,
                         cwd=tmp_path, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    diffs = [
        float(line.split("max_abs_diff_vs_onnxruntime=")[1]) for line in run.stdout.splitlines() if "max_abs" in line
    ]
    assert diffs and max(diffs) < 1e-4, run.stdout


def test_node_lines_point_at_each_node_statement():
    path = ROOT / "sample_models" / "inception_mini.onnx"
    gen = generate_serial(Graph.from_model(load_model(path)))
    src = gen.source.splitlines()
    for node, (first, last) in gen.node_lines.items():
        assert src[first - 1].lstrip().startswith(f"# {node}:"), (node, src[first - 1])
        assert "=" in src[last - 1]
