"""An endpoint instance: the image's ``serve`` over one instance folder, reachable on a loopback port.

SageMaker starts ``docker run <image> serve`` with the model extracted into ``/opt/ml/model`` and the model's
``Environment`` (reference inference §1). Runner ``process`` runs the algorithm's ``serve`` in a child Python
process (``python -m sagelocal.algorithms.xgboost serve --ml-root <instance folder> --port P --host 127.0.0.1``)
that Linux kills if its supervisor dies; runner ``docker`` runs the same image as training
(``runners/container.py`` resolves it), its port 8080 published on 127.0.0.1 (``container.py`` here). Either
way every output line goes to ``on_line`` from a reader thread, and the caller polls :meth:`exit_code`.
"""

from __future__ import annotations

import http.client
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sagelocal.service.execution.environment import host_environment
from sagelocal.service.execution.procs import SAFE_PYTHON_FLAGS
from sagelocal.service.execution.runners.process import _parent_death_signal, child_env, exit_code

#: Seconds a stopped instance gets between SIGTERM and SIGKILL (SageMaker gives a container 30 s).
STOP_GRACE_SECONDS = 5.0


def new_instance_id() -> str:
    """An EC2-style instance id, as in SageMaker's endpoint log stream names (``AllTraffic/i-0eb94294080366ebe``)."""
    return "i-0" + secrets.token_hex(8)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(port: int, timeout: float = 2.0) -> int | None:
    """``GET /ping`` on 127.0.0.1:``port``: the status, or None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/ping", headers={"User-Agent": "AHC/2.0"})  # SageMaker's health checker
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


@dataclass
class InstanceSpec:
    """What one instance runs."""

    ml_root: Path  # the instance folder, laid out by the contract (model/ holds the extracted model)
    image_uri: str
    image_version: str | None  # sagelocal's XGBoost version for that image, if it is one
    environment: dict[str, str] = field(default_factory=dict)  # the model's container Environment
    on_line: Callable[[str], None] = print
    labels: dict[str, str] = field(default_factory=dict)  # the container's labels (docker)


class RunningInstance(Protocol):
    port: int
    container: str | None  # the container id (docker) or None

    def exit_code(self) -> int | None:
        """The exit code once it has ended (128 + N for signal N), else None."""
        ...

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_GRACE_SECONDS; wait for the end and for its output."""
        ...


class ProcessInstance:
    """``serve`` in a child Python process."""

    container: str | None = None

    def __init__(self, spec: InstanceSpec, port: int) -> None:
        if spec.image_version is None:
            raise ValueError("the process runner serves sagelocal's XGBoost versions only")
        self.port = port
        command = [sys.executable, "-u", "-m", "sagelocal.algorithms.xgboost", "serve"]
        command += ["--ml-root", str(spec.ml_root), "--image-version", spec.image_version]
        command += ["--port", str(port), "--host", "127.0.0.1"]
        # The model's Environment applies as a training job's does: host-affecting variables are withheld on the
        # local backend, and the instance's log says so in a line of sagelocal's own.
        request_env = host_environment(spec.environment)
        for notice in request_env.notices():
            spec.on_line(notice)
        self._proc = subprocess.Popen(
            [sys.executable, *SAFE_PYTHON_FLAGS, *command[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child_env(spec.ml_root, request_env.applied),
            cwd=str(spec.ml_root),
            preexec_fn=_parent_death_signal(),
        )
        self.pid = self._proc.pid
        self._reader = threading.Thread(target=self._pump, args=(spec.on_line,), daemon=True)
        self._reader.start()

    def _pump(self, on_line: Callable[[str], None]) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def exit_code(self) -> int | None:
        code = self._proc.poll()
        return None if code is None else exit_code(code)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout=STOP_GRACE_SECONDS)


def wait_healthy(instance: RunningInstance, timeout: float, stop: threading.Event) -> int | None:
    """Ping until the instance answers (its status: 200 is healthy), ends, ``stop`` is set or ``timeout``
    passes (None for the last three)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if instance.exit_code() is not None:
            return None
        status = ping(instance.port)
        if status is not None:
            return status
        stop.wait(0.05)
    return None
