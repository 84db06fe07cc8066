"""Runner "process": the built-in XGBoost algorithm in a child Python process over the job's layout.

The child is ``python -u -m sagelocal.emulator.algorithms.xgboost train --ml-root DIR --image-version V`` with
the request's Environment merged in; its stdout and stderr are read line by line. On Linux the child gets
SIGKILL if its parent (the job supervisor) dies, so a killed supervisor never leaves training running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sagelocal.emulator.algorithms.xgboost.versions import UnknownImage, version_from_image_uri
from sagelocal.emulator.runners.base import STOP_GRACE_SECONDS, AlgorithmRun, RunnerError, RunOutcome

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])


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


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    env["PYTHONUNBUFFERED"] = "1"
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_PARENT + (os.pathsep + path if path else "")
    return env


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
                raise RunnerError(f"ClientError: {e}") from None

    def run(self, run: AlgorithmRun, stop: threading.Event, deadline: float | None) -> RunOutcome:
        version = run.image_version
        if version is None:
            try:
                version = version_from_image_uri(run.image_uri).name
            except UnknownImage as e:
                raise RunnerError(f"ClientError: {e}") from None
        cmd = [
            sys.executable,
            "-u",
            "-m",
            "sagelocal.emulator.algorithms.xgboost",
            "train",
            "--ml-root",
            str(run.ml_root),
            "--image-version",
            version,
        ]
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=child_env(run.environment),
                cwd=str(run.ml_root),
                preexec_fn=_parent_death_signal(),
            )
        except OSError as e:
            raise RunnerError(f"InternalServerError: could not start the algorithm: {e}") from None

        ended_by: list[str] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                timeout = 0.05
                if deadline is not None:
                    timeout = max(0.0, min(timeout, deadline - time.monotonic()))
                if stop.wait(timeout):
                    ended_by.append("stop")
                elif deadline is not None and time.monotonic() >= deadline:
                    ended_by.append("max_runtime")
                else:
                    continue
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                return

        watcher = threading.Thread(target=watch, name="sagelocal-stop-watch", daemon=True)
        watcher.start()
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                run.on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
        finally:
            proc.stdout.close()
            code = proc.wait()
            done.set()
            watcher.join()
        reason = ended_by[0] if ended_by else "exit"
        return RunOutcome(exit_code=exit_code(code), ended_by=reason)  # type: ignore[arg-type]
