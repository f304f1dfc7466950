"""Write SVG screenshots of the app's views (for the README): ``python -m ramiel_tui.screenshots [DIR]``.

Runs the real app headless on the default sample model, with a real run of the executor,
and saves one SVG per view with Textual's screenshot support.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from ramiel_tui.app import Options, create_app

VIEWS = [("overview", ("1",)), ("clusters", ("2", "down", "down", "down")), ("code", ("3",)), ("run", ("4",)),
         ("timeline", ("5",))]  # fmt: skip


async def shoot(out: Path, model: str, size: tuple[int, int], repeats: int) -> list[Path]:
    app = create_app(model, Options(), repeats=repeats, frozen=True)
    written = []
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 300
        while not (app.analysis is not None and app.analysis.final and app.busy is None) and app.error is None:
            if time.monotonic() > deadline:
                raise TimeoutError("analysis did not finish")
            await pilot.pause(0.1)
        await pilot.press("r")
        while app.running:
            await pilot.pause(0.2)
        for name, keys in VIEWS:
            await pilot.press(*keys)
            await pilot.pause(0.3)
            path = out / f"tui-{name}.svg"
            app.save_screenshot(path.name, str(out))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    for p in asyncio.run(shoot(out, "sample_models/inception_mini.onnx", (100, 32), 20)):
        print(p)


if __name__ == "__main__":
    main()
