"""The documents transform jobs are shown as: DescribeTransformJob (the request echoed with the defaults
SageMaker fills in, plus ARN, status and times) and the ListTransformJobs summary (botocore ``sagemaker``
2017-07-24 ``DescribeTransformJobResponse``, ``TransformJobSummary``). Times are datetimes; the wire layer
formats them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sagelocal.service.transform.store import TransformRecord

#: Members of the request echoed as given (``DescribeTransformJobResponse`` order).
_ECHOED = (
    "MaxConcurrentTransforms",
    "ModelClientConfig",
    "MaxPayloadInMB",
    "BatchStrategy",
    "Environment",
    "TransformInput",
    "TransformOutput",
    "DataCaptureConfig",
    "TransformResources",
)


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def transform_input(request: dict[str, Any]) -> dict[str, Any]:
    """TransformInput with the defaults the service fills in: no compression, no splitting."""
    doc = copy.deepcopy(request["TransformInput"])
    doc.setdefault("CompressionType", "None")
    doc.setdefault("SplitType", "None")
    return doc


def data_processing(request: dict[str, Any]) -> dict[str, Any]:
    """DataProcessing with its documented defaults: both filters ``$`` (everything), no join."""
    doc = {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"}
    doc.update(request.get("DataProcessing") or {})
    return doc


def describe(record: TransformRecord) -> dict[str, Any]:
    req = record.request
    doc: dict[str, Any] = {
        "TransformJobName": req["TransformJobName"],
        "TransformJobArn": record.arn,
        "TransformJobStatus": record.status,
    }
    if record.failure_reason:
        doc["FailureReason"] = record.failure_reason
    doc["ModelName"] = req["ModelName"]
    for key in _ECHOED:
        if req.get(key) is not None:
            doc[key] = copy.deepcopy(req[key])
    doc["TransformInput"] = transform_input(req)
    doc["CreationTime"] = _dt(record.creation_time)
    if record.transform_start_time is not None:
        doc["TransformStartTime"] = _dt(record.transform_start_time)
    if record.transform_end_time is not None:
        doc["TransformEndTime"] = _dt(record.transform_end_time)
    doc["DataProcessing"] = data_processing(req)
    if req.get("ExperimentConfig") is not None:
        doc["ExperimentConfig"] = copy.deepcopy(req["ExperimentConfig"])
    return doc


def summary(record: TransformRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "TransformJobName": record.name,
        "TransformJobArn": record.arn,
        "CreationTime": _dt(record.creation_time),
    }
    if record.transform_end_time is not None:
        doc["TransformEndTime"] = _dt(record.transform_end_time)
    doc["LastModifiedTime"] = _dt(record.last_modified_time)
    doc["TransformJobStatus"] = record.status
    if record.failure_reason:
        doc["FailureReason"] = record.failure_reason
    return doc
