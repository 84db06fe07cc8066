"""Fixtures for the tests that need a Docker engine (``@pytest.mark.docker``).

``docker_client``: a client for a running engine. When none answers, it starts ``dockerd`` if it is installed
and we are root (and stops it again at the end of the session). Outside CI, tests skip when no engine can be
started, saying why; in CI (``CI=true``) they fail instead: .ci/docker-setup must have started one.

``own_images``: sagelocal-xgboost:3.0-5 and :1 built from the current source (.ci/docker-setup builds them;
here they are only re-tagged or rebuilt if the source changed since).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sagelocal.service import images

ENGINE_START_TIMEOUT = 60.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _start_dockerd(log_path: str) -> subprocess.Popen[bytes] | str:
    """Start dockerd; the process, or why it could not be started."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        return "dockerd is not installed (apt-get install docker.io, or run .ci/docker-setup)"
    if os.geteuid() != 0:
        return "dockerd is installed but not running, and starting it needs root"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + ENGINE_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"dockerd exited with code {proc.returncode} (see {log_path})"
        try:
            images.docker_client().close()
            return proc
        except images.DockerUnavailable:
            time.sleep(0.5)
    proc.terminate()
    return f"dockerd did not answer within {ENGINE_START_TIMEOUT:g} s (see {log_path})"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    started: subprocess.Popen[bytes] | None = None
    try:
        client = images.docker_client()
    except images.DockerUnavailable as unreachable:
        outcome = _start_dockerd(os.path.join(os.environ.get("TMPDIR", "/tmp"), "sagelocal-test-dockerd.log"))
        if isinstance(outcome, str):
            reason = f"{unreachable}; {outcome}"
            if in_ci():
                pytest.fail(f"CI needs a Docker engine: {reason}", pytrace=False)
            pytest.skip(f"No Docker engine: {reason}")
        started = outcome
        client = images.docker_client()
    try:
        yield client
    finally:
        client.close()
        if started is not None:
            started.terminate()
            try:
                started.wait(30)
            except subprocess.TimeoutExpired:
                started.kill()


@pytest.fixture(scope="session")
def own_images(docker_client: Any) -> dict[str, str]:
    """``{"3.0-5": "sagelocal-xgboost:3.0-5", "1": "sagelocal-xgboost:1"}``, current with the source."""
    return {v: images.ensure_image(v, client=docker_client, log=lambda _line: None) for v in ("3.0-5", "1")}
