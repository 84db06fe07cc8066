"""A real ``sagelocal serve`` process for tests: uvicorn on 127.0.0.1, a free port, its own SAGELOCAL_HOME.

Use the ``sagelocal_server`` fixture (one server per test module) or the ``running_server`` context manager::

    from support.server_fixture import running_server

    def test_something(sagelocal_server):
        s3 = sagelocal_server.client("s3")
        subprocess.run([...], env=sagelocal_server.subprocess_env())

``server.env`` holds what a notebook needs (the endpoint variables, dummy credentials, the region, and the
SageMaker SDK config that opts out of telemetry); ``subprocess_env()`` is ``os.environ`` without any real AWS
configuration plus ``server.env``.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ENDPOINT_URL_STS",
)
SDK_CONFIG = """\
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


def breast_cancer_csv(rows: int | None = None) -> bytes:
    """scikit-learn's breast-cancer data as CSV the built-in XGBoost reads: label first, no header."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    lines = [
        ",".join([str(int(label)), *(f"{v:.6g}" for v in features)])
        for label, features in zip(data.target, data.data, strict=True)
    ]
    return ("\n".join(lines[:rows]) + "\n").encode()


def clean_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without any AWS or SageMaker SDK configuration of the machine."""
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if (
            name.startswith(("AWS_", "SAGEMAKER_"))
            or name == "SAGELOCAL_HOME"
            or name.lower().endswith("_proxy")
        ):
            del env[name]
    return env


@dataclass
class Server:
    url: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        env = clean_environ()
        env.update(self.env)
        env.update(extra)
        return env

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` aimed at this server, with dummy credentials."""
        import boto3

        session = boto3.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=DUMMY_CREDENTIALS["AWS_DEFAULT_REGION"],
        )
        kwargs.setdefault("endpoint_url", self.url)
        # boto3-stubs types client() per literal service name; this helper serves any of them.
        return session.client(service, **kwargs)  # type: ignore[call-overload]

    def log_text(self) -> str:
        return "".join(self.output)


def _pump(stream: Any, sink: list[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        sink.append(line)
        lines.put(line)
    lines.put(None)


@contextmanager
def running_server(
    home: Path, backend: str = "local", extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start ``python -m sagelocal.server.run --port 0`` with SAGELOCAL_HOME=``home``; stop it on exit."""
    home.mkdir(parents=True, exist_ok=True)
    aws_dir = home.parent / f"{home.name}-aws"
    aws_dir.mkdir(parents=True, exist_ok=True)
    sdk_config = aws_dir / "sagemaker-config.yaml"
    sdk_config.write_text(SDK_CONFIG)
    no_files = {
        "AWS_CONFIG_FILE": str(aws_dir / "missing-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_dir / "missing-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    server_env = clean_environ()
    server_env.update(DUMMY_CREDENTIALS)
    server_env.update(no_files)
    server_env["SAGELOCAL_HOME"] = str(home)
    server_env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + server_env.get("PYTHONPATH", "")
    server_env["PYTHONUNBUFFERED"] = "1"
    server_env.update(extra_env or {})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagelocal.server.run",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--backend",
            backend,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=server_env,
        cwd=str(REPO_ROOT),
    )
    output: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, output, lines), daemon=True).start()
    try:
        url = _wait_for_url(process, lines, output)
        _wait_until_healthy(url, process, output)
        env = dict(DUMMY_CREDENTIALS)
        env.update(no_files)
        env.update({name: url for name in ENDPOINT_VARIABLES})
        env["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(sdk_config)
        env["SAGEMAKER_ADMIN_CONFIG_OVERRIDE"] = str(sdk_config)
        yield Server(url=url, home=home, env=env, process=process, output=output)
    finally:
        _stop(process)


def _wait_for_url(process: subprocess.Popen[str], lines: queue.Queue[str | None], output: list[str]) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    prefix = "export AWS_ENDPOINT_URL_SAGEMAKER="
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    process.kill()
    raise RuntimeError(f"sagelocal serve did not start:\n{''.join(output)}")


def _wait_until_healthy(url: str, process: subprocess.Popen[str], output: list[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/_sagelocal/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sagelocal serve is not answering at {url}:\n{''.join(output)}")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def sagelocal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``sagelocal serve`` (backend local) per test module, with its own state directory."""
    with running_server(tmp_path_factory.mktemp("sagelocal-serve") / "home") as server:
        yield server
