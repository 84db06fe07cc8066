"""The ASGI application: one catch-all route that dispatches each request to the protocol it speaks.

- ``X-Amz-Target: SageMaker.<Op>`` → SageMaker (AWS JSON 1.1)
- ``X-Amz-Target: Logs_20140328.<Op>`` → CloudWatch Logs (AWS JSON 1.1)
- ``POST /endpoints/<name>/invocations`` signed for ``sagemaker`` → sagemaker-runtime InvokeEndpoint (REST-JSON)
- an ``Action`` parameter with no bucket, or a request signed for ``sts`` → STS (query protocol)
- ``X-Amz-Target: GraniteServiceVersion20100801.<Op>`` (AWS JSON 1.0), or a query request signed for
  ``monitoring`` → CloudWatch metrics (:mod:`sagelocal.server.cloudwatch_api`)
- everything else → S3 REST (path-style, or virtual-host-style from the ``Host`` header)

Every request but the health check must be signed with the server's credentials: the signature is verified
(:mod:`sagelocal.server.auth`) before the request reaches any handler, and a failure is answered in the
protocol's own error shape. The ``Host`` check (:mod:`sagelocal.server.hosts`) runs before this app, as the
outermost ASGI layer. The signing service in the credential scope only helps tell STS from S3 at ``/``; the
verifier then requires the scope to name the endpoint the request reached.

No CORS headers are ever sent, and ``OPTIONS`` is answered like any other unsigned request (refused): a browser
page on another origin can neither read an answer nor get a preflight approved.
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
    body_too_large,
    cloudwatch_api,
    json_error,
    logs_api,
    new_request_id,
    read_json_body,
    runtime_api,
    s3_api,
    s3_wire,
    sagemaker_api,
    sts_api,
)
from sagelocal.server.auth import IncomingRequest, Protocol, SignatureError, Verifier
from sagelocal.server.console import Console, is_console_path
from sagelocal.service.cloudwatch import TrainingMetrics
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


def create_app(emulator: Emulator, verifier: Verifier) -> FastAPI:
    """The app serving ``emulator`` to requests signed with ``verifier``'s credentials."""
    app = FastAPI(title="sagelocal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = emulator
    app.state.verifier = verifier
    console = Console(emulator.paths.database, emulator.objects)

    @app.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
    async def dispatch(request: Request) -> Response:
        try:
            return await _dispatch(request, emulator, verifier, console)
        except ClientDisconnect:  # the client hung up before sending its whole request
            return Response(status_code=400)

    return app


async def _dispatch(request: Request, emulator: Emulator, verifier: Verifier, console: Console) -> Response:
    incoming = IncomingRequest.from_scope(request.scope)
    target = request.headers.get("x-amz-target")
    if target is not None:
        prefix, _, operation = target.partition(".")
        if prefix in (sagemaker_api.TARGET_PREFIX, logs_api.TARGET_PREFIX):
            body = await read_json_body(request)
            if body is None:
                return body_too_large(new_request_id())
            signing_name = "sagemaker" if prefix == sagemaker_api.TARGET_PREFIX else "logs"
            try:
                verifier.verify(incoming, Protocol.JSON, signing_name, body=body)
            except SignatureError as error:
                return json_error(error, new_request_id())
            if prefix == sagemaker_api.TARGET_PREFIX:
                return await sagemaker_api.handle(operation, body, emulator)
            return await logs_api.handle(operation, body, emulator.logs)
        if prefix == cloudwatch_api.TARGET_PREFIX:
            return await _cloudwatch_json(request, incoming, verifier, emulator, operation)
        return json_error(
            UnknownOperationException(
                f"Unknown operation {target}: "
                "sagelocal serves SageMaker, Logs_20140328 and GraniteServiceVersion20100801."
            ),
            new_request_id(),
        )

    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1").split("?", 1)[0]
    if path == HEALTH_PATH and request.method == "GET":
        return JSONResponse({"status": "ok"})

    host_bucket = s3_wire.virtual_host_bucket(request.headers.get("host", ""))
    service = signing_service(request)
    # The web console: unsigned (a browser's) path-style requests under /_console, a path no bucket can have.
    # It only reads, so it needs no signature (sagelocal.server.console.web); signed requests stay S3's.
    if host_bucket is None and service is None and is_console_path(path):
        return await console.handle(request)
    endpoint = runtime_api.invocation_endpoint(request.method, path, service)
    if endpoint is not None:
        return await runtime_api.handle(request, emulator, endpoint, verifier)
    if service == "sts":
        return await _sts(request, incoming, verifier)
    if service == cloudwatch_api.SIGNING_NAME:
        return await _cloudwatch_query(request, incoming, verifier, emulator)
    if host_bucket is None and path == "/" and service in (None, "sts"):
        if "Action" in request.query_params:
            return await _sts(request, incoming, verifier)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            body = await request.body()
            if any(k == "Action" for k, _ in parse_qsl(body.decode("utf-8", "replace"))):
                return await _sts(request, incoming, verifier)
    try:
        # Before the body is read: an unsigned upload is refused without spooling it. The body itself is
        # checked against the signed payload hash or chunk signatures as it is decoded (s3_body).
        verified = verifier.verify(incoming, Protocol.S3, "s3", host_bucket=host_bucket)
    except SignatureError as error:
        return s3_api.signature_error(error, request)
    return await s3_api.handle(request, emulator.objects, host_bucket, verified)


async def _sts(request: Request, incoming: IncomingRequest, verifier: Verifier) -> Response:
    body = await request.body()  # Starlette caches it, so sts_api reads it again for free
    try:
        verifier.verify(incoming, Protocol.QUERY, "sts", body=body)
    except SignatureError as error:
        return sts_api.error_response(error.code, error.message, error.http_status)
    return await sts_api.handle(request)


async def _cloudwatch_json(
    request: Request, incoming: IncomingRequest, verifier: Verifier, emulator: Emulator, operation: str
) -> Response:
    body = await read_json_body(request)
    if body is None:
        return body_too_large(new_request_id())
    try:
        verifier.verify(incoming, Protocol.JSON, cloudwatch_api.SIGNING_NAME, body=body)
    except SignatureError as error:
        return cloudwatch_api.json_error(error, new_request_id())
    metrics = TrainingMetrics(emulator.jobs, emulator.logs)
    return await cloudwatch_api.handle_json(operation, body, metrics)


async def _cloudwatch_query(
    request: Request, incoming: IncomingRequest, verifier: Verifier, emulator: Emulator
) -> Response:
    body = await read_json_body(request)  # the same bound as any AWS form body
    if body is None:
        return body_too_large(new_request_id())
    try:
        verifier.verify(incoming, Protocol.QUERY, cloudwatch_api.SIGNING_NAME, body=body)
    except SignatureError as error:
        return cloudwatch_api.query_error(error)
    form = cloudwatch_api.form_of(request.url.query, body)
    return await cloudwatch_api.handle_query(form, TrainingMetrics(emulator.jobs, emulator.logs))
