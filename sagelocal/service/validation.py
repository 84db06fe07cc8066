"""CreateTrainingJob's rules beyond botocore's model, on top of the model walk every operation gets
(:func:`sagelocal.aws.validation.validate`).

- AlgorithmSpecification and ResourceConfig are required: current botocore made them optional (serverless
  jobs); older models, and SageMaker for non-serverless jobs, required them, and the emulator cannot run a job
  without them.
- InstanceType ``local`` (SageMaker SDK local mode's spelling) passes for the local backends only.
- Channel names must be unique (the service's own check, after the model's).
"""

from __future__ import annotations

from typing import Any

from sagelocal.aws.errors import ValidationException
from sagelocal.aws.validation import validate

__all__ = ["LOCAL_INSTANCE_TYPES", "validate_create_training_job"]

#: Instance types a local backend runs (SageMaker SDK local mode's spelling). Only with allow_local_instance.
LOCAL_INSTANCE_TYPES = frozenset({"local"})

_EXTRA_REQUIRED = {"CreateTrainingJobRequest": ("AlgorithmSpecification", "ResourceConfig")}


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
    validate("sagemaker", "CreateTrainingJob", request, required=_EXTRA_REQUIRED, also_allowed=also_allowed)
    duplicate = _duplicate_channel(request)
    if duplicate is not None:
        raise ValidationException(
            f"Channel names must be unique within a training job. Duplicate channel name: {duplicate}"
        )
