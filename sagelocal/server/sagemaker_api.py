"""SageMaker over AWS JSON 1.1 (``X-Amz-Target: SageMaker.<Operation>``), served by the Emulator.

Each request is checked against botocore's SageMaker model before the Emulator sees it, as the service does;
CreateTrainingJob is checked by the Emulator itself, which adds the service's own rules to the model's.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from sagelocal.aws.validation import parse_timestamp, validate
from sagelocal.server import UnknownOperationException, answer_json_call
from sagelocal.service.service import Emulator

log = logging.getLogger("sagelocal.server")

TARGET_PREFIX = "SageMaker"
OPERATIONS = ("CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob")
#: Tags of any resource, by ARN (sagelocal/service/tags.py).
TAG_OPERATIONS = ("AddTags", "ListTags", "DeleteTags")
_TIME_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore")


def _list_params(params: dict[str, Any]) -> dict[str, Any]:
    """boto3-style parameters: the wire's time filters (epoch seconds, already validated) become aware
    datetimes."""
    return {key: parse_timestamp(value) if key in _TIME_FILTERS else value for key, value in params.items()}


def _tags_call(emulator: Emulator, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    validate("sagemaker", operation, params)
    arn = params["ResourceArn"]
    if operation == "AddTags":
        return {"Tags": emulator.tags.add(arn, params["Tags"])}
    if operation == "ListTags":
        return emulator.tags.list_tags(arn, int(params.get("MaxResults") or 50), params.get("NextToken"))
    emulator.tags.delete(arn, params["TagKeys"])
    return {}  # DeleteTags has no output members


def _call(emulator: Emulator, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation in TAG_OPERATIONS:
        return _tags_call(emulator, operation, params)
    if operation not in OPERATIONS:
        served = ", ".join((*OPERATIONS, *TAG_OPERATIONS))
        raise UnknownOperationException(
            f"Unknown operation SageMaker.{operation}: sagelocal serves {served}."
        )
    if operation == "CreateTrainingJob":
        return emulator.create_training_job(params)
    validate("sagemaker", operation, params)
    if operation == "DescribeTrainingJob":
        return emulator.describe_training_job(params["TrainingJobName"])
    if operation == "ListTrainingJobs":
        return emulator.list_training_jobs(**_list_params(params))
    emulator.stop_training_job(params["TrainingJobName"])
    return {}  # StopTrainingJob has no output members


async def handle(operation: str, body: bytes, emulator: Emulator) -> Response:
    return await answer_json_call(
        f"SageMaker.{operation}", lambda params: _call(emulator, operation, params), body
    )
