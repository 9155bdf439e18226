"""The gateway process tunes its garbage collector before it serves (``tune_gc``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_tune_gc_freezes_start_up_objects_and_raises_the_threshold() -> None:
    # In a child process: the test process's own collector stays as it is.
    code = (
        "import gc\n"
        "from serving.gateway import GC_THRESHOLD0, tune_gc\n"
        "assert gc.get_freeze_count() == 0 and gc.get_threshold()[0] == 700\n"
        "tune_gc()\n"
        "print(gc.get_freeze_count(), gc.get_threshold()[0] == GC_THRESHOLD0 > 700)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    frozen, raised = result.stdout.split()
    assert int(frozen) > 10_000  # FastAPI, pydantic, NumPy...: everything imported so far
    assert raised == "True"
