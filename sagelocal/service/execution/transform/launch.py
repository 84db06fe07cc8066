"""Starting a transform job's supervisor: a detached process, in its own session, that outlives whoever created
the job (as training jobs' and endpoints' supervisors do). Its own output goes to the job's supervisor log.
Also the clean-up of a docker job whose supervisor died: its containers do not die with it."""

from __future__ import annotations

import subprocess
import sys

from sagelocal.config import StatePaths
from sagelocal.service.execution.procs import SAFE_PYTHON_FLAGS, python_env

#: Labels on a transform job's containers: the job's name and the state folder it belongs to.
JOB_LABEL = "org.sagelocal.transform-job"
HOME_LABEL = "org.sagelocal.home"


def start_transform_supervisor(paths: StatePaths, name: str) -> subprocess.Popen[bytes]:
    folder = paths.transform_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    env = python_env({"SAGELOCAL_HOME": str(paths.home)})
    with open(paths.transform_supervisor_log(name), "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                *SAFE_PYTHON_FLAGS,
                "-m",
                "sagelocal.service.execution.transform.supervisor",
                name,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(folder),
            start_new_session=True,
            close_fds=True,
        )


def job_labels(paths: StatePaths, name: str) -> dict[str, str]:
    return {JOB_LABEL: name.lower(), HOME_LABEL: str(paths.home)}


def remove_job_containers(paths: StatePaths, name: str) -> None:
    """Best effort: remove the containers of job ``name`` (of this state folder)."""
    try:
        from sagelocal.service import images
        from sagelocal.service.execution.hosting.container import remove_container

        client = images.docker_client()
        filters: dict[str, str | list[str] | bool] = {
            "label": [f"{k}={v}" for k, v in job_labels(paths, name).items()]
        }
        for container in client.containers.list(all=True, filters=filters):
            remove_container(container)
    except Exception:
        pass
