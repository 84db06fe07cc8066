"""The ASGI application: one catch-all route that dispatches each request to the protocol it speaks.

- ``X-Amz-Target: SageMaker.<Op>`` → SageMaker (AWS JSON 1.1)
- ``X-Amz-Target: Logs_20140328.<Op>`` → CloudWatch Logs (AWS JSON 1.1)
- ``POST /endpoints/<name>/invocations`` signed for ``sagemaker`` → sagemaker-runtime InvokeEndpoint (REST-JSON)
- an ``Action`` parameter with no bucket, or a request signed for ``sts`` → STS (query protocol)
- everything else → S3 REST (path-style, or virtual-host-style from the ``Host`` header)

Signatures (``Authorization``, presigned ``X-Amz-Signature``) are read only to learn the signing service;
they are never verified.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from sagelocal.server import (
    UnknownOperationException,
    json_error,
    logs_api,
    new_request_id,
    runtime_api,
    s3_api,
    s3_wire,
    sagemaker_api,
    sts_api,
)
from sagelocal.service.service import Emulator

log = logging.getLogger("sagelocal.server")

HEALTH_PATH = "/_sagelocal/health"
_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def signing_service(request: Request) -> str | None:
    """The service named in the SigV4 credential scope (header or presigned query), e.g. ``sts``, ``s3``."""
    match = _CREDENTIAL_SCOPE.search(request.headers.get("authorization", ""))
    if match:
        return match.group(1)
    credential = request.query_params.get("X-Amz-Credential", "")
    parts = credential.split("/")
    if len(parts) == 5 and parts[4] == "aws4_request":
        return parts[3]
    return None


def create_app(emulator: Emulator) -> FastAPI:
    app = FastAPI(title="sagelocal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = emulator

    @app.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
    async def dispatch(request: Request) -> Response:
        try:
            return await _dispatch(request, emulator)
        except ClientDisconnect:  # the client hung up before sending its whole request
            return Response(status_code=400)

    return app


async def _dispatch(request: Request, emulator: Emulator) -> Response:
    target = request.headers.get("x-amz-target")
    if target is not None:
        prefix, _, operation = target.partition(".")
        if prefix == sagemaker_api.TARGET_PREFIX:
            return await sagemaker_api.handle(operation, await request.body(), emulator)
        if prefix == logs_api.TARGET_PREFIX:
            return await logs_api.handle(operation, await request.body(), emulator.logs)
        return json_error(
            UnknownOperationException(
                f"Unknown operation {target}: sagelocal serves SageMaker and Logs_20140328."
            ),
            new_request_id(),
        )

    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1").split("?", 1)[0]
    if path == HEALTH_PATH and request.method == "GET":
        return JSONResponse({"status": "ok"})

    host_bucket = s3_wire.virtual_host_bucket(request.headers.get("host", ""))
    service = signing_service(request)
    endpoint = runtime_api.invocation_endpoint(request.method, path, service)
    if endpoint is not None:
        return await runtime_api.handle(request, emulator, endpoint)
    if service == "sts":
        return await sts_api.handle(request)
    if host_bucket is None and path == "/" and service in (None, "sts"):
        if "Action" in request.query_params:
            return await sts_api.handle(request)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            body = await request.body()
            if any(k == "Action" for k, _ in parse_qsl(body.decode("utf-8", "replace"))):
                return await sts_api.handle(request)
    return await s3_api.handle(request, emulator.objects, host_bucket)
