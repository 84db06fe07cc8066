"""Start the sagelocal HTTP server with uvicorn and print the ``export`` lines a notebook needs.

The server answers only requests signed with the credentials kept in the state folder (created at first use,
mode 0600) and addressed to one of its own names (:mod:`sagelocal.server.hosts`); the export lines carry those
credentials, so boto3 and the SageMaker SDK work for whoever can read them and for nobody else.

``python -m sagelocal.server.run [--host H] [--port N] [--backend local|docker] [--allow-remote]`` does what
``sagelocal serve`` does (the test fixture uses it so it does not depend on the CLI wiring).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from pathlib import Path

from sagelocal import config
from sagelocal.backends import EMULATED_BACKENDS, emulated_service
from sagelocal.server.credentials import Credentials, CredentialsFileError, load_or_create

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9090
SDK_CONFIG_NAME = "sagemaker-sdk-config.yaml"
#: Opts the SageMaker Python SDK out of telemetry, which otherwise calls an AWS URL directly (reference §10).
SDK_CONFIG_TEXT = f"""\
# Written by `sagelocal serve`. Opts the SageMaker Python SDK out of telemetry, which would otherwise send a
# request straight to AWS (it ignores the AWS_ENDPOINT_URL_* variables), and names the default bucket, which
# the SDK otherwise derives from an STS call sent to AWS's own STS URL whatever AWS_ENDPOINT_URL_STS says
# (sagemaker.session.generate_default_sagemaker_bucket_name); the SDK needs it for a transformer's default
# output path, among others.
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
      Session:
        DefaultS3Bucket: {config.DEFAULT_BUCKET}
"""


class ServeError(Exception):
    """The server cannot start; ``str()`` is the one-line reason. ``exit_code`` follows the CLI's codes:
    2 for a refused option (non-loopback host, unknown backend), 1 when starting failed."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def is_loopback(host: str) -> bool:
    """True if every address ``host`` names is a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback for info in infos
    )


def check_bind_address(host: str, allow_remote: bool) -> None:
    if not allow_remote and not is_loopback(host):
        raise ServeError(
            f"refusing to listen on {host}: not a loopback address, and sagelocal speaks plain HTTP (requests "
            "are signed, not encrypted). Pass --allow-remote to serve other machines anyway.",
            exit_code=2,
        )


def base_url(host: str, port: int) -> str:
    """The URL clients on this machine use: a wildcard bind address is reached through loopback."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def export_lines(url: str, credentials: Credentials, sdk_config: Path | None = None) -> list[str]:
    """The shell lines that point boto3 and the SageMaker SDK at ``url``, signing with ``credentials``."""
    lines = [
        f"export AWS_ENDPOINT_URL_SAGEMAKER={url}",
        f"export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={url}",
        f"export AWS_ENDPOINT_URL_S3={url}",
        f"export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS={url}",
        f"export AWS_ENDPOINT_URL_STS={url}",
        f"export AWS_ENDPOINT_URL_CLOUDWATCH={url}",
        f"export AWS_DEFAULT_REGION={config.DEFAULT_REGION}",
        f"export AWS_ACCESS_KEY_ID={credentials.access_key_id}",
        f"export AWS_SECRET_ACCESS_KEY={credentials.secret_access_key}",
    ]
    if sdk_config is not None:
        lines.append(f"export SAGEMAKER_USER_CONFIG_OVERRIDE={sdk_config}")
    return lines


def write_sdk_config(home: Path) -> Path:
    path = config.StatePaths(home).sdk_config
    if not path.exists() or path.read_text() != SDK_CONFIG_TEXT:
        path.write_text(SDK_CONFIG_TEXT)
    return path


def _bind(host: str, port: int) -> socket.socket:
    bind_host = host.strip("[]")
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    if bind_host == "localhost":
        bind_host = "127.0.0.1"
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP (base_events
    # _set_nodelay), and without it every response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bind_host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, backend: str = "local", allow_remote: bool = False
) -> None:
    """Serve until interrupted. ``port=0`` picks a free port (the printed URL names it). Raises ServeError."""
    if backend not in EMULATED_BACKENDS:
        raise ServeError(
            f"unknown backend '{backend}' for serve: choose one of {', '.join(EMULATED_BACKENDS)}.",
            exit_code=2,
        )
    check_bind_address(host, allow_remote)
    sock = _bind(host, port)
    try:
        import uvicorn

        from sagelocal.server.app import create_app
        from sagelocal.server.auth import Verifier
        from sagelocal.server.console import PREFIX as CONSOLE_PREFIX
        from sagelocal.server.hosts import HostCheckMiddleware

        home = config.home()
        credentials_path = config.StatePaths(home).credentials
        try:
            credentials = load_or_create(credentials_path)
        except CredentialsFileError as exc:
            raise ServeError(str(exc)) from None
        except OSError as exc:  # e.g. a state folder it cannot write
            raise ServeError(
                f"cannot create the sagelocal credentials file {credentials_path}: {exc.strerror or exc}"
            ) from None
        try:
            emulator = emulated_service(backend, home, allow_local_instance=False, warm_start=True)
        except Exception as exc:  # e.g. a state folder it cannot write
            raise ServeError(f"cannot start the {backend} backend: {exc}") from exc
        sdk_config = write_sdk_config(home)
        bound_port = sock.getsockname()[1]
        url = base_url(host, bound_port)
        print(f"# sagelocal serve: SageMaker (+ runtime), S3, CloudWatch Logs and STS on {url}", flush=False)
        print(f"# backend {backend}; state in {home}; requests must be signed with the credentials below.")
        print("# In the shell or notebook environment that runs boto3 / the SageMaker Python SDK:")
        for line in export_lines(url, credentials, sdk_config):
            print(line)
        print(f"# Web console (read-only, this machine only): {url}{CONSOLE_PREFIX}/")
        sys.stdout.flush()
        # The Host check is the outermost layer: a request under a foreign name (DNS rebinding) is refused
        # before routing, before its body is read and before the signature check.
        app = HostCheckMiddleware(create_app(emulator, Verifier(credentials)), host, bound_port)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
                # The SDK polls every 10 s over pooled connections: keep them open between polls.
                timeout_keep_alive=65,
            )
        )
        server.run(sockets=[sock])
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sagelocal.server.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--backend", default="local", choices=sorted(EMULATED_BACKENDS))
    parser.add_argument("--allow-remote", action="store_true")
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.backend, args.allow_remote)
    except ServeError as exc:
        print(f"sagelocal serve: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
