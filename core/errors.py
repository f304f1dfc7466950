"""Typed errors with a one-line message for the user.

Every error that bad input can cause is a :class:`RamielError`; the CLI prints
``str(err)`` on one line and exits with status 2.
"""

from __future__ import annotations


class RamielError(Exception):
    """Base class: the message is one line that names the problem."""

    def __init__(self, message: str) -> None:
        # Keep the message on one line whatever the cause contained.
        super().__init__(" ".join(str(message).split()))


class ModelLoadError(RamielError):
    """The file is missing, empty, truncated, not ONNX, or fails the checker."""


class UnsupportedOpError(RamielError):
    """A node uses an operator that neither the op table nor the fallback can run."""


class InputFeedError(RamielError):
    """A feed given to ``run`` has the wrong name, shape or dtype."""


class OptionError(RamielError, ValueError):
    """An option's value does not fit the model or the plan (e.g. thread counts for the wrong number of workers)."""


class EmitError(RamielError):
    """The generated code or its weights could not be written (disk full, unwritable folder)."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text (library errors are often long)."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line:
            return line
    return type(exc).__name__
