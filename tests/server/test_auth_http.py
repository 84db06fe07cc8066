"""Signature and Host checks through real HTTP: boto3 and urllib against a throwaway uvicorn app on 127.0.0.1.

The app is the wiring the server will use, in miniature: HostCheckMiddleware first, then the verifier on the
ASGI scope (raw path, raw query, headers as received), errors rendered in each protocol's own shape so boto3
raises them with the service's code.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from support.signed_requests import client, grab, plain_client

from sagelocal.server.auth import IncomingRequest, Protocol, SignatureError, Verifier
from sagelocal.server.credentials import generate
from sagelocal.server.hosts import HostCheckMiddleware

CREDS = generate()
STORED: dict[str, bytes] = {}


def _host_bucket(host: str) -> str | None:
    name = host.rsplit(":", 1)[0]
    return name.split(".", 1)[0] if name.endswith(".localhost") else None


async def _endpoint(request: Request) -> Response:
    body = await request.body()
    incoming = IncomingRequest.from_scope(request.scope)
    target = request.headers.get("x-amz-target")
    if target is not None:
        service = {"SageMaker": "sagemaker", "Logs_20140328": "logs"}[target.split(".")[0]]
        try:
            Verifier(CREDS).verify(incoming, Protocol.JSON, service, body=body)
        except SignatureError as error:
            return Response(json.dumps({"__type": error.code, "message": error.message}), error.http_status)
        return Response("{}", media_type="application/x-amz-json-1.1")
    if b"Action=" in body:
        try:
            Verifier(CREDS).verify(incoming, Protocol.QUERY, "sts", body=body)
        except SignatureError as error:
            return Response(
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{error.code}</Code>"
                f"<Message>{error.message}</Message></Error><RequestId>r</RequestId></ErrorResponse>",
                error.http_status,
                media_type="text/xml",
            )
        return Response(
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>"
            "</GetCallerIdentityResult></GetCallerIdentityResponse>",
            media_type="text/xml",
        )
    try:
        verified = Verifier(CREDS).verify(
            incoming, Protocol.S3, "s3", host_bucket=_host_bucket(request.headers.get("host", ""))
        )
        if request.method == "PUT":
            verified.check_payload_sha256(hashlib.sha256(body).hexdigest())
            STORED[request.url.path] = body
            return Response(headers={"ETag": '"etag"'})
    except SignatureError as error:
        return Response(
            f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>",
            error.http_status,
            media_type="application/xml",
        )
    return Response(STORED.get(request.url.path, b"content"), media_type="application/octet-stream")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app: Any = HostCheckMiddleware(
        Starlette(
            routes=[Route("/{path:path}", _endpoint, methods=["GET", "PUT", "POST", "HEAD", "DELETE"])]
        ),
        "127.0.0.1",
        port,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_owner_calls_every_service(endpoint: str) -> None:
    s3 = plain_client("s3", CREDS, endpoint)
    s3.put_object(Bucket="b", Key="dir/a b+€.txt", Body=b"hello")
    assert s3.get_object(Bucket="b", Key="dir/a b+€.txt")["Body"].read() == b"hello"
    plain_client("sagemaker", CREDS, endpoint).list_training_jobs()
    plain_client("logs", CREDS, endpoint).describe_log_groups()
    assert plain_client("sts", CREDS, endpoint).get_caller_identity()["Account"] == "123456789012"
    for version in ("s3v4", "s3"):
        url = plain_client("s3", CREDS, endpoint, signature_version=version).generate_presigned_url(
            "get_object", Params={"Bucket": "b", "Key": "dir/a b+€.txt"}, ExpiresIn=60
        )
        with urllib.request.urlopen(url) as response:
            assert response.read() == b"hello"
    url = plain_client("s3", CREDS, endpoint, signature_version="s3v4").generate_presigned_url(
        "put_object", Params={"Bucket": "b", "Key": "up"}, ExpiresIn=60
    )
    put = urllib.request.Request(url, data=b"uploaded", method="PUT")
    with urllib.request.urlopen(put) as response:
        assert response.status == 200
    assert STORED["/b/up"] == b"uploaded"


def test_virtual_host_style_through_localhost(endpoint: str) -> None:
    """``<bucket>.localhost`` need not resolve here: botocore signs for it, http.client sends it to 127.0.0.1."""
    port = endpoint.rsplit(":", 1)[1]
    s3 = client("s3", CREDS, f"http://localhost:{port}", s3={"addressing_style": "virtual"})
    prepared = grab(s3.put_object, Bucket="vbucket", Key="a b", Body=b"v")
    parts = urlsplit(prepared.url)
    assert parts.netloc == f"vbucket.localhost:{port}"
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    headers.pop("Expect", None)
    connection.request("PUT", parts.path, body=prepared.body, headers={"Host": parts.netloc, **headers})
    response = connection.getresponse()
    assert response.status == 200, response.read()
    connection.close()
    assert STORED["/a b"] == b"v"


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("s3", "list_buckets", "SignatureDoesNotMatch"),
        ("sagemaker", "list_training_jobs", "InvalidSignatureException"),
        ("sts", "get_caller_identity", "SignatureDoesNotMatch"),
    ],
)
def test_other_credentials_are_refused(endpoint: str, service: str, call: str, code: str) -> None:
    impostor = type(CREDS)(CREDS.access_key_id, generate().secret_access_key)
    with pytest.raises(ClientError) as caught:
        getattr(plain_client(service, impostor, endpoint), call)()
    assert caught.value.response["Error"]["Code"] == code


def test_unsigned_request_and_foreign_host_are_refused(endpoint: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(endpoint + "/b/k")
    assert caught.value.code == 403 and b"<Code>AccessDenied</Code>" in caught.value.read()
    host, port = endpoint[len("http://") :].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/b/k", headers={"Host": "evil.example:" + port})
    response = connection.getresponse()
    assert response.status == 403 and b"evil.example" in response.read()
    assert response.getheader("Access-Control-Allow-Origin") is None
    connection.close()
