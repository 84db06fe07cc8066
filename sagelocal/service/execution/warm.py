"""Warm starts for a long-lived emulator (``sagelocal serve``).

Starting a job's algorithm in a fresh Python costs seconds of imports (XGBoost alone pulls in scikit-learn and
SciPy). A long-lived emulator instead starts each job's supervisor from a multiprocessing fork server that has
imported the algorithm's dependencies once (``algorithms/xgboost/preload.py``); the supervisor then forks the
algorithm from that warm state (``runners/process.py``). Supervisors started this way are still detached: their
own session, their own log file, and they outlive the server.

The fork server and multiprocessing's resource tracker live exactly as long as the server, even when it is
killed with SIGKILL: each exits when every holder of its pipe's write end is gone, and a supervisor lets go of
the copies multiprocessing hands it (``detach_from_server``), so only the server holds them. The fork server's
socket lives in a folder under the state folder (``StatePaths.process_temp``), not in the system's ``/tmp``; the
fork server removes it when it exits, and the next server removes one whose fork server was killed too.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
from multiprocessing import forkserver, process, resource_tracker
from pathlib import Path
from typing import Any

from sagelocal.config import StatePaths
from sagelocal.service.execution import supervisor

PRELOAD = ["sagelocal.algorithms.xgboost.preload", "sagelocal.service.execution.warm"]
#: The longest AF_UNIX socket path Linux accepts (``sun_path`` is 108 bytes with its NUL), and the length of the
#: name multiprocessing gives the fork server's socket inside its temp folder (``/listener-xxxxxxxx``).
_MAX_SOCKET_PATH = 107
_LISTENER_NAME_LENGTH = 18


def available() -> bool:
    return sys.platform.startswith("linux")


class WarmLauncher:
    """Starts job supervisors as children of a fork server that preloaded the algorithm's imports."""

    def __init__(self, paths: StatePaths) -> None:
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        self._paths = paths

    def warm_up(self) -> None:
        """Start the fork server now, so the first job does not pay for its imports."""
        use_state_temp(self._paths)
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


def use_state_temp(paths: StatePaths) -> None:
    """Give this process's multiprocessing a temp folder under the state folder (where the fork server's
    socket goes; ``remove_socket_folder`` removes it); first remove the folders of servers whose fork server was
    killed too. Left in the system's temp folder only when the state folder's path is too long for a socket
    path (``remove_socket_folder`` removes that one as well)."""
    _remove_dead_process_temps(paths)
    folder = paths.process_temp(os.getpid())
    if len(str(folder)) + _LISTENER_NAME_LENGTH > _MAX_SOCKET_PATH:
        return
    config = process.current_process()._config  # type: ignore[attr-defined]
    if config.get("tempdir") is not None:  # already made (e.g. an earlier Emulator in this process)
        return
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    config["tempdir"] = str(folder)


def remove_socket_folder() -> None:
    """At exit of the server or of its fork server (which imports this module, see PRELOAD): remove the
    folder of the fork server's socket. The fork server exits when the server does, however it ends (uvicorn
    ends on SIGTERM by re-raising it, so the server's own exit handlers do not run then). Processes forked from
    either (jobs) inherit the handler, and it does nothing in them."""
    if os.getpid() != _IMPORTED_BY:
        return
    address = forkserver._forkserver._forkserver_address  # type: ignore[attr-defined]
    if isinstance(address, str):
        folder = Path(address).parent
        if folder.name.startswith(("mp-", "pymp-")):
            shutil.rmtree(folder, ignore_errors=True)


_IMPORTED_BY = os.getpid()
atexit.register(remove_socket_folder)


def _remove_dead_process_temps(paths: StatePaths) -> None:
    if not paths.temp.is_dir():
        return
    for entry in paths.temp.glob("mp-*"):
        pid_text = entry.name[len("mp-") :]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def detach_from_server() -> None:
    """Close the write ends of the fork server's "alive" pipe and of the resource tracker's pipe that
    multiprocessing passes every process the fork server starts. Held by a long-running job, they would keep
    both helpers alive after the server that owns them died; the job needs neither (a tracker it might need is
    started afresh, its own)."""
    # Private state of multiprocessing (CPython 3.11's forkserver._serve_one sets both), hence Any.
    server: Any = forkserver._forkserver
    tracker: Any = resource_tracker._resource_tracker
    for fd in (server._forkserver_alive_fd, tracker._fd):
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
    server._forkserver_alive_fd = None
    tracker._fd = None
    tracker._pid = None


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
    detach_from_server()
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
