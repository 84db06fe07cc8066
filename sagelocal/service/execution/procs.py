"""The processes a job runs in: the environment every child Python gets, and process identity, to tell a live
job supervisor from a dead one whose pid the OS has handed to another process (a pid plus the start time the OS
reports for it: ``/proc/<pid>/stat`` field 22, proc(5))."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The folder that holds the ``sagelocal`` package this process runs.
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])

#: A child Python runs in a job's folder, which holds files a request chose (restored checkpoint objects may
#: land anywhere under /opt/ml). ``-P`` keeps that working directory off ``sys.path``, so no such file can
#: shadow a module (https://docs.python.org/3/using/cmdline.html#cmdoption-P).
SAFE_PYTHON_FLAGS = ("-P",)


def python_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra``, with this ``sagelocal`` first on PYTHONPATH: a child
    ``python -m sagelocal…`` runs the same code as its parent whatever its working directory (a job folder).

    ``extra`` is sagelocal's own: a request's Environment goes through ``environment.host_environment`` first."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_PARENT + (os.pathsep + path if path else "")
    return env


def process_start_time(pid: int) -> str | None:
    """An identity for the running process ``pid``: its start time as the OS reports it. ``None`` when no such
    process is running (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            return None
        return fields[19]
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:
        import psutil  # not on Linux: slower, optional

        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return repr(p.create_time())
    except Exception:
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return "unknown"


def worker_alive(pid: int | None, start: str | None) -> bool:
    """True while process ``pid`` runs and is the one whose start time was recorded as ``start``."""
    if pid is None:
        return False
    current = process_start_time(pid)
    if current is None:
        return False
    return start in (None, "unknown") or current == start
