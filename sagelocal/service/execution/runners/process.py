"""Runner "process": the built-in XGBoost algorithm in a child Python process over the job's layout.

The child is ``python -P -u -m sagelocal.algorithms.xgboost train --ml-root DIR --image-version V`` with the request's
Environment merged in, except the variables that would act on this machine's interpreter or loader
(``execution/environment.py``; the job's log names them), or, in a supervisor started warm by a long-lived
emulator, the same ``main()`` forked from the already-imported algorithm. Its stdout and stderr are read line by
line. On Linux the child gets SIGKILL if its parent (the job supervisor) dies, so a killed supervisor never leaves
training running.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from sagelocal.algorithms.xgboost.versions import UnknownImage, version_from_image_uri
from sagelocal.aws.errors import CLIENT_ERROR, INTERNAL_SERVER_ERROR
from sagelocal.contract import HOST_ADDRESSES_ENV, RABIT_PORT_ENV, Layout
from sagelocal.service.execution.environment import host_environment
from sagelocal.service.execution.procs import SAFE_PYTHON_FLAGS, python_env
from sagelocal.service.execution.runners.base import (
    AlgorithmRun,
    Cluster,
    RunnerError,
    RunOutcome,
    StopWatch,
)


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its parent dies (PR_SET_PDEATHSIG). libc is
    resolved here, in the parent: the child, forked from a threaded process, only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1

    return preexec


def child_env(ml_root: Path, applied: Mapping[str, str]) -> dict[str, str]:
    """The algorithm's environment: this process's, the request's variables that may apply on this machine
    (``environment.host_environment``), and the container's own ``/tmp`` (inside the job's folder) as the
    temporary folder, so that nothing the job writes lands outside its folder."""
    tmp = Layout(ml_root).resolve("/tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    return python_env({**applied, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp)})


def warm() -> bool:
    """True in a supervisor started from the warm fork server: the algorithm is already imported here, so
    forking it is far cheaper than starting a new Python (see execution/warm.py)."""
    return "sagelocal.algorithms.xgboost.preload" in sys.modules


class ForkedAlgorithm:
    """The algorithm's ``main()`` in a child forked from this warm process, with the handful of
    ``subprocess.Popen`` members the runner uses (``pid``, ``stdout``, ``poll``, ``wait``, ``terminate``, ``kill``).
    Only the forking thread exists in the child, which runs nothing of the supervisor's."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        death_signal = _parent_death_signal()
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(read_end)
                if death_signal is not None:
                    death_signal()
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(write_end, 1)
                os.dup2(write_end, 2)
                os.close(null)
                os.close(write_end)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                # The job's folder holds files a request chose (restored checkpoints): never import from it.
                sys.path[:] = [p for p in sys.path if os.path.isabs(p)]
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                tempfile.tempdir = None  # computed again from TMPDIR, not inherited from the fork server
                from sagelocal.algorithms.xgboost.entry import main

                code = main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_end)
        self.pid = pid
        self.stdout = os.fdopen(read_end, "rb")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired(f"algorithm pid {self.pid}", timeout or 0.0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def _signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


LOOPBACK = "127.0.0.1"


def free_port_pair() -> int:
    """A port ``p`` such that ``p`` and ``p + 1`` are free on the loopback address just now (the image's two
    collective rounds use a port and the next)."""
    for _ in range(100):
        with socket.socket() as first:
            first.bind((LOOPBACK, 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind((LOOPBACK, port + 1))
                except OSError:
                    continue
                return port
    raise RunnerError(INTERNAL_SERVER_ERROR, "sagelocal found no free pair of loopback ports")


def exit_code(returncode: int) -> int:
    """A signal death as a shell (and Docker) reports it: 128 + signal number."""
    return 128 - returncode if returncode < 0 else returncode


class ProcessRunner:
    name = "process"

    def prepare_image(self, image_uri: str, image_version: str | None) -> None:
        if image_version is None:
            try:
                version_from_image_uri(image_uri or "")
            except UnknownImage as e:
                raise RunnerError(CLIENT_ERROR, str(e)) from None

    def open_cluster(self, job: str, hosts: list[str]) -> Cluster:
        """The hosts share this machine's network: each name maps to the loopback address, and the trackers
        listen on a free pair of ports rather than the image's fixed 9099/9100, so that jobs side by side do
        not meet."""
        return Cluster(
            environment={
                HOST_ADDRESSES_ENV: json.dumps({host: LOOPBACK for host in hosts}),
                RABIT_PORT_ENV: str(free_port_pair()),
            }
        )

    def close_cluster(self, cluster: Cluster) -> None:
        pass

    def run(self, run: AlgorithmRun, stop: threading.Event, deadline: float | None) -> RunOutcome:
        version = run.image_version
        if version is None:
            try:
                version = version_from_image_uri(run.image_uri).name
            except UnknownImage as e:
                raise RunnerError(CLIENT_ERROR, str(e)) from None
        argv = ["train", "--ml-root", str(run.ml_root), "--image-version", version]
        request_env = host_environment(run.environment)
        for notice in request_env.notices():
            run.on_line(notice)
        env = child_env(run.ml_root, {**request_env.applied, **run.platform_env})
        proc: subprocess.Popen[bytes] | ForkedAlgorithm
        try:
            if warm():
                proc = ForkedAlgorithm(argv, env, str(run.ml_root))
            else:
                proc = subprocess.Popen(
                    [sys.executable, *SAFE_PYTHON_FLAGS, "-u", "-m", "sagelocal.algorithms.xgboost", *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=str(run.ml_root),
                    preexec_fn=_parent_death_signal(),
                )
        except OSError as e:
            raise RunnerError(INTERNAL_SERVER_ERROR, f"could not start the algorithm: {e}") from None

        assert proc.stdout is not None
        with StopWatch(stop, deadline, terminate=proc.terminate, kill=proc.kill) as watch:
            try:
                for raw in proc.stdout:
                    run.on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
            finally:
                proc.stdout.close()
                code = proc.wait()
        return RunOutcome(exit_code=exit_code(code), ended_by=watch.ended_by)
