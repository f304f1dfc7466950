"""One shared-memory segment per pool: a control header, flags, timings and tensor slots.

Slots are planned ahead (offsets fixed at start-up); tensors are read and written in
place through numpy/torch views, so nothing is pickled per run.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

ALIGN = 64
HEADER_WORDS = 16  # int64: see Header
ERROR_BYTES = 1024
MAX_WAITS = 512  # wait intervals recorded per worker per run
MAX_MARKS = 256  # cluster starts recorded per worker per run
MARKS = 3 + 2 * MAX_WAITS  # index of the mark count in a worker's timing row; (cluster, ns) pairs follow


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class Header:
    """Indices into the int64 header."""

    RUN = 0  # run number, increases by one per run
    COMMAND = 1  # 1 run, 2 stop
    ABORT = 2  # set when a run must stop (an error somewhere)
    T0 = 3  # run start, ns (time.perf_counter_ns, CLOCK_MONOTONIC on Linux)
    THREADS = 4  # intra-op threads every worker should use from the next run on (0: its own count)


@dataclass(frozen=True)
class Slot:
    offset: int
    shape: tuple[int, ...]
    dtype: str
    channels_last: bool = False  # a 4-D tensor stored NHWC, seen as NCHW (what channels-last code makes)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class Layout:
    """Byte offsets of every region; picklable, sent to each worker once."""

    workers: int
    header: int
    errors: int  # per worker: int64 flag + message bytes
    timings: int  # per worker: start, end (int64 ns), wait count, MAX_WAITS (start, end), mark count, MAX_MARKS (cluster, start)
    slots: dict[str, Slot]  # tensor name → slot (inputs, outputs, cross-worker tensors)
    size: int

    def timing_words(self) -> int:
        return timing_words()


COPY_NS = MARKS + 1 + 2 * MAX_MARKS  # ns spent copying sends and outputs into shared memory this run


def timing_words() -> int:
    return COPY_NS + 1


def plan_layout(
    workers: int,
    tensors: dict[str, tuple[tuple[int, ...], str]],
    share: dict[str, str] | None = None,
    channels_last: bool = False,
) -> Layout:
    """Place tensors; ``share[b] = a`` lets tensor b reuse a's slot (a is dead before b is written).

    With ``channels_last``, 4-D floating-point tensors are stored NHWC, so that sending and
    receiving the channels-last tensors of the generated code is a plain copy, not a transpose."""
    off = 0
    header = off
    off = align(off + HEADER_WORDS * 8)
    errors = off
    off = align(off + workers * (8 + ERROR_BYTES))
    timings = off
    off = align(off + workers * timing_words() * 8)
    slots: dict[str, Slot] = {}
    share = share or {}
    sized: dict[str, int] = {}
    for name, (shape, dtype) in tensors.items():
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        cl = channels_last and len(shape) == 4 and np.issubdtype(np.dtype(dtype), np.floating)
        host = share.get(name)
        if host is not None and host in slots and sized[host] >= nbytes:
            slots[name] = Slot(slots[host].offset, tuple(shape), dtype, cl)
            sized[name] = sized[host]
            continue
        slots[name] = Slot(off, tuple(shape), dtype, cl)
        sized[name] = nbytes
        off = align(off + max(nbytes, 1))
    return Layout(workers, header, errors, timings, slots, max(off, ALIGN))


class Arena:
    """The mapped segment with typed views. The creator owns (and unlinks) it."""

    def __init__(self, layout: Layout, name: str | None = None, create: bool = False) -> None:
        self.layout = layout
        if create:
            name = f"ramiel_{os.getpid()}_{secrets.token_hex(4)}"
            self.shm = shared_memory.SharedMemory(name=name, create=True, size=layout.size)
        else:
            self.shm = shared_memory.SharedMemory(name=name)
        self.owner = create
        buf = self.shm.buf
        self.header = np.ndarray((HEADER_WORDS,), np.int64, buf, layout.header)
        self.timing = np.ndarray((layout.workers, layout.timing_words()), np.int64, buf, layout.timings)
        if create:
            self.header[:] = 0
            self.timing[:] = 0
            for w in range(layout.workers):
                self.error_flag(w)[0] = 0

    @property
    def name(self) -> str:
        return self.shm.name

    def exists(self) -> bool:
        """Whether the segment still has its name in /dev/shm (someone may have removed it)."""
        return not os.path.isdir("/dev/shm") or os.path.exists(os.path.join("/dev/shm", self.shm.name.lstrip("/")))

    def array(self, name: str) -> np.ndarray:
        """The tensor's view, in its logical (NCHW) shape whatever the memory order."""
        s = self.layout.slots[name]
        if s.channels_last:
            n, c, h, w = s.shape
            return np.ndarray((n, h, w, c), np.dtype(s.dtype), self.shm.buf, s.offset).transpose(0, 3, 1, 2)
        return np.ndarray(s.shape, np.dtype(s.dtype), self.shm.buf, s.offset)

    def error_flag(self, worker: int) -> np.ndarray:
        return np.ndarray((1,), np.int64, self.shm.buf, self.layout.errors + worker * (8 + ERROR_BYTES))

    def set_error(self, worker: int, message: str) -> None:
        data = message.encode("utf-8", "replace")[: ERROR_BYTES - 1]
        start = self.layout.errors + worker * (8 + ERROR_BYTES) + 8
        self.shm.buf[start : start + len(data)] = data
        self.shm.buf[start + len(data)] = 0
        self.error_flag(worker)[0] = 1

    def error(self, worker: int) -> str | None:
        if not self.error_flag(worker)[0]:
            return None
        start = self.layout.errors + worker * (8 + ERROR_BYTES) + 8
        raw = bytes(self.shm.buf[start : start + ERROR_BYTES])
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def clear_errors(self) -> None:
        for w in range(self.layout.workers):
            self.error_flag(w)[0] = 0

    def close(self) -> None:
        # drop views before closing the mapping
        self.header = self.timing = None  # type: ignore[assignment]
        try:
            self.shm.close()
        except BufferError:
            pass  # a view is still alive somewhere; the mapping goes with the process
        if self.owner:
            try:
                self.shm.unlink()
            except FileNotFoundError:  # removed under us: the tracker must not try again at exit
                from multiprocessing import resource_tracker

                resource_tracker.unregister(self.shm._name, "shared_memory")
