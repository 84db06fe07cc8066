"""Warm starts for a long-lived emulator (``sagelocal serve``).

Starting a job's algorithm in a fresh Python costs seconds of imports (XGBoost alone pulls in scikit-learn and
SciPy). A long-lived emulator instead starts each job's supervisor from a multiprocessing fork server that has
imported the algorithm's dependencies once (``algorithms/xgboost/preload.py``); the supervisor then forks the
algorithm from that warm state (``runners/process.py``). Supervisors started this way are still detached: their
own session, their own log file, and they outlive the server.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

from sagelocal.config import StatePaths
from sagelocal.service.execution import supervisor

PRELOAD = ["sagelocal.algorithms.xgboost.preload", "sagelocal.service.execution.warm"]


def available() -> bool:
    return sys.platform.startswith("linux")


class WarmLauncher:
    """Starts job supervisors as children of a fork server that preloaded the algorithm's imports."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)

    def warm_up(self) -> None:
        """Start the fork server now, so the first job does not pay for its imports."""
        forkserver.ensure_running()

    def start_supervisor(self, paths: StatePaths, name: str) -> Any:
        """Start the supervisor of job ``name``; returns the ``multiprocessing.Process`` (``.pid``, ``.exitcode``)."""
        process = self._ctx.Process(
            target=detached_main,
            args=(str(paths.home), name, str(paths.supervisor_log(name))),
            name=f"sagelocal-job-{name}",
        )
        process.start()
        return process


def redirect_output(log_path: str) -> None:
    """Point fds 0/1/2 of the current process at /dev/null and ``log_path`` (append)."""
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)


def detached_main(home: str, name: str, log_path: str) -> None:
    """The supervisor started from the warm fork server instead of ``python -m``: detach into its own session
    with its output in the job's log file, as the cold start does, then run the job."""
    os.setsid()
    redirect_output(log_path)
    os.environ["SAGELOCAL_HOME"] = home
    supervisor.install_stop_handler()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = 1
    try:
        code = supervisor.run_job(Path(home), name)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
