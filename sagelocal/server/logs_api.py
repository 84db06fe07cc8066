"""CloudWatch Logs over AWS JSON 1.1 (``X-Amz-Target: Logs_20140328.<Operation>``), served by the LogStore.

Each request is checked against botocore's CloudWatch Logs model before the LogStore sees it, as the service
does. Timestamps are epoch milliseconds, as CloudWatch Logs sends them.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from sagelocal.aws.errors import InvalidParameterException
from sagelocal.aws.validation import validate
from sagelocal.server import UnknownOperationException, answer_json_call
from sagelocal.service.logstore import LogStore

log = logging.getLogger("sagelocal.server")

TARGET_PREFIX = "Logs_20140328"
OPERATIONS = (
    "DescribeLogGroups",
    "DescribeLogStreams",
    "GetLogEvents",
    "FilterLogEvents",
    "CreateLogStream",
    "PutLogEvents",
)


def _validate(operation: str, params: dict[str, Any]) -> None:
    """The model's rules, plus one it cannot express: a group is named by ``logGroupName`` or, where the
    operation has it, ``logGroupIdentifier``; with neither, ``logGroupName`` is the missing member (except in
    DescribeLogGroups, which names no group)."""
    names_no_group = operation == "DescribeLogGroups" or params.get("logGroupIdentifier")
    required = {} if names_no_group else {f"{operation}Request": ("logGroupName",)}
    validate("logs", operation, params, required=required)


def _group(params: dict[str, Any]) -> str:
    identifier = str(params.get("logGroupIdentifier") or "")
    if identifier and not params.get("logGroupName"):
        # An ARN (``arn:aws:logs:<region>:<account>:log-group:<name>``) or a plain name.
        return (
            identifier.split(":log-group:", 1)[1].removesuffix(":*")
            if ":log-group:" in identifier
            else identifier
        )
    return str(params["logGroupName"])


def _int(params: dict[str, Any], key: str) -> int | None:
    """A validated number member (JSON may carry ``5.0``) as an int."""
    value = params.get(key)
    return None if value is None else int(value)


#: PutLogEvents' batch limit: the UTF-8 bytes of the events' messages plus 26 bytes per event (PutLogEvents API
#: reference, "The maximum batch size is 1,048,576 bytes").
MAX_BATCH_BYTES = 1_048_576
_EVENT_OVERHEAD_BYTES = 26


def _check_batch_size(events: list[dict[str, Any]]) -> None:
    size = sum(len(str(e["message"]).encode("utf-8")) + _EVENT_OVERHEAD_BYTES for e in events)
    if size > MAX_BATCH_BYTES:
        raise InvalidParameterException(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")


def _call(logs: LogStore, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation not in OPERATIONS:
        raise UnknownOperationException(
            f"Unknown operation Logs_20140328.{operation}: sagelocal serves {', '.join(OPERATIONS)}."
        )
    _validate(operation, params)
    if operation == "DescribeLogGroups":
        return logs.describe_log_groups(
            prefix=params.get("logGroupNamePrefix"),
            pattern=params.get("logGroupNamePattern"),
            limit=_int(params, "limit") or 50,
            next_token=params.get("nextToken"),
        )
    if operation == "DescribeLogStreams":
        limit = _int(params, "limit") or 50
        result = logs.describe_log_streams(
            _group(params),
            prefix=params.get("logStreamNamePrefix"),
            order_by=params.get("orderBy") or "LogStreamName",
            descending=bool(params.get("descending", False)),
            limit=limit,
            next_token=params.get("nextToken"),
        )
        # The SageMaker SDK loops on ``while "nextToken" in response`` without sending the token back, so a
        # token on a page that is not full would make it spin forever. A short page never carries one.
        if "nextToken" in result and len(result.get("logStreams", [])) < limit:
            result = {k: v for k, v in result.items() if k != "nextToken"}
        return result
    if operation == "GetLogEvents":
        return logs.get_log_events(
            _group(params),
            params["logStreamName"],
            start_time=_int(params, "startTime"),
            end_time=_int(params, "endTime"),
            next_token=params.get("nextToken"),
            start_from_head=bool(params.get("startFromHead", False)),
            limit=_int(params, "limit") or 10000,
        )
    if operation == "FilterLogEvents":
        return logs.filter_log_events(
            _group(params),
            stream_names=params.get("logStreamNames"),
            stream_prefix=params.get("logStreamNamePrefix"),
            start_time=_int(params, "startTime"),
            end_time=_int(params, "endTime"),
            filter_pattern=params.get("filterPattern"),
            next_token=params.get("nextToken"),
            limit=_int(params, "limit") or 10000,
        )
    if operation == "CreateLogStream":
        logs.create_log_stream(_group(params), params["logStreamName"])
        return {}
    _check_batch_size(params["logEvents"])
    logs.put_log_events(
        _group(params),
        params["logStreamName"],
        [(int(e["timestamp"]), str(e["message"])) for e in params["logEvents"]],
    )
    return {}


async def handle(operation: str, body: bytes, logs: LogStore) -> Response:
    return await answer_json_call(
        f"Logs_20140328.{operation}", lambda params: _call(logs, operation, params), body
    )
