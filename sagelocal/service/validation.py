"""CreateTrainingJob's rules beyond botocore's model, on top of the model walk every operation gets
(:func:`sagelocal.aws.validation.validate`).

- AlgorithmSpecification and ResourceConfig are required: current botocore made them optional (serverless
  jobs); older models, and SageMaker for non-serverless jobs, required them, and the emulator cannot run a job
  without them.
- InstanceType ``local`` (SageMaker SDK local mode's spelling) passes for the local backends only.
- Channel names must be unique (the service's own check, after the model's).
- Limits the API reference documents but botocore's model does not carry, reported in the service's
  constraint wording: MaxRuntimeInSeconds at most 28 days (2419200 s: "The maximum value is 28 days",
  StoppingCondition); and a job needs at least one instance and a storage volume, so InstanceCount and
  VolumeSizeInGB are at least 1 unless the job is described by InstanceGroups (the model's minimum of 0
  exists for those).
"""

from __future__ import annotations

from typing import Any

from sagelocal.aws.errors import ValidationException
from sagelocal.aws.validation import validate

__all__ = ["LOCAL_INSTANCE_TYPES", "validate_create_training_job"]

#: Instance types a local backend runs (SageMaker SDK local mode's spelling). Only with allow_local_instance.
LOCAL_INSTANCE_TYPES = frozenset({"local"})

_EXTRA_REQUIRED = {"CreateTrainingJobRequest": ("AlgorithmSpecification", "ResourceConfig")}

#: StoppingCondition.MaxRuntimeInSeconds: "The default value is 1 day. The maximum value is 28 days."
MAX_RUNTIME_SECONDS = 28 * 24 * 3600


def _ranges(request: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The documented limits beyond the model's, per member path. A negative count or size keeps the model's
    own ``greater than or equal to 0``; a zero one is the service's rule and says 1."""
    ranges: dict[str, dict[str, float]] = {
        "stoppingCondition.maxRuntimeInSeconds": {"max": MAX_RUNTIME_SECONDS}
    }
    resource = request.get("ResourceConfig")
    if isinstance(resource, dict) and not resource.get("InstanceGroups"):
        for member, path in (("InstanceCount", "instanceCount"), ("VolumeSizeInGB", "volumeSizeInGB")):
            if resource.get(member) == 0:
                ranges[f"resourceConfig.{path}"] = {"min": 1}
    return ranges


def _duplicate_channel(request: dict[str, Any]) -> str | None:
    seen: set[str] = set()
    for channel in request.get("InputDataConfig") or []:
        name = channel.get("ChannelName") if isinstance(channel, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            return name
        seen.add(name)
    return None


def validate_create_training_job(request: dict[str, Any], *, allow_local_instance: bool = True) -> None:
    """Raise ValidationException, worded as SageMaker words it (:func:`sagelocal.aws.validation.validate`),
    listing every violated constraint of the request; a wrongly typed value raises SerializationException (a
    ValidationException subclass) instead. ``allow_local_instance`` lets InstanceType ``local`` through (local
    backends)."""
    also_allowed = {"resourceConfig.instanceType": LOCAL_INSTANCE_TYPES} if allow_local_instance else {}
    validate(
        "sagemaker",
        "CreateTrainingJob",
        request,
        required=_EXTRA_REQUIRED,
        also_allowed=also_allowed,
        ranges=_ranges(request),
    )
    duplicate = _duplicate_channel(request)
    if duplicate is not None:
        raise ValidationException(
            f"Channel names must be unique within a training job. Duplicate channel name: {duplicate}"
        )
