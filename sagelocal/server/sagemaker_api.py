"""SageMaker over AWS JSON 1.1 (``X-Amz-Target: SageMaker.<Operation>``), served by the Emulator."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from sagelocal.aws.errors import ValidationException
from sagelocal.server import UnknownOperationException, answer_json_call
from sagelocal.service.service import Emulator
from sagelocal.service.validation import check_request_types

log = logging.getLogger("sagelocal.server")

TARGET_PREFIX = "SageMaker"
OPERATIONS = ("CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob")
_TIME_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore")


def _job_name(params: dict[str, Any]) -> str:
    name = params.get("TrainingJobName")
    if not isinstance(name, str):
        raise ValidationException(
            "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: "
            "Member must not be null"
        )
    return name


def _list_params(params: dict[str, Any]) -> dict[str, Any]:
    """boto3-style parameters: the wire's epoch-second time filters become aware datetimes."""
    converted = dict(params)
    for key in _TIME_FILTERS:
        value = converted.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                converted[key] = datetime.fromtimestamp(value, tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise ValidationException(
                    f"1 validation error detected: Value '{value}' at '{key[0].lower()}{key[1:]}' "
                    "failed to satisfy constraint: Member must be a timestamp"
                ) from None
        elif isinstance(value, str):
            try:
                converted[key] = datetime.fromtimestamp(float(value), tz=UTC)
            except (OverflowError, OSError, ValueError):
                try:
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    raise ValidationException(
                        f"1 validation error detected: Value '{value}' at '{key[0].lower()}{key[1:]}' "
                        "failed to satisfy constraint: Member must be a timestamp"
                    ) from None
                converted[key] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return converted


def _call(emulator: Emulator, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation in OPERATIONS and operation != "CreateTrainingJob":  # CreateTrainingJob checks its own
        check_request_types(f"{operation}Request", params)
    if operation == "CreateTrainingJob":
        return emulator.create_training_job(params)
    if operation == "DescribeTrainingJob":
        return emulator.describe_training_job(_job_name(params))
    if operation == "ListTrainingJobs":
        return emulator.list_training_jobs(**_list_params(params))
    if operation == "StopTrainingJob":
        emulator.stop_training_job(_job_name(params))
        return {}  # StopTrainingJob has no output members
    raise UnknownOperationException(
        f"Unknown operation SageMaker.{operation}: sagelocal serves {', '.join(OPERATIONS)}."
    )


async def handle(operation: str, body: bytes, emulator: Emulator) -> Response:
    return await answer_json_call(
        f"SageMaker.{operation}", lambda params: _call(emulator, operation, params), body
    )
