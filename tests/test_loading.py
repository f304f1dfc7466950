"""Bad model files: each gets a typed error with one line naming the problem; the CLI exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from core.errors import ModelLoadError, RamielError, UnsupportedOpError
from core.graph import Graph
from core.onnx_io import load_model
from tests.util import init, make_model, vi

ROOT = Path(__file__).resolve().parents[1]


def relu_model(name="relu") -> onnx.ModelProto:
    return make_model(
        [helper.make_node("Relu", ["x"], ["y"], name=name)], [vi("x", shape=[2, 3])], [vi("y", shape=[2, 3])]
    )


def weighted_model() -> onnx.ModelProto:
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    return make_model(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
        [vi("x", shape=[2, 3])],
        [vi("y", shape=[2, 3])],
        [init("w", w)],
    )


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ramiel_tui.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def assert_one_line_exit_2(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0], lines[0]


@pytest.fixture
def bad_files(tmp_path):
    good = tmp_path / "good.onnx"
    onnx.save(weighted_model(), good)
    data = good.read_bytes()
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "text.onnx").write_text("this is not a model\n")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("missing.onnx", "model file not found"),
        ("empty.onnx", "model file is empty"),
        ("truncated.onnx", "not a valid ONNX model"),
        ("random.onnx", "not a valid ONNX model"),
        ("text.onnx", "not"),
    ],
)
def test_bad_files_raise_typed_one_line_errors(bad_files, name, needle):
    with pytest.raises(ModelLoadError) as err:
        load_model(bad_files / name)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ("/dev/null", "model file is empty"),
        ("truncated.onnx", "not a valid ONNX model"),
        ("random.onnx", "not a valid ONNX model"),
        ("missing.onnx", "model file not found"),
        (".", "is a directory"),
    ],
)
def test_cli_bad_input_one_line_exit_2(bad_files, target, needle):
    path = target if target.startswith("/") else str(bad_files / target)
    assert_one_line_exit_2(cli(path, "--report"), needle)


def test_checker_failure_names_the_node(tmp_path):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], name="bad_relu", foo=1)], [vi("x", shape=[2])], [vi("y", shape=[2])]
    )
    with pytest.raises(ModelLoadError, match="bad_relu"):
        load_model(model)


def test_unknown_default_domain_op_is_unsupported_and_named(tmp_path):
    model = make_model(
        [helper.make_node("NoSuchOp", ["x"], ["y"], name="weird")], [vi("x", shape=[2])], [vi("y", shape=[2])]
    )
    with pytest.raises(UnsupportedOpError, match="'NoSuchOp'.*'weird'"):
        load_model(model)
    path = tmp_path / "weird.onnx"
    onnx.save(model, path)
    assert_one_line_exit_2(cli(str(path), "--report"), "unsupported op 'NoSuchOp'")


def test_custom_domain_op_is_refused_with_node_name(tmp_path):
    from core.codegen import generate_serial

    model = make_model(
        [helper.make_node("Frob", ["x"], ["y"], name="frob1", domain="com.example")],
        [vi("x", shape=[2])],
        [vi("y", shape=[2])],
    )
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    graph = Graph.from_model(load_model(model))
    with pytest.raises(UnsupportedOpError, match="'Frob'.*'frob1'"):
        generate_serial(graph)
    path = tmp_path / "frob.onnx"
    onnx.save(model, path)
    assert_one_line_exit_2(cli(str(path), "--report"), "unsupported op 'Frob'")


# -- external data ---------------------------------------------------------------------------
def save_external(model: onnx.ModelProto, folder: Path, location: str = "weights.bin") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save(
        model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=location, size_threshold=0
    )
    return path


def set_location(path: Path, location: str) -> None:
    model = onnx.load(path, load_external_data=False)
    for t in model.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, path)


def test_external_data_inside_folder_loads(tmp_path):
    path = save_external(weighted_model(), tmp_path / "m")
    graph = Graph.from_model(load_model(path))
    np.testing.assert_array_equal(graph.initializers["w"], np.arange(6, dtype=np.float32).reshape(2, 3))


def test_external_data_missing_file(tmp_path):
    path = save_external(weighted_model(), tmp_path / "m")
    (tmp_path / "m" / "weights.bin").unlink()
    with pytest.raises(ModelLoadError, match="external data file missing: 'weights.bin'"):
        load_model(path)
    assert_one_line_exit_2(cli(str(path), "--report"), "external data file missing")


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin"])
def test_external_data_leaving_folder_is_refused(tmp_path, location):
    path = save_external(weighted_model(), tmp_path / "m")
    (tmp_path / "outside.bin").write_bytes((tmp_path / "m" / "weights.bin").read_bytes())
    set_location(path, location)
    with pytest.raises(ModelLoadError, match="model's folder"):
        load_model(path)


def test_external_data_symlink_leaving_folder_is_refused(tmp_path):
    path = save_external(weighted_model(), tmp_path / "m")
    real = tmp_path / "outside.bin"
    os.replace(tmp_path / "m" / "weights.bin", real)
    os.symlink(real, tmp_path / "m" / "weights.bin")
    with pytest.raises(ModelLoadError, match="leaves the model's folder"):
        load_model(path)


def test_errors_are_ramiel_errors():
    assert issubclass(ModelLoadError, RamielError) and issubclass(UnsupportedOpError, RamielError)
    assert str(ModelLoadError("a\nb   c")) == "a b c"


@pytest.mark.parametrize(
    ("threads", "needle"), [("0", "at least 1"), ("two", "one count per worker"), ("1,1,1", "2 worker(s)")]
)
def test_bad_thread_counts_are_one_line_exit_2(threads, needle):
    model = str(ROOT / "sample_models" / "inception_mini.onnx")
    proc = cli(model, "--report", "--run", "--repeat", "1", "--cost", "analytic", "--threads", threads)
    assert_one_line_exit_2(proc, needle)


@pytest.mark.parametrize(("workers", "needle"), [("0", "1 to 256"), ("lots", "1 to 256"), ("300", "1 to 256")])
def test_bad_worker_counts_are_one_line_exit_2(workers, needle):
    proc = cli(str(ROOT / "sample_models" / "inception_mini.onnx"), "--report", "--workers", workers)
    assert_one_line_exit_2(proc, needle)


def test_workers_auto_in_the_report():
    import json

    proc = cli(str(ROOT / "sample_models" / "inception_mini.onnx"), "--report", "--format", "json", "--workers", "auto",
               "--backend", "ort")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    auto = data["workers_auto"]
    assert auto["workers"] == data["options"]["workers"] >= 1 and auto["reason"].startswith("simulated for")
