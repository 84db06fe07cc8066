"""Starting a deployment's supervisor: a detached process, in its own session, that outlives whoever made the
endpoint (as training jobs' supervisors do, ``execution/launch.py``). Its own output goes to its log file."""

from __future__ import annotations

import subprocess
import sys

from sagelocal.config import StatePaths
from sagelocal.service.execution.procs import python_env


def start_deployment_supervisor(paths: StatePaths, name: str, generation: int) -> subprocess.Popen[bytes]:
    folder = paths.endpoint_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    env = python_env({"SAGELOCAL_HOME": str(paths.home)})
    with open(paths.endpoint_supervisor_log(name, generation), "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sagelocal.service.execution.hosting.supervisor", name, str(generation)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(folder),
            start_new_session=True,
            close_fds=True,
        )
