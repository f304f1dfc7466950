"""``ramiel-tui``: the Textual app, or headless ``--report`` / ``--emit``.

Bad input prints one line to stderr and exits with status 2, without a traceback.
The ``--report`` and ``--emit`` paths never import Textual.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

EXIT_BAD_INPUT = 2


class Format(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


class CostChoice(StrEnum):
    auto = "auto"
    measured = "measured"
    ort = "ort"
    analytic = "analytic"


class BackendChoice(StrEnum):
    torch = "torch"
    ort = "ort"
    auto = "auto"


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the worker pool is closed on the way out."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    typer.echo(f"ramiel-tui: error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def run_cli(
    model: Annotated[Path | None, typer.Argument(help="ONNX model file")] = None,
    report: Annotated[
        bool, typer.Option("--report", help="print a headless report instead of opening the app")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="report format")] = Format.text,
    emit: Annotated[
        Path | None, typer.Option("--emit", help="write the generated Python module and weights here")
    ] = None,
    workers: Annotated[
        str,
        typer.Option(
            "--workers",
            help="worker processes (1-256), or auto: the count and each worker's threads simulated from per-node "
            "scaling curves for this machine's cores (--report only)",
        ),
    ] = "2",
    batch: Annotated[int, typer.Option("--batch", min=1, max=4096, help="samples per inference (hyperclustering)")] = 1,
    no_cp_dce: Annotated[
        bool, typer.Option("--no-cp-dce", help="skip constant propagation and dead-code elimination")
    ] = False,
    no_cloning: Annotated[bool, typer.Option("--no-cloning", help="skip cloning of cheap shared nodes")] = False,
    no_merging: Annotated[bool, typer.Option("--no-merging", help="keep the linear clusters unmerged")] = False,
    cost: Annotated[
        CostChoice,
        typer.Option(
            "--cost", help="cost source: measured (time the generated code), ort (ONNX Runtime profiler) or analytic"
        ),
    ] = CostChoice.auto,
    backend: Annotated[
        BackendChoice,
        typer.Option(
            "--backend",
            help="what computes each cluster: torch (the generated code), ort (ONNX Runtime on ONNX subgraphs) or auto (the faster, measured)",
        ),
    ] = BackendChoice.auto,
    run: Annotated[
        bool, typer.Option("--run", help="with --report: also execute, serial vs parallel vs ONNX Runtime")
    ] = False,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, max=10000, help="runs per variant with --run, and per Run in the app")
    ] = 20,
    threads: Annotated[
        str | None,
        typer.Option(
            "--threads",
            help="with --run: intra-op threads per worker: N, one count per worker (e.g. 3,1), or simulate "
            "(per-node scaling curves hand out every core); default: cores / workers",
        ),
    ] = None,
    scaling: Annotated[
        bool,
        typer.Option(
            "--scaling",
            help="with --report: profile every node at 1 and 2 threads and simulate intra-op, inter-op and hybrid "
            "plans at 2/4/8/16 cores",
        ),
    ] = False,
) -> None:
    """Ramiel TUI: parallel execution of ONNX models, with a terminal UI."""
    n_workers = parse_workers(workers)
    if not report and emit is None:  # the app: before any compiler import, so that it paints at once
        if model is not None and not model.is_file():
            fail(f"model file not found: {model}" if not model.exists() else f"not a file: {model}")
        if n_workers is None:
            fail("--workers auto needs --report or --emit (the app takes a number of workers)")
        launch_app(model, n_workers, batch, not no_cp_dce, not no_cloning, not no_merging, cost.value, repeat,
                   backend.value)  # fmt: skip
        return
    import signal
    import threading

    from core.errors import RamielError

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if model is None:
            fail("no model given; usage: ramiel-tui MODEL.onnx --report (or ramiel-tui alone for the file picker)")
        thread_counts = parse_threads(threads)
        from core.pipeline import compile_model
        from core.plan import PlanOptions

        options = PlanOptions(workers=n_workers or 2, batch=batch, cp_dce=not no_cp_dce, cloning=not no_cloning,
                              merging=not no_merging, cost=cost.value, backend=backend.value)  # fmt: skip
        from runtime.calibrate import ensure_profile

        ensure_profile()  # hand-off cost measured once per machine, then cached
        auto = None
        if n_workers is None:
            from core.scaling import auto_configuration

            auto = auto_configuration(model, options)
            compiled, n_workers = auto.compiled, auto.workers
            if thread_counts is None and auto.threads is not None:
                thread_counts = auto.threads
        else:
            compiled = compile_model(model, options)
        if emit is not None:
            path = compiled.serial.write(emit, compiled.module_name)
            typer.echo(f"wrote {path} and {path.with_suffix('.safetensors')}", err=report)
            from core.parallel_codegen import generate_parallel

            pm = generate_parallel(
                compiled.plan, source_model=os.path.abspath(compiled.source), backend=compiled.plan.backend
            )
            ppath = pm.write(emit, compiled.module_name + "_parallel")
            typer.echo(f"wrote {ppath} (the {compiled.plan.backend} plan, one function per worker)", err=report)
        if report:
            from ramiel_tui import report as rep

            data = rep.build_report(compiled)
            if auto is not None:
                data["workers_auto"] = {"workers": auto.workers, "threads": list(auto.threads or []),
                                        "reason": auto.reason}  # fmt: skip
            if run:
                data["run"] = measured_run(compiled, n_workers, repeat, thread_counts)
            if scaling:
                from core.cost import cpu_budget
                from core.scaling import scaling_table

                data["scaling"] = scaling_table(compiled.graph, sorted({2, 4, 8, 16, cpu_budget()}))
            if fmt is Format.json:
                typer.echo(rep.render_json(data))
            elif fmt is Format.markdown:
                typer.echo(rep.render_markdown(data), nl=False)
            else:
                from rich.console import Console

                rep.render_text(data, Console())
    except RamielError as exc:
        fail(str(exc))
    except OSError as exc:  # e.g. disk full or unwritable --emit folder
        fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except Terminated:
        fail("terminated", 143)
    except KeyboardInterrupt:
        fail("interrupted", 130)


def launch_app(model: Path | None, workers: int, batch: int, cp_dce: bool, cloning: bool, merging: bool, cost: str,
               repeat: int, backend: str = "torch") -> None:  # fmt: skip
    """The Textual app (imported here, so that --report and --emit never load Textual)."""
    from ramiel_tui.app import Options, create_app

    options = Options(workers=workers, batch=batch, cp_dce=cp_dce, cloning=cloning, merging=merging, cost=cost,
                      backend=backend)  # fmt: skip
    tui = create_app(model, options, repeats=repeat)
    tui.run()
    if tui.load_failed and tui.error:
        typer.echo(f"ramiel-tui: error: {tui.error}", err=True)
    if tui.return_code:
        raise typer.Exit(tui.return_code)


def parse_workers(text: str) -> int | None:
    """``--workers``: a count from 1 to 256, or "auto" (None)."""
    if text.strip() == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 256:
        fail(f"--workers {text!r}: give a number from 1 to 256, or auto")
    return n


def parse_threads(text: str | None) -> int | tuple[int, ...] | str | None:
    """``--threads``: None, "simulate", "4" or "3,1" (one count per worker)."""
    if text is None or text.strip() == "simulate":
        return None if text is None else "simulate"
    try:
        counts = tuple(int(t) for t in text.split(","))
    except ValueError:
        fail(f"--threads {text!r}: give a count, one count per worker (e.g. 3,1), or simulate")
    if min(counts) < 1:
        fail(f"--threads {text!r}: every count must be at least 1")
    return counts[0] if len(counts) == 1 else counts


def measured_run(compiled, workers: int, repeat: int, threads: int | tuple[int, ...] | str | None = None) -> dict:
    """Execute the plan: the same generated code serially and on the worker pool, and ONNX Runtime."""
    from runtime.measure import measure, measurement_dict
    from runtime.session import ParallelSession

    with ParallelSession(compiled.source, workers=workers, compiled=compiled, threads_per_worker=threads) as sess:
        return measurement_dict(measure(sess, repeats=repeat), sess)


def main() -> None:
    if os.environ.get("RAMIEL_DEBUG"):
        app()
        return
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001  (last resort: one line, no traceback)
        typer.echo(
            f"ramiel-tui: internal error: {type(exc).__name__}: {exc} (set RAMIEL_DEBUG=1 for a traceback)", err=True
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
