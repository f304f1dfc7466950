"""Bad feeds to ``ParallelSession.run``, side by side with ``onnxruntime.InferenceSession.run``: where ORT
refuses a feed we raise InputFeedError with a one-line message naming the input; where ORT runs it we
return ORT's result. Differences: ORT checks missing inputs before unknown names (we name the unknown one
first), and ORT misreads big-endian arrays (we convert them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import InputFeedError
from core.verify import allclose, ort_session
from runtime import ParallelSession

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "sample_models" / "detector_mini.onnx"
SHAPE = (1, 3, 64, 64)


@pytest.fixture(scope="module")
def sessions():
    with ParallelSession(MODEL, workers=2, cost="analytic", force_parallel=True) as sess:
        yield sess, ort_session(str(MODEL))


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(SHAPE, dtype=np.float32)


def read_only() -> np.ndarray:
    x = image()
    x.flags.writeable = False
    return x


REFUSED = {  # feeds → (our message, ORT's message): both refuse
    "wrong name": (lambda: {"image": image()}, "unknown input 'image'; the model's inputs are ['images']",
                   "Required inputs (['images']) are missing"),
    "extra input": (lambda: {"images": image(), "extra": image()}, "unknown input 'extra'", "Invalid input name: extra"),
    "missing input": (lambda: {}, "missing input 'images' (float32[1x3x64x64])", "Required inputs (['images']) are missing"),
    "wrong dtype": (lambda: {"images": image().astype(np.float64)}, "input 'images' has dtype float64, expected float32",
                    "Unexpected input data type"),
    "int dtype": (lambda: {"images": image().astype(np.int64)}, "input 'images' has dtype int64, expected float32",
                  "Unexpected input data type"),
    "wrong rank": (lambda: {"images": image()[0]}, "input 'images' has rank 3 (shape [3, 64, 64]), expected rank 4 "
                   "([1, 3, 64, 64])", "Invalid rank for input: images"),
    "wrong shape": (lambda: {"images": image()[:, :2]}, "input 'images' has shape [1, 2, 64, 64], expected [1, 3, 64, 64]",
                    "Got invalid dimensions for input: images"),
    "ragged list": (lambda: {"images": [[1.0], [1.0, 2.0]]}, "input 'images' (list) cannot be made a float32 array", None),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_feeds_are_one_line_errors_as_in_ort(sessions, case):
    sess, ort = sessions
    make, ours, theirs = REFUSED[case]
    with pytest.raises(InputFeedError) as err:
        sess.run(None, make())
    assert ours in str(err.value) and "\n" not in str(err.value)
    if theirs is not None:
        with pytest.raises(Exception, match=theirs.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            ort.run(None, make())


ACCEPTED = {  # feeds both run: the results must be ORT's (on the plain float32 array)
    "non-contiguous": lambda: np.asfortranarray(image()),
    "strided view": lambda: np.concatenate([image(), image(1)], axis=3)[..., ::2],
    "read-only": read_only,
    "list": lambda: image().tolist(),
    "nan": lambda: np.where(image() < 0.1, np.nan, image()).astype(np.float32),
    "inf": lambda: np.where(image() < 0.1, np.inf, np.where(image() > 0.9, -np.inf, image())).astype(np.float32),
    "big-endian": lambda: image().astype(">f4"),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_feeds_give_ort_results(sessions, case):
    sess, ort = sessions
    feed = ACCEPTED[case]()
    ours = sess.run(None, {"images": feed})
    plain = np.ascontiguousarray(np.asarray(feed, dtype=np.float32))
    ref = ort.run(None, {"images": plain})
    for a, b in zip(ours, ref):
        assert a.flags.writeable and a.dtype == b.dtype
        assert allclose(a, b), case
    if case == "big-endian":  # ORT reads the bytes as they are: garbage, where we convert
        assert not all(allclose(a, b) for a, b in zip(ort.run(None, {"images": feed}), ref))


def test_unknown_output_name(sessions):
    sess, ort = sessions
    with pytest.raises(InputFeedError, match=r"unknown output 'nope'; the model's outputs are \['"):
        sess.run(["nope"], {"images": image()})
    with pytest.raises(Exception, match="(?i)Invalid output name:nope"):
        ort.run(["nope"], {"images": image()})


def test_feeds_not_a_dict(sessions):
    sess, _ = sessions
    with pytest.raises(InputFeedError, match="feeds must be a dict of input name"):
        sess.run(None, [image()])
