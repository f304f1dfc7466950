"""Charts drawn with text characters (no plotting library): bars, sparklines, a Gantt timeline.

Pure functions returning rich ``Text``; colours are named ANSI colours so that they
survive 16-colour terminals, and every state also has its own glyph so that the
charts read without colour at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from rich.text import Text

EIGHTHS = " ▏▎▍▌▋▊▉"
SPARKS = "▁▂▃▄▅▆▇█"
COMPUTE, WAIT, IDLE = "█", "░", "·"
COMPUTE_STYLE, WAIT_STYLE, IDLE_STYLE = "green", "yellow", "bright_black"


def hbar(value: float, maximum: float, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, in eighths of a cell."""
    if maximum <= 0 or width <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / maximum * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[rest] if rest else "")


def sparkline(values: Sequence[float], width: int, hi: float, lo: float = 0.0) -> str:
    """One cell per value (the last ``width`` values), height in eighths between ``lo`` and ``hi``."""
    vals = [v for v in values if v is not None and math.isfinite(v)][-width:] if width > 0 else []
    if not vals:
        return ""
    span = hi - lo if hi > lo else 1.0
    out = []
    for v in vals:
        k = int(round((min(max(v, lo), hi) - lo) / span * (len(SPARKS) - 1)))
        out.append(SPARKS[k])
    return "".join(out)


def fmt_ms(ms: float) -> str:
    if ms is None or not math.isfinite(ms):
        return "-"
    return f"{ms:.2f}" if ms < 100 else f"{ms:.1f}" if ms < 1000 else f"{ms:.0f}"


def _cells(
    compute: Iterable[tuple[float, float]], waits: Iterable[tuple[float, float]], total: float, width: int
) -> str:
    """Each cell: the state covering most of its time slice (compute, waiting, idle)."""
    cov_c = [0.0] * width
    cov_w = [0.0] * width
    dt = total / width if total > 0 else 1.0
    for spans, cov in ((compute, cov_c), (waits, cov_w)):
        for s, e in spans:
            if e <= s:
                continue
            a = max(0, min(width - 1, int(s / dt)))
            b = max(0, min(width - 1, int(math.ceil(e / dt)) - 1))
            for k in range(a, b + 1):
                lo, hi = k * dt, (k + 1) * dt
                cov[k] += max(0.0, min(e, hi) - max(s, lo))
    out = []
    for c, w in zip(cov_c, cov_w):
        if c + w < 0.25 * dt:
            out.append(IDLE)
        elif c >= w:
            out.append(COMPUTE)
        else:
            out.append(WAIT)
    return "".join(out)


def _styled(cells: str) -> Text:
    text = Text()
    styles = {COMPUTE: COMPUTE_STYLE, WAIT: WAIT_STYLE, IDLE: IDLE_STYLE}
    for ch in cells:
        text.append(ch, styles[ch])
    return text


def axis(total_ms: float, width: int, indent: int) -> Text:
    """A ruler under a timeline: 0, the middle and the end, in ms."""
    line = [" "] * width
    labels = [(0, "0"), (width // 2, fmt_ms(total_ms / 2)), (width, fmt_ms(total_ms) + " ms")]
    ruler = Text(" " * indent + "└" + "─" * (width - 1) + "┘", style="bright_black")
    for pos, label in labels:
        start = min(max(0, pos - len(label) // 2), width - len(label))
        if pos == 0:
            start = 0
        for k, ch in enumerate(label):
            if 0 <= start + k < width:
                line[start + k] = ch
    return Text.assemble(ruler, "\n", " " * indent + "".join(line))


def timeline(
    rows: Sequence[tuple[str, Sequence[tuple[float, float]], Sequence[tuple[float, float]], str]],
    total_ms: float,
    width: int,
    label_w: int | None = None,
    note_w: int | None = None,
) -> Text:
    """Gantt rows: (label, compute spans, wait spans, right-hand note), on one time scale 0..total_ms."""
    label_w = label_w or max((len(r[0]) for r in rows), default=0) + 1
    note_w = note_w or max((len(r[3]) for r in rows), default=0)
    bar_w = max(8, width - label_w - note_w - 3)
    out = Text()
    for label, compute, waits, note in rows:
        out.append(label.ljust(label_w), "bold")
        out.append("│", "bright_black")
        out.append_text(_styled(_cells(compute, waits, total_ms, bar_w)))
        out.append("│ ", "bright_black")
        out.append(note)
        out.append("\n")
    out.append_text(axis(total_ms, bar_w + 1, label_w))
    return out


def legend() -> Text:
    return Text.assemble((COMPUTE, COMPUTE_STYLE), " compute  ", (WAIT, WAIT_STYLE), " waiting for another worker  ",
                         (IDLE, IDLE_STYLE), " idle")  # fmt: skip


def compute_spans(start: float, end: float, waits: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """[start, end] minus the waits."""
    out, t = [], start
    for s, e in sorted(waits):
        if s > t:
            out.append((t, min(s, end)))
        t = max(t, e)
    if end > t:
        out.append((t, end))
    return out


def fmt_us(us: float) -> str:
    """A node cost: µs below a millisecond, ms above."""
    if us is None or not math.isfinite(us):
        return "-"
    return f"{us:.0f}µs" if us < 1000 else f"{us / 1e3:.2f}ms"


def progress_bar(step: float, total: float, width: int = 10) -> str:
    """[■■■□□□] without animation."""
    k = 0 if total <= 0 else max(0, min(width, round(step / total * width)))
    return "■" * k + "□" * (width - k)
