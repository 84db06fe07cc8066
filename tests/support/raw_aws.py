"""Raw AWS requests to a test server: any body, any headers, signed with SigV4 by botocore's own signer using the
server's credentials (``server.env``), so malformed bodies reach the handlers exactly as written.

    status, headers, body = json_call(server, "SageMaker.CreateTrainingJob", b'{"TrainingJobName": 5}')
"""

from __future__ import annotations

import json
from typing import Any

import requests
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

JSON_SERVICES = {"SageMaker": "sagemaker", "Logs_20140328": "logs"}


def _credentials(server: Any) -> Credentials:
    return Credentials(server.env["AWS_ACCESS_KEY_ID"], server.env["AWS_SECRET_ACCESS_KEY"])


def signed_headers(server: Any, method: str, path: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers of an S3 request signed with an unsigned payload, for sending its body by other means."""
    return dict(server.signed_headers(method, path, b"", {**headers, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))


def send(
    server: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    service: str = "s3",
    timeout: float = 120,
) -> requests.Response:
    """``method path`` (path and query, already encoded as they go on the wire) signed for ``service``."""
    url = server.url + path
    aws_request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    if service == "s3":
        aws_request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    signer(_credentials(server), service, server.env.get("AWS_DEFAULT_REGION", "us-east-1")).add_auth(
        aws_request
    )
    prepared = aws_request.prepare()
    return requests.request(
        method, prepared.url, data=body, headers=dict(prepared.headers.items()), timeout=timeout
    )


def json_call(server: Any, target: str, body: bytes | dict[str, Any]) -> requests.Response:
    """An AWS JSON 1.1 call: ``target`` is ``SageMaker.<Operation>`` or ``Logs_20140328.<Operation>``."""
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    service = JSON_SERVICES[target.partition(".")[0]]
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return send(server, "POST", "/", raw, headers, service=service)


def error_of(response: requests.Response) -> tuple[str, str]:
    """(``__type``, ``message``) of an AWS JSON error answer."""
    document = response.json()
    return document.get("__type", ""), document.get("message", "")
