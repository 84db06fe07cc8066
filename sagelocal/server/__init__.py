"""``sagelocal serve``: one HTTP server speaking the AWS wire protocols a SageMaker notebook uses.

SageMaker and CloudWatch Logs (AWS JSON 1.1, routed by ``X-Amz-Target``), STS (query protocol) and S3 (REST,
path- and virtual-host-style), all backed by one :class:`sagelocal.service.service.Emulator`. Only requests
signed with the server's own credentials and addressed to one of its own names are answered
(:mod:`sagelocal.server.auth`, :mod:`sagelocal.server.hosts`).

This module holds the small AWS JSON 1.1 wire helpers shared by the SageMaker and Logs handlers.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sagelocal.aws.errors import SerializationException, ServiceError

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"


class InternalFailure(ServiceError):
    code = "InternalFailure"
    http_status = 500


def new_request_id() -> str:
    return str(uuid.uuid4())


def to_wire(value: Any) -> Any:
    """A backend document as AWS JSON 1.1 sends it: datetimes become epoch seconds (floats)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).timestamp()
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: The largest AWS JSON request body accepted: the AWS front end's own limit, as it reports it for SageMaker
#: (HTTP 413, ``HTTP content length exceeded 5246976 bytes.``; aws/sagemaker-python-sdk#171). No SageMaker or
#: Logs request the model allows comes near it; per operation, PutLogEvents' batch limit is the service's own
#: (``logs_api``) and every other member is bounded by the model's lengths.
MAX_JSON_BODY_BYTES = 5246976
#: How much of an oversized body is read (and dropped) so the client sees the 413 rather than a connection
#: reset mid-upload, which botocore would retry; past this the connection is simply closed.
_DRAIN_BYTES = 64 * 1024 * 1024
#: The deepest nesting of objects and arrays a JSON request may have. The deepest shape botocore's SageMaker and
#: Logs models have is under 10 levels; without a bound, a 10,000-deep document exhausts the parser's recursion.
MAX_JSON_DEPTH = 64


async def read_json_body(request: Request) -> bytes | None:
    """The body of an AWS JSON request, or None when it is larger than MAX_JSON_BODY_BYTES (never held in
    memory: the excess is read and dropped, up to a bound)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _DRAIN_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BODY_BYTES:
            chunks.clear()
            if size > _DRAIN_BYTES:
                return None
            continue
        chunks.append(chunk)
    return None if size > MAX_JSON_BODY_BYTES else b"".join(chunks)


def body_too_large(request_id: str) -> Response:
    """The front end's answer to an oversized body: HTTP 413 with a message and no error code (botocore reports
    ``An error occurred (413) when calling the <Operation> operation: HTTP content length exceeded …``)."""
    return Response(
        content=json.dumps({"message": f"HTTP content length exceeded {MAX_JSON_BODY_BYTES} bytes."}),
        status_code=413,
        media_type=JSON_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )


def _reject_constant(name: str) -> Any:
    raise SerializationException(f"Unable to parse request body as JSON: {name} is not a JSON number")


def _too_deep(document: Any) -> bool:
    level: list[Any] = [document]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request document; an empty body is ``{}``. Raises SerializationException for anything that is not
    a JSON object of at most MAX_JSON_DEPTH levels in valid Unicode (no NaN/Infinity, no lone surrogate)."""
    if not body.strip():
        return {}
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        document = None
        depth_exceeded = True
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationException(f"Unable to parse request body as JSON: {exc}") from exc
    else:
        depth_exceeded = _too_deep(document)
    if depth_exceeded:
        raise SerializationException(
            f"Unable to parse request body as JSON: nesting depth exceeds the maximum allowed ({MAX_JSON_DEPTH})"
        )
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object.")
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a \ud800-style escape: valid JSON, but no Unicode text
        raise SerializationException(
            "Unable to parse request body as JSON: a string holds a lone UTF-16 surrogate"
        ) from None
    return document


def json_response(document: Mapping[str, Any], request_id: str, status: int = 200) -> Response:
    return Response(
        content=json.dumps(to_wire(document), separators=(",", ":")),
        status_code=status,
        media_type=JSON_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )


def json_error(error: ServiceError, request_id: str) -> Response:
    """The AWS JSON 1.1 error shape: ``{"__type": code, "message": text}``; botocore reads both."""
    return Response(
        content=json.dumps({"__type": error.code, "message": error.message}),
        status_code=error.http_status,
        media_type=JSON_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code},
    )


async def answer_json_call(target: str, call: Callable[[dict[str, Any]], Any], body: bytes) -> Response:
    """One AWS JSON 1.1 call (``target`` e.g. ``SageMaker.CreateTrainingJob``): parse the body, run ``call`` on
    it in the thread pool, and answer in the AWS shape. A ServiceError is the client's error; anything else is a
    bug, answered as InternalFailure with the traceback logged."""
    from starlette.concurrency import run_in_threadpool

    request_id = new_request_id()
    try:
        params = parse_json_body(body)
        result = await run_in_threadpool(call, params)
    except ServiceError as error:
        return json_error(error, request_id)
    except Exception as exc:
        logging.getLogger("sagelocal.server").exception("%s failed", target)
        return json_error(InternalFailure(f"{type(exc).__name__}: {exc}"), request_id)
    return json_response(result or {}, request_id)
