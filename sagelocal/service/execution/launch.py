"""Starting a job's supervisor: a detached process, in its own session, that outlives whoever created the job.

A cold start runs ``python -m sagelocal.service.execution.supervisor <name>``; a long-lived emulator forks it
from a warm fork server instead (``warm.py``). Either way its own output goes to the job's supervisor log.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any, Protocol

from sagelocal.config import StatePaths
from sagelocal.service.execution.procs import SAFE_PYTHON_FLAGS, python_env


class Launcher(Protocol):
    def start_supervisor(self, paths: StatePaths, name: str) -> Any:
        """Start job ``name``'s supervisor; returns its process handle (``.pid``; ``.poll()`` or
        ``.exitcode``)."""
        ...


class ColdLauncher:
    """Starts each supervisor as a new Python process."""

    def start_supervisor(self, paths: StatePaths, name: str) -> subprocess.Popen[bytes]:
        env = python_env({"SAGELOCAL_HOME": str(paths.home)})
        with open(paths.supervisor_log(name), "ab") as log:
            return subprocess.Popen(
                [sys.executable, *SAFE_PYTHON_FLAGS, "-m", "sagelocal.service.execution.supervisor", name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(paths.job_dir(name)),
                start_new_session=True,
                close_fds=True,
            )


class Children:
    """The supervisors this process started, kept until they exit so that none lingers as a zombie."""

    def __init__(self) -> None:
        self._procs: dict[str, Any] = {}  # subprocess.Popen, or multiprocessing.Process when warm
        self._lock = threading.Lock()

    def add(self, name: str, proc: Any) -> None:
        with self._lock:
            self._procs[name] = proc
        self.reap()

    def reap(self) -> None:
        """Collect the exit statuses of those that ended."""
        with self._lock:
            for name, proc in list(self._procs.items()):
                if (proc.poll() if hasattr(proc, "poll") else proc.exitcode) is not None:
                    del self._procs[name]
