"""SageMaker over AWS JSON 1.1 (``X-Amz-Target: SageMaker.<Operation>``), served by the Emulator.

Each request is checked against botocore's SageMaker model before the Emulator sees it, as the service does;
the Create operations are checked by the Emulator itself, which adds the service's own rules to the model's.
Training jobs are the Emulator's; models, endpoint configs and endpoints its ``hosting`` part's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sagelocal.aws.validation import parse_timestamp, validate
from sagelocal.server import UnknownOperationException, answer_json_call
from sagelocal.service.hosting.service import Hosting
from sagelocal.service.service import Emulator
from sagelocal.service.transform.service import Transforms
from sagelocal.service.tuning.service import Tuning

log = logging.getLogger("sagelocal.server")

TARGET_PREFIX = "SageMaker"
_TRAINING = ("CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob")
#: The hosting operations: what each does with the (validated) parameters.
_HOSTING: dict[str, Callable[[Hosting, dict[str, Any]], dict[str, Any] | None]] = {
    "CreateModel": lambda h, p: h.create_model(p),
    "DescribeModel": lambda h, p: h.describe_model(p["ModelName"]),
    "ListModels": lambda h, p: h.list_models(**_list_params(p)),
    "DeleteModel": lambda h, p: h.delete_model(p["ModelName"]),
    "CreateEndpointConfig": lambda h, p: h.create_endpoint_config(p),
    "DescribeEndpointConfig": lambda h, p: h.describe_endpoint_config(p["EndpointConfigName"]),
    "ListEndpointConfigs": lambda h, p: h.list_endpoint_configs(**_list_params(p)),
    "DeleteEndpointConfig": lambda h, p: h.delete_endpoint_config(p["EndpointConfigName"]),
    "CreateEndpoint": lambda h, p: h.create_endpoint(p),
    "DescribeEndpoint": lambda h, p: h.describe_endpoint(p["EndpointName"]),
    "ListEndpoints": lambda h, p: h.list_endpoints(**_list_params(p)),
    "UpdateEndpoint": lambda h, p: h.update_endpoint(p),
    "DeleteEndpoint": lambda h, p: h.delete_endpoint(p["EndpointName"]),
}
#: The hyperparameter tuning operations (sagelocal/service/tuning): what each does with the parameters.
_TUNING: dict[str, Callable[[Tuning, dict[str, Any]], dict[str, Any] | None]] = {
    "CreateHyperParameterTuningJob": lambda t, p: t.create(p),
    "DescribeHyperParameterTuningJob": lambda t, p: t.describe(p["HyperParameterTuningJobName"]),
    "ListHyperParameterTuningJobs": lambda t, p: t.list(**_list_params(p)),
    "ListTrainingJobsForHyperParameterTuningJob": lambda t, p: t.list_training_jobs(**p),
    "StopHyperParameterTuningJob": lambda t, p: t.stop(p["HyperParameterTuningJobName"]),
}

#: The batch transform operations (``service/transform``).
_TRANSFORM: dict[str, Callable[[Transforms, dict[str, Any]], dict[str, Any] | None]] = {
    "CreateTransformJob": lambda t, p: t.create_transform_job(p),
    "DescribeTransformJob": lambda t, p: t.describe_transform_job(p["TransformJobName"]),
    "ListTransformJobs": lambda t, p: t.list_transform_jobs(**_list_params(p)),
    "StopTransformJob": lambda t, p: t.stop_transform_job(p["TransformJobName"]),
}
OPERATIONS = (*_TRAINING, *_HOSTING, *_TUNING, *_TRANSFORM)
_CREATES = (
    "CreateTrainingJob",
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "UpdateEndpoint",
    "CreateHyperParameterTuningJob",
    "CreateTransformJob",
)
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
    if operation not in _CREATES:
        validate("sagemaker", operation, params)
    if operation in _HOSTING:
        return _HOSTING[operation](emulator.hosting, params) or {}
    if operation in _TUNING:
        return _TUNING[operation](emulator.tuning, params) or {}
    if operation in _TRANSFORM:
        return _TRANSFORM[operation](emulator.transforms, params) or {}
    if operation == "CreateTrainingJob":
        return emulator.create_training_job(params)
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
