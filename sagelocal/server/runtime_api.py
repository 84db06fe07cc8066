"""sagemaker-runtime InvokeEndpoint over REST-JSON: ``POST /endpoints/<EndpointName>/invocations``, signed for
service ``sagemaker`` (botocore ``sagemaker-runtime`` 2017-05-13: ``signingName`` ``sagemaker``). boto3 goes
there when ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` (or ``AWS_ENDPOINT_URL``) names this server.

Request: the body is the payload; ``Content-Type``, ``Accept``, ``X-Amzn-SageMaker-Custom-Attributes`` and
``X-Amzn-SageMaker-Target-Variant`` are read. Response: the container's body and ``Content-Type``, with
``x-Amzn-Invoked-Production-Variant`` (boto3's ``InvokedProductionVariant``). Errors carry their code in
``x-amzn-ErrorType`` and a JSON body; ``ModelError`` (424) adds ``OriginalStatusCode``, ``OriginalMessage`` and
``LogStreamArn``, which boto3 puts at the top of the error response (reference inference §6). An oversized
payload is HTTP 413 with no code, which boto3 reports as ``(413)``.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sagelocal.aws.errors import ModelError, PayloadTooLarge, ServiceError
from sagelocal.server import InternalFailure, new_request_id
from sagelocal.server.auth import IncomingRequest, Protocol, SignatureError, Verifier
from sagelocal.service.service import Emulator

log = logging.getLogger("sagelocal.server")

#: The service the runtime's requests are signed for.
SIGNING_SERVICE = "sagemaker"
_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations$")


def invocation_endpoint(method: str, path: str, signing_service: str | None) -> str | None:
    """The endpoint name when the request is an InvokeEndpoint call, else None."""
    if method != "POST" or signing_service != SIGNING_SERVICE:
        return None
    match = _INVOCATIONS.match(path)
    return unquote(match.group(1)) if match else None


def _error(error: ServiceError, request_id: str) -> Response:
    headers = {"x-amzn-RequestId": request_id}
    document: dict[str, object]
    if isinstance(error, ModelError):
        kind = "CLIENT" if 400 <= error.original_status < 500 else "SERVER"
        document = {
            "ErrorCode": f"{kind}_ERROR_FROM_MODEL",
            "LogStreamArn": error.log_stream_arn,
            "Message": error.message,
            "OriginalMessage": error.original_message,
            "OriginalStatusCode": error.original_status,
        }
    else:
        document = {"message": error.message}
    if not isinstance(error, PayloadTooLarge):
        headers["x-amzn-ErrorType"] = error.code
    return Response(
        json.dumps(document), status_code=error.http_status, media_type="application/json", headers=headers
    )


async def handle(request: Request, emulator: Emulator, endpoint: str, verifier: Verifier) -> Response:
    """The invocation, once its signature (over the whole body, as SigV4 signs it) is the server's own: an
    unsigned or forged request never reaches an instance."""
    request_id = new_request_id()
    body = await request.body()
    headers = request.headers
    try:
        verifier.verify(IncomingRequest.from_scope(request.scope), Protocol.JSON, SIGNING_SERVICE, body=body)
    except SignatureError as error:
        return _error(error, request_id)
    try:
        result = await run_in_threadpool(
            emulator.hosting.invoke_endpoint,
            endpoint,
            body,
            headers.get("content-type"),
            headers.get("accept"),
            headers.get("x-amzn-sagemaker-custom-attributes"),
            headers.get("x-amzn-sagemaker-target-variant"),
        )
    except ServiceError as error:
        return _error(error, request_id)
    except Exception as exc:
        log.exception("InvokeEndpoint failed")
        return _error(InternalFailure(f"{type(exc).__name__}: {exc}"), request_id)
    response_headers = {
        "x-amzn-RequestId": request_id,
        "x-Amzn-Invoked-Production-Variant": result.invoked_variant,
    }
    if result.custom_attributes is not None:
        response_headers["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
    response = Response(result.body, status_code=200, headers=response_headers)
    if result.content_type is not None:
        response.headers["content-type"] = result.content_type
    return response
