"""CloudWatch Logs over AWS JSON 1.1 (``X-Amz-Target: Logs_20140328.<Operation>``), served by the LogStore.

Timestamps are epoch milliseconds, as CloudWatch Logs sends them.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from sagelocal.server import UnknownOperationException, answer_json_call
from sagelocal.service.logstore import InvalidParameterException, LogStore

log = logging.getLogger("sagelocal.server")

TARGET_PREFIX = "Logs_20140328"
OPERATIONS = ("DescribeLogStreams", "GetLogEvents", "FilterLogEvents", "CreateLogStream", "PutLogEvents")


def _required_str(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidParameterException(
            f"1 validation error detected: Value null at '{key}' failed to satisfy constraint: "
            "Member must not be null"
        )
    return value


def _group(params: dict[str, Any]) -> str:
    identifier = params.get("logGroupIdentifier")
    if isinstance(identifier, str) and identifier and not params.get("logGroupName"):
        # An ARN (``arn:aws:logs:<region>:<account>:log-group:<name>``) or a plain name.
        return (
            identifier.split(":log-group:", 1)[1].removesuffix(":*")
            if ":log-group:" in identifier
            else identifier
        )
    return _required_str(params, "logGroupName")


def _optional_int(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterException(
            f"Value '{value}' at '{key}' failed to satisfy constraint: Member must be a number"
        )
    return int(value)


def _call(logs: LogStore, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation == "DescribeLogStreams":
        limit = _optional_int(params, "limit") or 50
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
            _required_str(params, "logStreamName"),
            start_time=_optional_int(params, "startTime"),
            end_time=_optional_int(params, "endTime"),
            next_token=params.get("nextToken"),
            start_from_head=bool(params.get("startFromHead", False)),
            limit=_optional_int(params, "limit") or 10000,
        )
    if operation == "FilterLogEvents":
        return logs.filter_log_events(
            _group(params),
            stream_names=params.get("logStreamNames"),
            stream_prefix=params.get("logStreamNamePrefix"),
            start_time=_optional_int(params, "startTime"),
            end_time=_optional_int(params, "endTime"),
            filter_pattern=params.get("filterPattern"),
            next_token=params.get("nextToken"),
            limit=_optional_int(params, "limit") or 10000,
        )
    if operation == "CreateLogStream":
        logs.create_log_stream(_group(params), _required_str(params, "logStreamName"))
        return {}
    if operation == "PutLogEvents":
        events = params.get("logEvents")
        if not isinstance(events, list) or not events:
            raise InvalidParameterException(
                "1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: "
                "Member must not be null"
            )
        logs.put_log_events(
            _group(params),
            _required_str(params, "logStreamName"),
            [(int(e["timestamp"]), str(e["message"])) for e in events],
        )
        return {}
    raise UnknownOperationException(
        f"Unknown operation Logs_20140328.{operation}: sagelocal serves {', '.join(OPERATIONS)}."
    )


async def handle(operation: str, body: bytes, logs: LogStore) -> Response:
    return await answer_json_call(
        f"Logs_20140328.{operation}", lambda params: _call(logs, operation, params), body
    )
