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


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request document; an empty body is ``{}``. Raises SerializationException."""
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationException(f"Unable to parse request body as JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object.")
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
