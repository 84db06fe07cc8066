"""Real botocore-signed requests for the signature tests, seen as the server sees them.

A boto3 client's ``before-send`` hook receives the request botocore has signed and is about to send; raising
:class:`Captured` there stops it before any network I/O. :func:`incoming` turns it into what an ASGI server
hands the application: the raw path and query as sent, lower-case header names, and the ``Host`` header the
HTTP client adds (botocore signs that value without setting the header itself).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from sagelocal.server.auth import IncomingRequest
from sagelocal.server.credentials import Credentials

ENDPOINT = "http://127.0.0.1:9090"
REGION = "us-east-1"


class Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(**kwargs: Any) -> None:
    raise Captured(kwargs["request"])


def client(service: str, credentials: Credentials, endpoint: str = ENDPOINT, **config: Any) -> Any:
    """A boto3 client whose requests are captured instead of sent."""
    made = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"max_attempts": 1}, **config),
    )
    made.meta.events.register("before-send", _capture)
    return made


def plain_client(service: str, credentials: Credentials, endpoint: str = ENDPOINT, **config: Any) -> Any:
    """A boto3 client that sends for real (or just presigns)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def grab(call: Callable[..., Any], **params: Any) -> Any:
    """The prepared request ``call(**params)`` would send."""
    try:
        call(**params)
    except Captured as captured:
        return captured.request
    raise AssertionError("the call sent nothing")


def body_of(prepared: Any) -> bytes:
    body = prepared.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    data = body.read()
    return data if isinstance(data, bytes) else data.encode("utf-8")


def incoming(prepared: Any, **replace: Any) -> IncomingRequest:
    """``prepared`` as the server receives it; ``replace`` overrides fields (to tamper with it)."""
    parts = urlsplit(prepared.url)
    headers = [("host", parts.netloc)]
    for name, value in prepared.headers.items():
        headers.append((name.lower(), value.decode("latin-1") if isinstance(value, bytes) else value))
    fields: dict[str, Any] = {
        "method": prepared.method,
        "raw_path": parts.path.encode("latin-1"),
        "query_string": parts.query.encode("latin-1"),
        "headers": tuple(headers),
    }
    fields.update(replace)
    return IncomingRequest(**fields)


def from_url(method: str, url: str, *extra_headers: tuple[str, str]) -> IncomingRequest:
    """A request for a presigned URL, as curl would send it."""
    parts = urlsplit(url)
    return IncomingRequest(
        method,
        parts.path.encode("latin-1"),
        parts.query.encode("latin-1"),
        (("host", parts.netloc), *extra_headers),
    )


def with_header(request: IncomingRequest, name: str, value: str | None) -> IncomingRequest:
    """``request`` with header ``name`` replaced by ``value`` (removed if None)."""
    headers = tuple((k, v) for k, v in request.headers if k != name)
    if value is not None:
        headers = (*headers, (name, value))
    return IncomingRequest(request.method, request.raw_path, request.query_string, headers)


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment.astimezone(UTC)
