"""Time to first paint and to a ready analysis in the TUI, one fresh process per model.

    python benchmarks/tui_startup.py [--cost auto|analytic|...] [MODEL ...]   # default: the zoo

Each model opens in its own process (headless, Textual's test driver at 120x40), as
``ramiel-tui MODEL`` would: the app paints first, then compiles in a worker thread. Printed:
first paint and "analysis ready" (the final, measured-cost analysis), both in seconds
since the process started. Node costs are cached per machine, so a second run is faster.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import asyncio, json, sys
sys.path.insert(0, {root!r})
from ramiel_tui.app import Options, create_app

async def main():
    app = create_app({model!r}, Options(cost={cost!r}))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(6000):
            a = app.analysis
            if app.error or (a is not None and a.final and app.ready_s):
                break
            await pilot.pause(0.05)
        print(json.dumps({{"first_paint_s": app.first_paint_s, "ready_s": app.ready_s, "error": app.error}}))

asyncio.run(main())
"""


def main() -> int:
    from benchmarks.parallel_vs_ort import ZOO

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--zoo", default=str(ROOT / ".zoo"))
    ap.add_argument("--cost", default="auto")
    args = ap.parse_args()
    paths = [Path(m) for m in args.models] or [Path(args.zoo) / f"{m}.onnx" for m in ZOO]
    print("| model | first paint s | analysis ready s |")
    print("|---|---|---|")
    for path in paths:
        if not path.is_file():
            print(f"| {path.stem} | missing | |")
            continue
        code = CHILD.format(root=str(ROOT), model=str(path), cost=args.cost)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            print(f"| {path.stem} | failed: {out.stderr.strip().splitlines()[-1:]} | |")
            continue
        r = json.loads(lines[-1])
        ready = "error: " + r["error"] if r["error"] else f"{r['ready_s']:.2f}"
        print(f"| {path.stem} | {r['first_paint_s']:.2f} | {ready} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
