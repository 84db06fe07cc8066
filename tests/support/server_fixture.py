"""A real ``sagelocal serve`` process for tests: uvicorn on 127.0.0.1, a free port, its own SAGELOCAL_HOME.

Use the ``sagelocal_server`` fixture (one server per test module) or the ``running_server`` context manager::

    from support.server_fixture import running_server

    def test_something(sagelocal_server):
        s3 = sagelocal_server.client("s3")
        subprocess.run([...], env=sagelocal_server.subprocess_env())

``server.env`` holds what a notebook needs, read from the ``export`` lines the server prints: the endpoint
variables, the server's own credentials (every request must be signed with them), the region, and the
SageMaker SDK config that opts out of telemetry. ``subprocess_env()`` is ``os.environ`` without any real AWS
configuration plus ``server.env``. ``server.send(...)`` sends one raw HTTP request byte for byte, signed with
those credentials (or others, or none) by botocore's signers.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
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
from urllib.parse import unquote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from sagelocal.server.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0
REGION = "us-east-1"
#: What the server process itself gets: credentials nothing accepts, so no request of the server's own can
#: accidentally be signed with what the clients use.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_CLOUDWATCH",
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


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    headers: dict[str, str]


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

    @property
    def credentials(self) -> Credentials:
        """The credentials the server printed (and keeps in ``<home>/credentials.json``)."""
        return Credentials(self.env["AWS_ACCESS_KEY_ID"], self.env["AWS_SECRET_ACCESS_KEY"])

    def signed_headers(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        service: str = "s3",
        credentials: Credentials | None = None,
    ) -> dict[str, str]:
        """``headers`` plus the SigV4 headers botocore adds when it signs ``method path`` (``path`` raw, with
        its query) for ``service`` with ``credentials`` (default: the server's). A ``Host`` in ``headers`` is
        signed as given; otherwise the server's ``127.0.0.1:<port>`` is, and added."""
        creds = credentials or self.credentials
        raw_path, _, raw_query = path.partition("?")
        request = AWSRequest(method=method, url=self.url + raw_path, data=body, headers=dict(headers or {}))
        if "Host" not in request.headers:
            request.headers["Host"] = urlsplit(self.url).netloc
        # Query pairs decoded once, as the server reads them; the signer encodes them canonically.
        pairs = []
        for piece in raw_query.split("&") if raw_query else []:
            name, _, value = piece.partition("=")
            pairs.append((unquote(name), unquote(value)))
        request.params = pairs  # type: ignore[assignment]
        # S3SigV4Auth signs the body's hash; a payload mode the caller chose (streaming, unsigned) is signed
        # as given by the generic signer, which honours an X-Amz-Content-SHA256 already set.
        declared = any(name.lower() == "x-amz-content-sha256" for name in request.headers)
        signer_class = S3SigV4Auth if service == "s3" and not declared else SigV4Auth
        signer_class(
            BotocoreCredentials(creds.access_key_id, creds.secret_access_key), service, REGION
        ).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        service: str | None = "s3",
        credentials: Credentials | None = None,
    ) -> RawResponse:
        """Send ``method path`` byte for byte (http.client does not normalise ``..`` or percent-escapes),
        signed for ``service`` (None: unsigned, as a browser or curl sends it)."""
        if service is not None:
            headers = self.signed_headers(
                method, path, body, headers, service=service, credentials=credentials
            )
        all_headers = dict(headers or {})
        host = all_headers.pop("Host", urlsplit(self.url).netloc)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host)
            conn.putheader("Content-Length", str(len(body)))
            for name, value in all_headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            if body:
                conn.send(body)
            response = conn.getresponse()
            return RawResponse(response.status, response.read(), dict(response.getheaders()))
        finally:
            conn.close()

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        env = clean_environ()
        env.update(self.env)
        env.update(extra)
        return env

    def client(self, service: str, credentials: Credentials | None = None, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` aimed at this server, with its printed credentials (or others)."""
        import boto3

        creds = credentials or self.credentials
        session = boto3.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            region_name=self.env["AWS_DEFAULT_REGION"],
        )
        kwargs.setdefault("endpoint_url", self.url)
        # boto3-stubs types client() per literal service name; this helper serves any of them.
        return session.client(service, **kwargs)  # type: ignore[call-overload]

    def log_text(self) -> str:
        return "".join(self.output)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def aws_chunked_body(
    credentials: Credentials,
    signed_headers: dict[str, str],
    pieces: list[bytes],
    trailer: list[tuple[str, str]] | None = None,
) -> bytes:
    """A ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`` body for a request signed with ``signed_headers``:
    each piece a chunk, then the final empty chunk (and the signed trailer), the chained signatures computed
    here from the formulas of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
    …/sigv4-streaming-trailers.html, independently of sagelocal's verifier."""
    timestamp = signed_headers["X-Amz-Date"]
    previous = signed_headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{timestamp[:8]}/{REGION}/s3/aws4_request"
    key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), timestamp[:8])
    for part in (REGION, "s3", "aws4_request"):
        key = _hmac(key, part)
    empty = hashlib.sha256(b"").hexdigest()
    body = b""
    for data in [*pieces, b""]:
        text = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, empty, hashlib.sha256(data).hexdigest()]
        )
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        body += f"{len(data):x};chunk-signature={previous}\r\n".encode() + data
        if data:
            body += b"\r\n"
    if trailer is None:
        return body + b"\r\n"
    lines = "".join(f"{name}:{value}\n" for name, value in trailer)
    text = "\n".join(
        ["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous, hashlib.sha256(lines.encode()).hexdigest()]
    )
    signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    for name, value in trailer:
        body += f"{name}:{value}\r\n".encode()
    return body + f"x-amz-trailer-signature:{signature}\r\n\r\n".encode()


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
        exported = _wait_for_exports(process, lines, output)
        url = exported["AWS_ENDPOINT_URL_SAGEMAKER"]
        _wait_until_healthy(url, process, output)
        # What a user pastes: the printed lines (credentials, endpoints, region, the SDK config serve wrote),
        # plus the isolation from this machine's own AWS configuration.
        env = dict(exported)
        env.update(no_files)
        env["SAGEMAKER_ADMIN_CONFIG_OVERRIDE"] = str(sdk_config)
        yield Server(url=url, home=home, env=env, process=process, output=output)
    finally:
        _stop(process)


def _wait_for_exports(
    process: subprocess.Popen[str], lines: queue.Queue[str | None], output: list[str]
) -> dict[str, str]:
    """The ``export NAME=value`` lines serve prints, up to the last one (the SDK config)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    exported: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            exported[name] = value
            if name == "SAGEMAKER_USER_CONFIG_OVERRIDE":
                return exported
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
