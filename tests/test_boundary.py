"""core, runtime and the headless report never import Textual."""

from __future__ import annotations

import subprocess
import sys


def test_core_runtime_report_do_not_import_textual():
    code = (
        "import sys, core, core.ops, core.codegen, core.pipeline, runtime, ramiel_tui.report, ramiel_tui.cli; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
