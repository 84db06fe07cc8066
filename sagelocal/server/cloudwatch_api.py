"""CloudWatch (metrics) on the wire: ListMetrics and GetMetricStatistics, in the two protocols botocore speaks.

botocore's CloudWatch model offers ``smithy-rpc-v2-cbor``, ``json`` and ``query`` (``protocols`` in
``botocore/data/cloudwatch/2010-08-01/service-2.json``), and botocore uses the first of its own preference
order the service offers: AWS JSON 1.0 since botocore 1.42.7, the query protocol before. Both are served:

- AWS JSON 1.0: ``POST /`` with ``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``, timestamps as
  epoch seconds. The service is "query compatible" (``awsQueryCompatible``): an error names its model shape in
  ``__type`` and its query code in the header ``x-amzn-query-error: <Code>;<Sender|Receiver>``, which botocore
  reports as the error code.
- query: ``POST /`` with the form ``Action=<Operation>&Version=2010-08-01&…`` (lists as ``X.member.N``,
  structures as ``X.Field``, timestamps in ISO 8601), answered in XML, errors as ``<ErrorResponse>``.

The RPC v2 CBOR protocol, which no botocore sends unless told to, is not served. Requests are signed for
``monitoring``, CloudWatch's signing name.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sagelocal.aws.errors import ServiceError
from sagelocal.server import UnknownOperationException, new_request_id, parse_json_body, to_wire
from sagelocal.service.cloudwatch import CloudWatchError, InternalServiceError, TrainingMetrics

log = logging.getLogger("sagelocal.server")

TARGET_PREFIX = "GraniteServiceVersion20100801"
SIGNING_NAME = "monitoring"
API_VERSION = "2010-08-01"
XML_NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
OPERATIONS = ("ListMetrics", "GetMetricStatistics")


class MissingAction(CloudWatchError):
    code = "MissingAction"


class InvalidAction(CloudWatchError):
    code = "InvalidAction"


def _operations(metrics: TrainingMetrics) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    return {"ListMetrics": metrics.list_metrics, "GetMetricStatistics": metrics.get_metric_statistics}


def _unknown(operation: str) -> str:
    return (
        f"Unknown operation {TARGET_PREFIX}.{operation}: sagelocal serves CloudWatch {', '.join(OPERATIONS)}."
    )


async def _run(metrics: TrainingMetrics, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    call = _operations(metrics)[operation]
    try:
        return await run_in_threadpool(call, params)
    except ServiceError:
        raise
    except Exception as exc:
        log.exception("CloudWatch %s failed", operation)
        raise InternalServiceError(f"{type(exc).__name__}: {exc}") from exc


# --- AWS JSON 1.0 --------------------------------------------------------------------------------------------


def json_error(error: ServiceError, request_id: str) -> Response:
    """``{"__type", "message"}`` plus the query-compatible code header (for errors of every kind: a
    signature or parse error keeps its own code)."""
    shape = getattr(error, "shape", error.code)
    sender = getattr(error, "sender", error.http_status < 500)
    return Response(
        content=json.dumps({"__type": shape, "message": error.message}),
        status_code=error.http_status,
        media_type=JSON_CONTENT_TYPE,
        headers={
            "x-amzn-RequestId": request_id,
            "x-amzn-query-error": f"{error.code};{'Sender' if sender else 'Receiver'}",
        },
    )


async def handle_json(operation: str, body: bytes, metrics: TrainingMetrics) -> Response:
    request_id = new_request_id()
    if operation not in OPERATIONS:
        return json_error(UnknownOperationException(_unknown(operation)), request_id)
    try:
        result = await _run(metrics, operation, parse_json_body(body))
    except ServiceError as error:
        return json_error(error, request_id)
    return Response(
        content=json.dumps(to_wire(result), separators=(",", ":")),
        media_type=JSON_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )


# --- query (form in, XML out) --------------------------------------------------------------------------------


@functools.cache
def _model() -> dict[str, Any]:
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model("cloudwatch", "service-2")
    return model


def _decode(shapes: Mapping[str, Any], shape_name: str, form: Mapping[str, str], prefix: str) -> Any:
    """The value of ``shape_name`` under ``prefix`` in a flattened query form, or None when absent."""
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        found = {}
        for member, spec in shape["members"].items():
            value = _decode(shapes, spec["shape"], form, f"{prefix}.{member}" if prefix else member)
            if value is not None:
                found[member] = value
        return found if found or not prefix else None
    if kind == "list":
        items = []
        index = 1
        while any(k == f"{prefix}.member.{index}" or k.startswith(f"{prefix}.member.{index}.") for k in form):
            items.append(_decode(shapes, shape["member"]["shape"], form, f"{prefix}.member.{index}"))
            index += 1
        return items if items or prefix in form else None
    if prefix not in form:
        return None
    raw = form[prefix]
    if kind in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            return raw  # the model check reports the type
    if kind in ("double", "float"):
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return raw.lower() == "true" if raw.lower() in ("true", "false") else raw
    return raw


def query_params(operation: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The operation's input, from a query form, shaped as the JSON protocols send it."""
    model = _model()
    shape_name = model["operations"][operation]["input"]["shape"]
    params = _decode(model["shapes"], shape_name, form, "")
    return params if isinstance(params, dict) else {}


def _xml_value(name: str, value: Any) -> str:
    if isinstance(value, Mapping) and name == "ExtendedStatistics":
        entries = "".join(
            f"<entry><key>{escape(str(k))}</key><value>{v!r}</value></entry>" for k, v in value.items()
        )
        return f"<{name}>{entries}</{name}>"
    if isinstance(value, Mapping):
        return f"<{name}>{''.join(_xml_value(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, list):
        return f"<{name}>{''.join(_xml_value('member', v) for v in value)}</{name}>"
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = escape(str(value))
    return f"<{name}>{text}</{name}>"


def _xml(body: str, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type="text/xml")


def query_error(error: ServiceError) -> Response:
    sender = getattr(error, "sender", error.http_status < 500)
    return _xml(
        f'<ErrorResponse xmlns="{XML_NAMESPACE}">'
        f"<Error><Type>{'Sender' if sender else 'Receiver'}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{new_request_id()}</RequestId></ErrorResponse>",
        error.http_status,
    )


async def handle_query(form: Mapping[str, str], metrics: TrainingMetrics) -> Response:
    action = form.get("Action")
    if action is None:
        return query_error(MissingAction("Missing Action"))
    if action not in OPERATIONS:
        version = form.get("Version", API_VERSION)
        return query_error(InvalidAction(f"Could not find operation {action} for version {version}"))
    try:
        result = await _run(metrics, action, query_params(action, form))
    except ServiceError as error:
        return query_error(error)
    inner = "".join(_xml_value(k, v) for k, v in result.items())
    return _xml(
        f'<{action}Response xmlns="{XML_NAMESPACE}">'
        f"<{action}Result>{inner}</{action}Result>"
        f"<ResponseMetadata><RequestId>{new_request_id()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )


def form_of(query: str, body: bytes) -> dict[str, str]:
    """The query parameters of a query-protocol request: the URL's, then the form body's."""
    form = dict(parse_qsl(query, keep_blank_values=True))
    form.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return form
