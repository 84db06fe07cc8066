"""Process identity: a zombie is not a live worker."""

from __future__ import annotations

import subprocess
import sys
import time

from sagelocal.service.execution.procs import process_start_time


def test_zombie_counts_as_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while process_start_time(proc.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # exited but not yet reaped: a zombie
    assert process_start_time(proc.pid) is None
    proc.wait()
